package lua

import (
	"io"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestSysSignalErrors(t *testing.T) {
	s := newTestSession(t)
	expectErrors(t, s, [][2]string{
		{`sys.signal("KILL", "ignore")`, `sys.signal: sigaction(SIGKILL): EINVAL: SIGKILL and SIGSTOP cannot be caught, blocked or ignored`},
		{`sys.signal("STOP", function() end)`, `sys.signal: sigaction(SIGSTOP): EINVAL`},
		{`sys.signal("URG", "ignore")`, `bad argument #1 to 'sys.signal' (SIGURG: reserved by nsh's Go runtime`},
		{`sys.signal("CHLD", "ignore")`, `SIG_IGN for SIGCHLD has the kernel reap children at once`},
		{`sys.signal("TERMX", "ignore")`, `bad argument #1 to 'sys.signal' (unknown signal "TERMX" (valid: a number 1..64 or a name: HUP, INT`},
		{`sys.signal(65, "ignore")`, `bad argument #1 to 'sys.signal' (signal number must be 1..64, got 65)`},
		{`sys.signal("USR1", "catch")`, `bad argument #2 to 'sys.signal' (unknown disposition "catch" (valid: a function, "ignore", "default"))`},
		{`sys.signal("USR1", 3)`, `bad argument #2 to 'sys.signal' (a function, "ignore" or "default" expected, got number`},
		{`sys.sigblock({})`, `bad argument #1 to 'sys.sigblock' (at least one signal expected)`},
		{`sys.sigblock("SEGV")`, `bad argument #1 to 'sys.sigblock' (SIGSEGV: reserved by nsh's Go runtime`},
		{`sys.sigwait("USR1", -1)`, `bad argument #2 to 'sys.sigwait' (timeout must be a number of seconds`},
		{`sys.signal("USR1", function() error("boom") end); sys.kill(ns.getpid(), "USR1"); sys.sleep(2)`, `signal handler for SIGUSR1:`},
	})
	run(t, s, `sys.signal("USR1", "default")`)
}

// A handler runs between Lua instructions: a busy loop sees it without
// calling any binding; "ignore" and "default" read back; sys.sleep ends early.
func TestSysSignalHandler(t *testing.T) {
	lockThread(t)
	s := newTestSession(t)
	run(t, s, `
		local got = {}
		assert(sys.signal("USR2") == "default")
		local fn = function(name) got[#got + 1] = name end
		assert(sys.signal("USR2", fn) == "default")
		assert(sys.signal("USR2") == fn)
		sys.kill(ns.getpid(), "USR2")
		local i = 0
		while #got == 0 and i < 2e8 do i = i + 1 end
		assert(got[1] == "SIGUSR2", "the handler did not run in a busy loop")
		local h = ns.spawn{"/bin/sh", "-c", "sleep 0.3; kill -USR2 $PPID"}  -- while the shell sleeps
		local left = sys.sleep(5)
		h:wait()
		assert(left > 3 and #got == 2, "sys.sleep did not end early: " .. left)
		assert(sys.signal("USR2", "ignore") == fn)
		sys.kill(ns.getpid(), "USR2")
		sys.sleep(0.2)
		assert(#got == 2)
		assert(sys.signal("USR2", "default") == "ignore")
	`)
}

// Signal 40 is the script's like any real-time signal: nsh asks its
// cloned children to stop on their control channel, not with a signal.
// Its handler runs in nsh and in a cloned function.
func TestSysSignal40(t *testing.T) {
	lockThread(t)
	s := newTestSession(t)
	run(t, s, `
		local function catch()
			local got
			assert(sys.signal(40, function(name) got = name end) == "default")
			sys.kill(ns.getpid(), 40)
			local i = 0
			while not got and i < 2e8 do i = i + 1 end
			sys.signal(40, "default")
			return got
		end
		local got = catch()
		assert(got == "SIGRTMIN+8", "in nsh: " .. tostring(got))
		local h = ns.clone("user", function() local g = catch(); assert(g == "SIGRTMIN+8", "in the child: " .. tostring(g)) end)
		local code, how, err = h:wait(20)
		assert(code == 0, "the cloned function: " .. tostring(code) .. " " .. tostring(how) .. " " .. tostring(err))
	`)
}

// sigwait takes a blocked signal with the kernel's siginfo; a program the
// shell starts inherits the mask and SIG_IGN (its /proc status). In an nsh
// of its own: the kernel gives a signal sent to the process to the main
// thread while it waits, and only in nsh is that the Lua thread.
func TestSysSigwait(t *testing.T) {
	out, err := exec.Command(nshBin, "-e", `
		assert(sys.sigwait("USR1", 0.05) == nil)
		local h, si
		for try = 1, 5 do  -- held (no siginfo) when another thread of Go took it first
			h = ns.spawn{"/bin/sh", "-c", "sleep 0.3; kill -USR1 $PPID"}
			si = sys.sigwait("USR1,USR2", 5)
			h:wait()
			if si and not si.held then break end
		end
		assert(si and si.name == "SIGUSR1" and si.signo == 10 and si.code_name == "SI_USER", tostring(si and si.name))
		assert(si.pid == h.pid and si.uid == sys.getuid(), si.pid .. " " .. h.pid)
		local before = sys.sigblock({"USR1", 12})
		assert(#before == 0)
		local st = sys.run({"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"})
		assert(st:find("SigBlk:\t0000000000000a00", 1, true), st)
		sys.kill(ns.getpid(), "USR1")
		sys.sleep(0.1)
		assert(table.concat(sys.sigpending(), ",") == "SIGUSR1", table.concat(sys.sigpending(), ","))
		assert(sys.sigwait("USR1", 1).name == "SIGUSR1")
		assert(#sys.sigpending() == 0)
		local was = sys.sigunblock("USR1,USR2")
		assert(table.concat(was, ",") == "SIGUSR1,SIGUSR2", table.concat(was, ","))
		sys.signal("USR1", "ignore")
		st = sys.run({"grep", "SigIgn", "/proc/self/status"})
		sys.signal("USR1", "default")
		assert(tonumber(st:match("SigIgn:%s*(%x+)"), 16) % 1024 >= 512, st)
		print("all ok")
	`).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "all ok") {
		t.Fatalf("%v\n%s", err, out)
	}
}

