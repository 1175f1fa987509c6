package lua

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestSysSessionErrors(t *testing.T) {
	s := newTestSession(t)
	expectErrors(t, s, [][2]string{
		{`sys.getsid(4194300)`, `sys.getsid: getsid(4194300): ESRCH: no such process in this PID namespace`},
		{`sys.getpgid(-3)`, `bad argument #1 to 'sys.getpgid' (pid must be a positive whole number, got -3)`},
		{`sys.setpgid()`, `bad argument #1 to 'sys.setpgid' (pid expected (0 for the shell itself`},
		{`sys.setpgid(0, -1)`, `bad argument #2 to 'sys.setpgid' (pgid must be a whole number from 0`},
		{`local h = ns.spawn{"/bin/sleep", "30"}; sys.sleep(0.1); local ok, e = pcall(sys.setpgid, h, 0); h:kill(9); h:wait(); error(e)`,
			`sys.setpgid: setpgid(`},
		{`ns.spawn{"/bin/true", ctty = true, stdin = "null"}`, `ENOTTY: a controlling terminal was asked for, and the child's stdin is not a terminal`},
		{`ns.spawn{"/bin/true", setsid = 1}`, `option setsid must be true or false`},
	})
	// EPERM: a group leader may not start a session (and the hint says where it can)
	run(t, s, `
		local h = ns.clone({}, function()
			sys.setpgid(0, 0)
			local ok, err = pcall(sys.setsid)
			return err
		end)
		h:wait()
		local err = h:result()
		assert(err:find("setsid(): EPERM: the caller is a process group leader", 1, true), err)
		assert(err:find("hint: call it in a child that leads no group", 1, true), err)
	`)
}

func TestSysSessions(t *testing.T) {
	s := newTestSession(t)
	run(t, s, `
		assert(sys.getsid() == sys.getsid(0) and sys.getsid() >= 0)
		assert(sys.getpgid() == sys.getpgid(ns.getpid()))
		-- a child that executed a program can no longer be moved: EACCES
		local h = ns.spawn{"/bin/sleep", "30"}
		for i = 1, 100 do if sys.readlink("/proc/" .. h.pid .. "/exe"):find("sleep") then break end sys.sleep(0.01) end
		local ok, err = pcall(sys.setpgid, h, 0)
		assert(not ok and err:find("EACCES: the child has already executed a program", 1, true), err)
		h:kill(9); h:wait()
		-- spawn{setsid=true}: leader of its own session and group
		local l = ns.spawn{"/bin/sleep", "30", setsid = true}
		assert(sys.getsid(l) == l.pid and sys.getpgid(l) == l.pid, sys.getsid(l))
		assert(sys.getsid(l) ~= sys.getsid())
		l:kill(9); l:wait()
		-- a clone child may start a session: it is then leader of both
		local c = ns.clone({}, function() local before = sys.getsid(); local sid = sys.setsid(); return before, sid, ns.getpid(), sys.getpgid() end)
		c:wait()
		local before, sid, pid, pg = c:result()
		assert(before == sys.getsid() and sid == pid and pg == pid)
	`)
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace needs root here")
	}
	// pid_namespaces(7): the first process has session and group 0 until
	// it calls setsid, then 1
	run(t, s, `
		local h = ns.clone("pid", function()
			local s0, g0 = sys.getsid(), sys.getpgid()
			sys.setsid()
			return s0, g0, sys.getsid(), sys.getpgid()
		end)
		h:wait()
		local s0, g0, s1, g1 = h:result()
		assert(s0 == 0 and g0 == 0, "before setsid: " .. s0 .. " " .. g0)
		assert(s1 == 1 and g1 == 1, "after setsid: " .. s1 .. " " .. g1)
	`)
}

