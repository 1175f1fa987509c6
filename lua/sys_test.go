package lua

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"nsh/runtime/nsproc"
)

func TestSysArgumentErrors(t *testing.T) {
	s := newTestSession(t)
	expectErrors(t, s, [][2]string{
		{`sys.hostname(5)`, `bad argument #1 to 'sys.hostname' (name must be a string, got number)`},
		{`sys.hostname(string.rep("x", 65))`, `bad argument #1 to 'sys.hostname' (hostname: at most 64 bytes`},
		{`sys.domainname({})`, `bad argument #1 to 'sys.domainname' (name must be a string, got table)`},
		{`sys.run(5)`, `bad argument #1 to 'sys.run' (a command string`},
		{`sys.run({})`, `a command string or a non-empty list of strings expected`},
		{`sys.run("true", {stdn = "x"})`, `unknown option stdn: did you mean "stdin"?`},
		{`sys.run("true", {env = {1}})`, `option env: list entries must be "NAME=value" strings`},
		{`sys.exec()`, `bad argument #1 to 'sys.exec' (a program expected`},
		{`sys.exec("/nonexistent/prog")`, `sys.exec: execve("/nonexistent/prog"): ENOENT`},
		{`sys.sleep()`, `bad argument #1 to 'sys.sleep' (seconds expected)`},
		{`sys.sleep(-1)`, `seconds must be a number of seconds from 0`},
		{`sys.kill("x")`, `bad argument #1 to 'sys.kill' (pid expected`},
		{`sys.kill(1, "BOGUS")`, `bad argument #2 to 'sys.kill' (unknown signal "BOGUS"`},
		{`sys.kill(4194300, 0)`, `sys.kill: kill(4194300, 0): ESRCH: no such process in this PID namespace`},
		{`sys.msgget(-1)`, `bad argument #1 to 'sys.msgget' (key must be a whole number from 0 to 2147483647, got -1)`},
		{`sys.msgget(1, 1)`, `bad argument #2 to 'sys.msgget' (create must be true or false, got number)`},
		{`sys.msgsnd(1, nil)`, `bad argument #2 to 'sys.msgsnd' (text must be a string, got no value)`},
		{`sys.msgsnd(1, "x", 0)`, `bad argument #3 to 'sys.msgsnd' (type must be a whole number from 1 to`},
		{`sys.mq_open("noslash")`, `a POSIX queue name is "/name" with no other slash`},
		{`sys.mq_unlink("")`, `bad argument #1 to 'sys.mq_unlink' (name must be a non-empty string`},
		{`sys.readlink()`, `bad argument #1 to 'sys.readlink' (path must be a non-empty string`},
		{`sys.caps(0.5)`, `pid must be a positive whole number`},
	})
}

func TestSysResults(t *testing.T) {
	s := newTestSession(t)
	run(t, s, `
		local out, code, err = sys.run("echo $A; echo oops >&2; exit 4", {env = {A = "b"}})
		assert(out == "b\n" and code == 4 and err == "oops\n", out .. err)
		assert(sys.run({"cat"}, {stdin = "fed"}) == "fed")
		local u = sys.uname()
		assert(u.sysname == "Linux" and u.nodename == sys.hostname())
		assert(sys.getuid() == `+strconv.Itoa(os.Getuid())+`)
		local c = sys.caps()
		assert(type(c.effective) == "table" and type(c.all) == "boolean")
		assert(sys.readlink("/proc/self/ns/uts"):find("^uts:%["))
		local t0 = sys.now(); sys.sleep(0.02); assert(sys.now() - t0 >= 0.02)
		sys.kill(ns.getpid(), 0)
	`)
	if os.Geteuid() != 0 {
		return
	}
	var out strings.Builder
	s.Stdout = &out
	run(t, s, `
		ns.unshare("uts,ipc")
		sys.hostname("nsh-sys-test")
		assert(sys.hostname() == "nsh-sys-test")
		local q = sys.msgget(4242, true)
		sys.msgsnd(q, "hello", 3)
		assert(#sys.msgqueues() == 1 and sys.msgqueues()[1].messages == 1)
		assert(sys.msgrcv(q) == "hello" and sys.msgrcv(q) == nil)
		sys.msgrm(q)
		assert(sys.mq_open("/nsh-sys-test", true) == true)
		sys.mq_unlink("/nsh-sys-test")
		assert(select(2, sys.mq_open("/nsh-sys-test")) == "ENOENT")
		ns.restore()
	`)
}

// TestHostnameGuard: in the UTS namespace nsh started in, sys.hostname(x)
// is refused unless host=true, and a change made with it is undone when the
// session ends. The "host" here is a UTS namespace of the test's own, made
// before the session (so the machine's name is never touched).
func TestHostnameGuard(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: unshares a UTS namespace")
	}
	// this process's first session said the test's own UTS namespace is the host's: here the new one is
	t.Setenv(nsproc.HostUTSEnv, "")
	os.Unsetenv(nsproc.HostUTSEnv)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread and its UTS namespace end with the goroutine
		done <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
				return err
			}
			if err := unix.Sethostname([]byte("nsh-guard-before")); err != nil {
				return err
			}
			var u unix.Utsname
			unix.Uname(&u)
			dom := unix.ByteSliceToString(u.Domainname[:])
			s, err := NewSession()
			if err != nil {
				return err
			}
			if e := runErr(t, s, `sys.hostname("nsh-guard-x")`); !strings.Contains(e, "host's UTS namespace") || !strings.Contains(e, "host=true") {
				s.Close()
				return fmt.Errorf("sys.hostname in the home UTS namespace: %q, want the refusal naming host=true", e)
			}
			if e := runErr(t, s, `assert(sys.hostname("nsh-guard-x", {host=true}) == "nsh-guard-x"); assert(sys.domainname("nsh-guard-d", {host=true}) == "nsh-guard-d")`); e != "" {
				s.Close()
				return fmt.Errorf("with host=true: %s", e)
			}
			// a child sharing the host's UTS namespace knows it is the host's
			if e := runErr(t, s, `local h = ns.clone("pid", function() return pcall(sys.hostname, "nsh-guard-child") end)
h:wait(); local ok, err = h:result(); assert(not ok and err:find("host=true", 1, true), tostring(err))`); e != "" {
				s.Close()
				return fmt.Errorf("in a clone child without \"uts\": %s", e)
			}
			// a namespace of the shell's own needs no host=true
			if e := runErr(t, s, `ns.unshare("uts"); sys.hostname("inner"); ns.restore("uts")`); e != "" {
				s.Close()
				return fmt.Errorf("in an unshared UTS namespace: %s", e)
			}
			for _, err := range s.Close() {
				return err
			}
			unix.Uname(&u)
			if h := unix.ByteSliceToString(u.Nodename[:]); h != "nsh-guard-before" {
				return fmt.Errorf("after the session: hostname %q, want nsh-guard-before put back", h)
			}
			if d := unix.ByteSliceToString(u.Domainname[:]); d != dom {
				return fmt.Errorf("after the session: domainname %q, want %q put back", d, dom)
			}
			return nil
		}()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
