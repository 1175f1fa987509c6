package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// term drives nsh's REPL through a real pseudo-terminal.
type term struct {
	t    *testing.T
	cmd  *exec.Cmd
	f    *os.File
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

func startREPL(t *testing.T, env ...string) *term {
	t.Helper()
	tm := startTerm(t, []string{"--no-userns"}, env...)
	tm.expect("# ")
	return tm
}

// startTerm runs nsh with args on a new pseudo-terminal.
func startTerm(t *testing.T, args []string, env ...string) *term {
	t.Helper()
	cmd := exec.Command(nshBin, args...)
	cmd.Env = append(os.Environ(), append([]string{"TERM=xterm", "XDG_STATE_HOME=" + t.TempDir()}, env...)...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, cmd: cmd, f: f, done: make(chan struct{})}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			tm.mu.Lock()
			tm.buf.Write(b[:n])
			tm.mu.Unlock()
			if err != nil {
				close(tm.done)
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
	})
	return tm
}

func (tm *term) send(s string) { tm.f.Write([]byte(s)) }

// waitForegroundLeaves waits until some process group other than nsh's
// owns the terminal (a child was handed it), so typed input reaches that
// child and not the REPL.
func (tm *term) waitForegroundLeaves() {
	tm.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if pg, err := unix.IoctlGetInt(int(tm.f.Fd()), unix.TIOCGPGRP); err == nil && pg != tm.cmd.Process.Pid {
			time.Sleep(100 * time.Millisecond) // let the child reach its read
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tm.t.Fatal("no child was given the terminal")
}

// expect waits until the output since the last expect contains want.
func (tm *term) expect(want string) string {
	tm.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tm.mu.Lock()
		out := tm.buf.String()
		if i := strings.Index(out, want); i >= 0 {
			tm.buf.Next(i + len(want))
			tm.mu.Unlock()
			return out[:i+len(want)]
		}
		tm.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.t.Fatalf("no %q in REPL output:\n%q", want, tm.buf.String())
	return ""
}

func TestREPLPrintsExpressionsAndTables(t *testing.T) {
	needRoot(t)
	tm := startREPL(t)
	tm.send("1+1\r")
	tm.expect("2\r\n")
	tm.send("{a = 1, 2}\r")
	tm.expect("2,")
	tm.expect("a = 1,")
	tm.send("x = 5\r")
	tm.expect("# ")
	tm.send("x * 2\r")
	tm.expect("10\r\n")
}

func TestREPLMultiLine(t *testing.T) {
	needRoot(t)
	tm := startREPL(t)
	tm.send("for i = 1, 3 do\r")
	tm.expect(">> ")
	tm.send("  io.write(i, ';')\r")
	tm.expect(">> ")
	tm.send("end\r")
	tm.expect("1;2;3;")
	tm.send("function f(a,\r")
	tm.expect(">> ")
	tm.send("b) return a + b end\r")
	tm.send("f(20, 22)\r")
	tm.expect("42")
}

func TestREPLCompletion(t *testing.T) {
	needRoot(t)
	tm := startREPL(t)
	tm.send("ns.clon\t")
	tm.expect("ns.clone")
	tm.send("\x15") // kill the line
	tm.send("h = ns.spawn{'/bin/sleep', '30'}\r")
	tm.expect("# ")
	tm.send("h:wa\t")
	tm.expect("h:wait")
	tm.send("\x15h:kill(9)\r")
	tm.expect("# ")
	tm.send("vie\t")
	tm.expect("view")
}

func TestREPLCtrlCInterruptsAChunk(t *testing.T) {
	needRoot(t)
	tm := startREPL(t)
	tm.send("h = ns.spawn{'/bin/sleep', '100'}\r")
	tm.expect("# ")
	tm.send("while true do end\r")
	time.Sleep(300 * time.Millisecond)
	tm.send("\x03")
	tm.expect("interrupted")
	tm.send("print('still here', h:alive())\r")
	tm.expect("still here\ttrue")
	tm.send("k = ns.spawn{'/bin/sleep', '100'}; print('pid', k.pid); sys.sleep(100)\r")
	out := tm.expect("pid\t")
	_ = out
	line := tm.expect("\n")
	pid := strings.TrimSpace(line)
	time.Sleep(200 * time.Millisecond)
	tm.send("\x03")
	tm.expect("interrupted")
	tm.expect("# ")
	if _, err := os.Stat("/proc/" + pid); err == nil {
		t.Fatalf("the child %s started by the interrupted chunk is still alive", pid)
	}
}

func TestREPLShellEscapeHelpAndExit(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	tm := startREPL(t, "XDG_STATE_HOME="+dir)
	tm.send("!echo from-the-shell\r")
	tm.expect("from-the-shell")
	tm.send("help()\r")
	tm.expect("Modules:")
	tm.send("ns.unshare('uts')\r")
	tm.expect("[uts]")
	tm.send("\x04")
	select {
	case <-tm.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl-D did not end the REPL")
	}
	hist, err := os.ReadFile(filepath.Join(dir, "nsh", "history"))
	if err != nil || !strings.Contains(string(hist), "!echo from-the-shell") {
		t.Fatalf("history not kept: %v %q", err, hist)
	}
}

// An interactive program started from the REPL gets the terminal while nsh
// waits for it, and nsh gets it back afterwards.
func TestREPLInteractiveChild(t *testing.T) {
	needRoot(t)
	tm := startREPL(t)
	tm.send("h = ns.spawn{'/bin/sh', ns = 'uts', hostname = 'boxy'}; print('code', h:wait())\r")
	time.Sleep(300 * time.Millisecond)
	tm.send("hostname\r")
	tm.expect("boxy")
	tm.send("exit 3\r")
	tm.expect("code\t3")
	tm.send("print('back')\r")
	tm.expect("back")
}

// A waited-for child that stops itself after it was handed the terminal
// stays stopped (job control continues only a child that SIGTTIN stopped
// before the hand-over, as a shell's fg does); SIGCONT from outside lets it
// go on.
func TestREPLLeavesAChildsOwnStop(t *testing.T) {
	needRoot(t)
	tm := startREPL(t)
	tm.send("h = ns.spawn{'/bin/sh', '-c', 'read x; echo got $x; kill -STOP $$; echo resumed', ns = 'uts', hostname = 'b'}; print('code', h:wait())\r")
	time.Sleep(300 * time.Millisecond)
	tm.send("it\r")
	tm.expect("got it")
	time.Sleep(700 * time.Millisecond)
	tm.mu.Lock()
	early := strings.Contains(tm.buf.String(), "resumed")
	tm.mu.Unlock()
	if early {
		t.Fatal("nsh continued a child that had stopped itself")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", tm.cmd.Process.Pid, tm.cmd.Process.Pid))
	if err != nil || len(strings.Fields(string(b))) != 1 {
		t.Fatalf("the REPL's children: %q, %v", b, err)
	}
	pid, _ := strconv.Atoi(strings.Fields(string(b))[0])
	syscall.Kill(pid, syscall.SIGCONT)
	tm.expect("resumed")
	tm.expect("code\t0")
}

// nsh -i FILE runs the file, then stays at the prompt with its globals.
func TestInteractiveAfterFile(t *testing.T) {
	needRoot(t)
	f := filepath.Join(t.TempDir(), "setup.lua")
	os.WriteFile(f, []byte("greeting = 'set up'\nprint('ran file')\n"), 0o644)
	tm := startTerm(t, []string{"--no-userns", "-i", f})
	tm.expect("ran file")
	tm.expect("# ")
	tm.send("greeting\r")
	tm.expect("\"set up\"")
}

// A cloned function that starts and waits for a child of its own, while the
// REPL does not wait for it, must not take the terminal from the prompt
// (the REPL used to read an error and quit with exit 0). A clone the REPL
// waits for still hands the terminal on to its own child.
func TestREPLKeepsTerminalFromBackgroundClone(t *testing.T) {
	needRoot(t)
	tm := startREPL(t)
	tm.send(`m = ns.clone("", function() ns.spawn{"/bin/sleep", "2"}:wait() end)` + "\r")
	tm.expect("# ")
	tm.send("1 + 1\r")
	tm.expect("2")
	time.Sleep(2500 * time.Millisecond) // the clone's child has ended meanwhile
	tm.send("40 + 2\r")
	tm.expect("42")
	tm.send("m:wait()\r")
	tm.expect(`"exit"`)
	tm.send(`h = ns.clone("", function() return ns.spawn{"/bin/sh", "-c", "read x; echo got $x"}:wait() end) h:wait()` + "\r")
	tm.waitForegroundLeaves()
	tm.send("hello\r")
	tm.expect("got hello")
	tm.send("3 + 4\r")
	tm.expect("7")
	select {
	case <-tm.done:
		t.Fatal("the REPL ended")
	default:
	}
}

// Shell habits get told what to type (`!ip link`, Ctrl-D), and an
// expression unfinished at the end of a line continues on the next, as in
// lua -i.
func TestREPLShellHabitsAndContinuation(t *testing.T) {
	needRoot(t)
	tm := startREPL(t)
	for _, c := range []struct{ in, want string }{
		{"ls", "ls is not defined in Lua: that looks like a shell command: !ls runs it"},
		{"exit", "to leave nsh, press Ctrl-D or call os.exit()"},
		{"ip link", "!ip link runs it"},
		{"1 +", ">> "},
		{"41", "42"},
		{"x = {1,", ">> "},
		{"2}", "# "},
		{"#x", "2"},
	} {
		tm.send(c.in + "\r")
		tm.expect(c.want)
	}
	select {
	case <-tm.done:
		t.Fatal("the REPL ended")
	default:
	}
}

// Ctrl-C during h:wait() of a child that ignores SIGINT still brings the
// prompt back: such a child does not get the terminal (nsh keeps it, so
// the terminal's SIGINT reaches nsh), while a child that does not ignore
// SIGINT gets the terminal and Ctrl-C ends it, as in a shell.
func TestREPLCtrlCWhileWaitingForChildIgnoringSIGINT(t *testing.T) {
	needRoot(t)
	tm := startREPL(t)
	tm.send(`h = ns.spawn{"/bin/sh", "-c", "trap '' INT; sleep 30"}` + "\r")
	tm.expect("# ")
	tm.send("h:wait()\r")
	time.Sleep(500 * time.Millisecond)
	tm.send("\x03")
	tm.expect("interrupted")
	tm.send("print('back', h:alive())\r")
	tm.expect("back\ttrue")
	tm.send("h:kill(9); h:wait()\r")
	tm.expect("# ")
	tm.send(`k = ns.spawn{"/bin/sleep", "30"}; print(k:wait())` + "\r")
	tm.waitForegroundLeaves()
	tm.send("\x03")
	tm.expect("signal\tSIGINT")
}