// The kernel's answer as python3 sees it: an init of a new PID namespace
// (unshare --pid --fork) waiting with sigtimedwait gets si_pid 0 from the
// parent namespace, as the nsh init does.
func TestSigwaitMatchesPython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	if out, err := exec.Command("unshare", "--user", "--map-root-user", "--pid", "--fork", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare --pid --fork does not work here: %v %s", err, out)
	}
	py := `import signal, os, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
print(os.getpid(), flush=True)
i = signal.sigtimedwait([signal.SIGUSR1], 5)
print(i.si_pid, i.si_code)`
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--pid", "--fork", "python3", "-c", py)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf) // "1": python is the init
	// the python init's pid here: unshare's only child
	kids, _ := exec.Command("pgrep", "-P", strconv.Itoa(cmd.Process.Pid)).Output()
	exec.Command("kill", "-USR1", strings.TrimSpace(string(kids))).Run()
	rest, _ := io.ReadAll(out) // to EOF: one read may return part of the line
	cmd.Wait()
	pyGot := strings.TrimSpace(string(rest))
	if strings.TrimSpace(string(buf[:n])) != "1" || pyGot != "0 0" {
		t.Fatalf("python3 init: pid %q, si_pid si_code %q", buf[:n], pyGot)
	}
	lockThread(t)
	s := newTestSession(t)
	rets, err := s.Run(`
		local h = ns.clone("pid,user", function()
			sys.sigblock("USR1")
			local si
			repeat si = sys.sigwait("USR1", 5) until si == nil or not si.held
			return si and (si.pid .. " " .. si.code) or "none"
		end)
		while h:alive() do sys.sleep(0.05); pcall(h.kill, h, "USR1") end
		h:wait()
		return h:result()`, t.Name())
	if err != nil || len(rets) != 1 {
		t.Fatal(err)
	}
	if v := rets[0].String(); v != pyGot {
		t.Errorf("nsh init: si_pid si_code %q, python3's %q", v, pyGot)
	}
}

// lockThread keeps the test on one thread until its session is closed (a
// signal mask is per thread).
func lockThread(t *testing.T) {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
}
