package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests of issue 11's cleanup findings: what a killed nsh left is
// removed by nsh --cleanup and by the next start, signals end nsh with
// cleanup, children and grandchildren end with nsh.

// started is an nsh running a script that printed "ready".
type started struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr *fileText
}

// fileText is stderr kept in a file: a pipe would make Wait wait for every
// grandchild that inherited it.
type fileText struct{ f *os.File }

func (f *fileText) String() string {
	b, _ := os.ReadFile(f.f.Name())
	return string(b)
}

// startReady runs nsh on src (which must print "ready" and flush) and
// returns once it did.
func startReady(t *testing.T, src string, env ...string) *started {
	t.Helper()
	f := filepath.Join(t.TempDir(), "x.lua")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nshBin, f)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ef, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ef.Close() })
	errb := &fileText{ef}
	cmd.Stderr = ef
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "ready" {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("nsh never got ready:\n%s", errb.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("nsh never got ready:\n%s", errb.String())
	}
	return &started{cmd: cmd, out: out, stderr: errb}
}

// exitCode waits for the process and returns its exit code (-1 when
// killed by a signal), failing after limit.
func (s *started) exitCode(t *testing.T, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(limit):
		s.cmd.Process.Kill()
		<-done
		t.Fatalf("nsh did not end within %v:\n%s", limit, s.stderr)
	}
	return s.cmd.ProcessState.ExitCode()
}

// nshIn runs nsh with env added, as nsh() does.
func nshIn(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return runNsh(t, "", env, args...)
}

// privateState is a state directory of the test's own (NSH_STATE_DIR), so
// that no other nsh on the machine sweeps what the test's killed nsh left
// before the test looks.
func privateState(t *testing.T) []string {
	return []string{"NSH_STATE_DIR=" + t.TempDir()}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// alive: some process runs with exactly this command line.
func alive(cmdline string) bool {
	out, _ := exec.Command("pgrep", "-fx", cmdline).Output()
	return strings.TrimSpace(string(out)) != ""
}

func waitGone(t *testing.T, what string, gone func() bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if gone() {
			return
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Errorf("%s is still there", what)
}

// what a test makes that must go: a pin, a cgroup, a directory, a child.
const leaveSrc = `
local h = ns.spawn{"/bin/sleep", "%[1]s"}
ns.pin(h.pid, "uts", "%[2]s")
cgroup.create("%[2]s", {pids_max = 20})
local d = rootfs.tmpdir("%[2]s")
io.open(d .. "/f", "w"):write("x")
print("dir " .. d)
print("ready") io.stdout:flush()
sys.sleep(100)
`

func leftovers(t *testing.T, name, sleep string) []string {
	var left []string
	if exists("/run/nsh/uts/" + name) {
		left = append(left, "pin")
	}
	if m, _ := filepath.Glob("/sys/fs/cgroup/*/nsh/" + name); len(m) > 0 {
		left = append(left, "cgroup "+strings.Join(m, " "))
	}
	if m, _ := filepath.Glob("/sys/fs/cgroup/nsh/" + name); len(m) > 0 {
		left = append(left, "cgroup "+strings.Join(m, " "))
	}
	if m, _ := filepath.Glob(filepath.Join(os.TempDir(), name+"-*")); len(m) > 0 {
		left = append(left, "dir "+strings.Join(m, " "))
	}
	if alive("/bin/sleep " + sleep) {
		left = append(left, "child")
	}
	return left
}

// SIGKILL of nsh leaves its pins, cgroups, directories: nsh --cleanup
// removes exactly those (from the dead process's journal), and says so;
// the next nsh start does the same in one line.
func TestKilledNshLeftoversRemoved(t *testing.T) {
	needRoot(t)
	for i, how := range []string{"--cleanup", "start"} {
		t.Run(how, func(t *testing.T) {
			name := fmt.Sprintf("nsh-killed-%d-%d", os.Getpid(), i)
			sleep := fmt.Sprintf("%d", 300+i)
			env := privateState(t)
			s := startReady(t, fmt.Sprintf(leaveSrc, sleep, name), env...)
			s.cmd.Process.Signal(syscall.SIGKILL)
			s.exitCode(t, 10*time.Second)
			// the child died with nsh (parent-death signal); the rest stays
			left := leftovers(t, name, sleep)
			if len(left) < 3 {
				t.Fatalf("SIGKILL left only %v: the test does not show anything", left)
			}
			var out, errs string
			var code int
			if how == "--cleanup" {
				out, errs, code = nshIn(t, env, "--cleanup")
			} else {
				out, errs, code = nshIn(t, env, "-e", "print('hello')")
			}
			if code != 0 {
				t.Fatalf("nsh %s: exit %d\n%s%s", how, code, out, errs)
			}
			if !strings.Contains(errs, "nsh: removed what 1 ended nsh process left behind:") || !strings.Contains(errs, "pin") {
				t.Errorf("nsh %s said %q", how, errs)
			}
			if n := strings.Count(strings.TrimSpace(errs), "\n"); n != 0 {
				t.Errorf("want one line, got:\n%s", errs)
			}
			if left := leftovers(t, name, sleep); len(left) > 0 {
				t.Errorf("after nsh %s still there: %v", how, left)
			}
			if _, errs, _ := nshIn(t, env, "--cleanup"); !strings.Contains(errs, "nothing left behind") {
				t.Errorf("a second nsh --cleanup found more: %q", errs)
			}
		})
	}
}

// SIGPIPE, SIGQUIT, SIGHUP, SIGTERM and a double SIGINT end nsh with its
// cleanup, with 128+signal, and SIGQUIT prints no goroutine dump.
func TestSignalsEndWithCleanup(t *testing.T) {
	needRoot(t)
	for i, c := range []struct {
		sig  string
		code int
	}{{"PIPE", 141}, {"QUIT", 131}, {"HUP", 129}, {"TERM", 143}, {"INT INT", 130}} {
		t.Run(strings.ReplaceAll(c.sig, " ", "-"), func(t *testing.T) {
			name := fmt.Sprintf("nsh-sig-%d-%d", os.Getpid(), i)
			sleep := fmt.Sprintf("%d", 310+i)
			src := fmt.Sprintf(leaveSrc, sleep, name)
			if c.sig == "PIPE" {
				// a real broken pipe: the reader goes, the script writes on
				src = strings.Replace(src, "sys.sleep(100)", "sys.sleep(0.3) for i = 1, 1e7 do print(i) end sys.sleep(100)", 1)
			}
			s := startReady(t, src)
			switch c.sig {
			case "PIPE":
				s.out.Close()
			case "INT INT":
				// the second one comes while nsh cleans up: it must not cut it short
				s.cmd.Process.Signal(syscall.SIGINT)
				time.Sleep(20 * time.Millisecond)
				s.cmd.Process.Signal(syscall.SIGINT)
			default:
				sig := map[string]syscall.Signal{"QUIT": syscall.SIGQUIT, "HUP": syscall.SIGHUP, "TERM": syscall.SIGTERM}[c.sig]
				s.cmd.Process.Signal(sig)
			}
			code := s.exitCode(t, 20*time.Second)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, s.stderr)
			}
			if strings.Contains(s.stderr.String(), "goroutine ") {
				t.Errorf("a goroutine dump:\n%s", s.stderr)
			}
			if left := leftovers(t, name, sleep); len(left) > 0 {
				t.Errorf("SIG%s left %v\n%s", c.sig, left, s.stderr)
			}
		})
	}
}