// TestSysProcExamples runs the example of every session call's help.
func TestSysProcExamples(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the examples clone into a PID namespace")
	}
	// the examples unshare: keep them on one thread, which Go discards when
	// this locked test goroutine ends, so no namespace leaks into later tests
	runtime.LockOSThread()
	s := newTestSession(t)
	for _, f := range append(s.sysProcFuncs(), s.sysIPCFuncs()...) {
		// an IPC namespace of its own: the machine's System V ids are
		// shared with every other process (and reused), so another nsh's
		// cleanup could take an id the example is using
		run(t, s, `ns.unshare("ipc")`)
		if _, err := s.Run(f.Example, "example of sys."+f.Name); err != nil {
			t.Errorf("example of sys.%s: %v\n%s", f.Name, err, f.Example)
		}
		run(t, s, "ns.restore()") // an example may unshare
	}
}

func TestSysKillGroups(t *testing.T) {
	s := newTestSession(t)
	expectErrors(t, s, [][2]string{
		{`sys.kill(-4194300, 0)`, `sys.kill: kill(-4194300, 0): ESRCH: no process group with that id in this PID namespace`},
		{`sys.kill(-0.5)`, `bad argument #1 to 'sys.kill' (pid must be a whole number`},
	})
	run(t, s, `
		sys.kill(0, 0)  -- the shell's own group exists
		local h = ns.spawn{"/bin/sleep", "30", setsid = true}
		sys.kill(-h.pid, "KILL")
		local code, how, sig = h:wait()
		assert(how == "signal" and code == 137, tostring(sig))
	`)
	if os.Geteuid() != 0 {
		return
	}
	// kill(-1) from a lone init: nobody else to signal, ESRCH
	run(t, s, `
		local h = ns.clone("pid", function()
			local ok, err = pcall(sys.kill, -1, 0)
			return err
		end)
		h:wait()
		local err = h:result()
		assert(err:find("kill(-1, 0): ESRCH: kill(-1) reaches every process the caller may signal except itself", 1, true), err)
	`)
}

// TestJoinUserNamespace: nsh cannot join a user namespace (the error says
// why and gives the nsenter(1) command), and LTP's userns04 is expressed
// with that command: the owner joins, a sibling namespace's member cannot
// (here it cannot even open the namespace file: EACCES, ptrace access mode;
// userns04 passes it a descriptor and gets EPERM from setns, which needs a
// descriptor passed to the child, which spawn options do not do yet).
func TestJoinUserNamespace(t *testing.T) {
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("needs nsenter(1)")
	}
	s := newTestSession(t)
	err := runErr(t, s, `
		local h = ns.spawn{"/bin/sleep", "30", ns = "user", uid_map = "0 `+strconv.Itoa(os.Getuid())+` 1"}
		local ok, err = pcall(ns.spawn, {"/bin/true", join = {user = "/proc/" .. h.pid .. "/ns/user"}})
		h:kill(9); h:wait()
		error(err)`)
	for _, want := range []string{"setns(user): EINVAL: setns(2) of a user namespace needs a single-threaded caller",
		`hint: nsenter(1) does it: sys.run{"nsenter", "--user=/proc/`, `"--preserve-credentials", "--", "/bin/true"}`} {
		if !strings.Contains(err, want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
	run(t, s, `
		local uid = sys.getuid()
		local a = ns.spawn{"/bin/sleep", "30", ns = "user", uid_map = "0 " .. uid .. " 1"}
		local user = "/proc/" .. a.pid .. "/ns/user"
		local _, code = sys.run{"nsenter", "--user=" .. user, "--preserve-credentials", "--", "/bin/true"}
		assert(code == 0, "the owner joins its child user namespace")
		local b = ns.clone({ns = "user", uid_map = "0 " .. uid .. " 1"}, function(user)
			local _, code, err = sys.run{"nsenter", "--user=" .. user, "--preserve-credentials", "--", "/bin/true"}
			return code, err
		end, user)
		b:wait()
		local code2, err2 = b:result()
		assert(code2 ~= 0 and (err2:find("Permission denied") or err2:find("Operation not permitted")), "a sibling's member cannot: " .. tostring(err2))
		a:kill(9); a:wait()
	`)
}
