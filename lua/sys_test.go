package lua

import (
	"os"
	"strconv"
	"strings"
	"testing"
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