// A call that waits (a child, a sleep) ends at once on SIGINT, with
// cleanup.
func TestSlowCallsInterruptible(t *testing.T) {
	needRoot(t)
	for i, call := range []string{`sys.sleep(100)`, `ns.spawn{"/bin/sleep", "100"}:wait()`,
		`ns.clone("pid", function() sys.sleep(100) end):wait()`} {
		name := fmt.Sprintf("nsh-slow-%d-%d", os.Getpid(), i)
		sleep := fmt.Sprintf("%d", 320+i)
		src := strings.Replace(fmt.Sprintf(leaveSrc, sleep, name), "sys.sleep(100)", call, 1)
		s := startReady(t, src)
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		s.cmd.Process.Signal(syscall.SIGINT)
		if code := s.exitCode(t, 10*time.Second); code != 130 {
			t.Errorf("%s: exit %d, want 130\n%s", call, code, s.stderr)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("%s: SIGINT took %v to end nsh", call, d)
		}
		if left := leftovers(t, name, sleep); len(left) > 0 {
			t.Errorf("%s: left %v", call, left)
		}
	}
}

// An ns.clone child's own cleanup runs when its parent ends (SIGTERM, a
// grace period, then SIGKILL), and what a child left when it died passes
// to its parent, which removes it at its end.
func TestCloneChildCleanup(t *testing.T) {
	needRoot(t)
	name := fmt.Sprintf("nsh-clonechild-%d", os.Getpid())
	// the child cleans up its own pin and cgroup when told to end
	out, errs, code := nsh(t, "", "-e", fmt.Sprintf(`
		local h = ns.clone("uts", function()
			ns.pin(ns.getpid(), "uts", "%[1]s-a")
			cgroup.create("%[1]s-a", {pids_max = 10})
			print("child ready") io.stdout:flush()
			sys.sleep(100)
		end)
		for i = 1, 200 do
			if io.open("/run/nsh/uts/%[1]s-a") then break end
			sys.sleep(0.02)
		end
		sys.sleep(0.2)
		-- a child killed outright leaves its pin to its parent
		local k = ns.clone("uts", function()
			ns.pin(ns.getpid(), "uts", "%[1]s-b")
			sys.sleep(100)
		end)
		for i = 1, 200 do
			if io.open("/run/nsh/uts/%[1]s-b") then break end
			sys.sleep(0.02)
		end
		k:kill(9) k:wait()
		assert(io.open("/run/nsh/uts/%[1]s-b"), "the killed child's pin is still there before the parent ends")`, name))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, p := range []string{"/run/nsh/uts/" + name + "-a", "/run/nsh/uts/" + name + "-b"} {
		if exists(p) {
			t.Errorf("%s is left", p)
		}
	}
	if m, _ := filepath.Glob("/sys/fs/cgroup/*/nsh/" + name + "-a"); len(m) > 0 {
		t.Errorf("the child's cgroup is left: %v", m)
	}
	if strings.Contains(errs, "did not die") {
		t.Errorf("the child was not given time: %s", errs)
	}
}

// Children end with nsh however it ends: one that changed its uid in a
// re-executed nsh (the kernel clears the parent-death signal then), one
// that joined a PID namespace, grandchildren left by a shell.
func TestChildrenEndWithNsh(t *testing.T) {
	needRoot(t)
	src := `
local a = ns.spawn{"/bin/sleep", "331", uid = 65534, ns = "uts", hostname = "pd"}
local b = ns.spawn{"/bin/sleep", "332", uid = 65534}
local c = ns.spawn{"/bin/sleep", "333", ns = "pid"}
local d = ns.spawn{"/bin/sleep", "334", join = {pid = "/proc/" .. c.pid .. "/ns/pid"}}
sys.run("/bin/sh -c '/bin/sleep 335 & exit 0'")
ns.spawn{"/bin/sh", "-c", "/bin/sleep 336 & exit 0"}:wait()
print("ready") io.stdout:flush()
sys.sleep(100)
`
	all := []string{"331", "332", "333", "334", "335", "336"}
	for _, how := range []string{"KILL", "normal"} {
		t.Run(how, func(t *testing.T) {
			env := privateState(t)
			s := startReady(t, strings.Replace(src, "sys.sleep(100)", map[string]string{"KILL": "sys.sleep(100)", "normal": "sys.sleep(0.2)"}[how], 1), env...)
			if how == "KILL" {
				s.cmd.Process.Signal(syscall.SIGKILL)
			}
			s.exitCode(t, 10*time.Second)
			for _, n := range all {
				if how == "KILL" && (n == "335" || n == "336") {
					continue // no process is left to act: only a PID namespace or the journal can
				}
				waitGone(t, "sleep "+n, func() bool { return !alive("/bin/sleep " + n) })
			}
			if how == "KILL" {
				nshIn(t, env, "--cleanup")
			}
			for _, n := range []string{"335", "336"} {
				exec.Command("pkill", "-fx", "/bin/sleep "+n).Run()
			}
		})
	}
}

// Without a map, the second level of ns.clone("user,pid") fails with the
// kernel's rule for unmapped ids; with maps, user namespaces nest down to
// the kernel's limit, where clone(2) fails with ENOSPC.
func TestNestedUserNamespaces(t *testing.T) {
	needRoot(t)
	_, errs, _ := nsh(t, "", "-e", `local h = ns.clone("user,pid", function()
		return ns.clone("user,pid", function() return 0 end):wait() end); h:wait()`)
	if !strings.Contains(errs, "EPERM: a process whose uid or gid has no mapping in its own user namespace cannot create a nested user namespace") {
		t.Errorf("unmapped nesting: %s", errs)
	}
	if strings.Contains(errs, "CAP_SYS_ADMIN") {
		t.Errorf("unmapped nesting blamed on CAP_SYS_ADMIN: %s", errs)
	}
	out, errs, code := nsh(t, "", "-e", `
		local function nest(level)
			local h = ns.clone({ns = "user", uid_map = "0 0 1", gid_map = "0 0 1"}, function(l)
				local ok, r = pcall(nest, l)
				if not ok then print("stopped at " .. l .. ": " .. r) return l end
				return r
			end, level + 1)
			h:wait()
			return (h:result())
		end
		print("deepest " .. nest(0))`)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	var deepest int
	fmt.Sscanf(out[strings.Index(out, "deepest "):], "deepest %d", &deepest)
	if deepest < 32 {
		t.Errorf("user namespaces nested only %d deep:\n%s", deepest, out)
	}
	if !strings.Contains(out, "ENOSPC") || !strings.Contains(out, "a user namespace at most 33") {
		t.Errorf("the limit is not explained:\n%s", out)
	}
	t.Logf("user namespaces nest %d levels below the initial one", deepest)
}

// A lab killed half-built (SIGKILL while it adds nodes) leaves pins under
// /run/netns, a bridge's host links (outer=false) and its directory: its
// journal names each, and nsh --cleanup removes them all.
func TestKilledLabCleanedUp(t *testing.T) {
	needRoot(t)
	name := fmt.Sprintf("kl%d", os.Getpid()%100000)
	env := privateState(t)
	s := startReady(t, fmt.Sprintf(`
local lab = net.lab{name = "%[1]s", pin = true, outer = false}
lab:bridge("%[1]sbr", "10.77.0.1/16")
for i = 1, 400 do
	lab:link(lab:node("n" .. i), "%[1]sbr", {addr = "10.77." .. math.floor(i / 200) .. "." .. (i %% 200 + 2) .. "/16"})
	if i == 20 then print("ready") io.stdout:flush() end
end
sys.sleep(100)`, name), env...)
	time.Sleep(200 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.exitCode(t, 10*time.Second)
	pins, _ := filepath.Glob("/run/netns/" + name + "-*")
	if len(pins) < 20 {
		t.Fatalf("only %d pins after SIGKILL: the test shows nothing", len(pins))
	}
	_, errs, code := nshIn(t, env, "--cleanup")
	if code != 0 {
		t.Fatalf("nsh --cleanup: exit %d: %s", code, errs)
	}
	t.Logf("%d pins after SIGKILL; nsh --cleanup: %s", len(pins), strings.TrimSpace(errs))
	if left, _ := filepath.Glob("/run/netns/" + name + "*"); len(left) > 0 {
		t.Errorf("%d pins left, e.g. %s", len(left), left[0])
	}
	if exists("/sys/class/net/" + name + "br") {
		t.Errorf("the bridge %sbr is left", name)
	}
	if m, _ := filepath.Glob("/run/nsh/labs/" + name + ".*"); len(m) > 0 {
		t.Errorf("the lab's directory is left: %v", m)
	}
}

// SIGTERM and SIGHUP end the REPL too (it stops reading), with cleanup.
func TestREPLEndsOnSignal(t *testing.T) {
	needRoot(t)
	for i, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		pin := fmt.Sprintf("nsh-repl-%d-%d", os.Getpid(), i)
		cmd := exec.Command(nshBin, "-e", fmt.Sprintf(`ns.pin(ns.getpid(), "uts", %q)`, pin), "-i")
		cmd.Env = append(os.Environ(), privateState(t)...)
		in, _ := cmd.StdinPipe() // stays open: the REPL waits for input
		defer in.Close()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitGone(t, "the pin's absence", func() bool { return exists("/run/nsh/uts/" + pin) })
		cmd.Process.Signal(sig)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v did not end the REPL", sig)
		}
		if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
			t.Errorf("%v: exit %d", sig, code)
		}
		if exists("/run/nsh/uts/" + pin) {
			t.Errorf("%v: the pin is left", sig)
		}
	}
}

// TestJournalOutsideScriptMounts: the journal is made with the first
// record, and a script may have moved nsh's thread into a mount namespace
// of its own by then, with the state directory covered: the journal still
// lies where the next nsh looks, so what a SIGKILLed nsh made is removed.
func TestJournalOutsideScriptMounts(t *testing.T) {
	needRoot(t)
	env := privateState(t)
	dir := strings.TrimPrefix(env[0], "NSH_STATE_DIR=")
	name := fmt.Sprintf("nsh-hidden-%d", os.Getpid())
	t.Cleanup(func() { // when the test fails: the cgroup nsh did not remove
		m, _ := filepath.Glob("/sys/fs/cgroup/*/nsh/" + name)
		m2, _ := filepath.Glob("/sys/fs/cgroup/nsh/" + name)
		for _, d := range append(m, m2...) {
			os.Remove(d)
		}
	})
	src := fmt.Sprintf(`
ns.unshare("mnt")
mount.make("/", "private", true)
mount.tmpfs(%q)
cgroup.create(%q, {pids_max = 20})
print("ready") io.stdout:flush()
sys.sleep(100)
`, dir, name)
	s := startReady(t, src, env...)
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.exitCode(t, 10*time.Second)
	out, errs, code := nshIn(t, env, "--cleanup")
	if code != 0 || !strings.Contains(errs, "removed what 1 ended nsh process left behind") || !strings.Contains(errs, "cgroup") {
		t.Fatalf("nsh --cleanup: exit %d, %s%s", code, out, errs)
	}
	if left := leftovers(t, name, "100"); len(left) > 0 {
		t.Errorf("after nsh --cleanup still there: %v", left)
	}
}
