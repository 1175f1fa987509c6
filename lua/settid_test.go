package lua

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSpawnSetTIDArgs: set_tid's shape is checked before anything starts,
// and an option the set_tid start does not support is named with the ones
// it does.
func TestSpawnSetTIDArgs(t *testing.T) {
	s := newTestSession(t)
	expectErrors(t, s, [][2]string{
		{`ns.spawn{"/bin/true", set_tid = "5"}`, `option set_tid must be a PID or a list of PIDs {N1, N2, ...}, got string`},
		{`ns.spawn{"/bin/true", set_tid = {}}`, `option set_tid: an empty list chooses nothing`},
		{`ns.spawn{"/bin/true", set_tid = {a = 1}}`, `got a table with key string`},
		{`ns.spawn{"/bin/true", set_tid = {1.5}}`, `option set_tid[1] must be a whole number`},
		{`ns.spawn{"/bin/true", set_tid = 2^40}`, `option set_tid must be a whole number from -2147483648 to 2147483647`},
		{`ns.spawn{"/bin/true", set_tid = 5, hold = true, hostname = "x"}`, `option set_tid cannot be combined with hold, hostname: with set_tid nsh starts the program by its own clone3 and execve, which support only ns, join, join_ns, env, cwd, stdin, stdout, stderr, keep and pgroup`},
		{`ns.clone({ns = "pid", set_tid = 1}, function() end)`, `cannot also take a Lua function (ns.clone: start a program with ns.spawn instead)`},
	})
}

// TestSpawnSetTID: in a PID namespace chain (a cloned nsh as PID 1 of a
// new namespace, a child of it in a new one below), set_tid gives the PIDs
// asked for, as the kernel's NSpid shows them; the ns_last_pid method
// (write N-1, start) gives the same N; the kernel's errors name its rules.
func TestSpawnSetTID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: new PID and mount namespaces (the ordinary-user case is TestSpawnSetTIDNobody)")
	}
	s := newTestSession(t)
	run(t, s, `
	local function free()
	  for n = 31000 - (ns.getpid() % 997), 1000, -7 do
	    if not io.open("/proc/" .. n .. "/status") then return n end
	  end
	end
	local host = free()
	local h = ns.clone("pid,mnt", function(host)
	  mount.make("/", "private", true)
	  mount.mount("/proc", "/mnt", "", "bind") -- the host's procfs, its numbers (/mnt of this private mount namespace)
	  mount.mount("proc", "/proc", "proc")
	  local f = assert(io.open("/proc/sys/kernel/ns_last_pid", "w")); f:write("499"); f:close()
	  local a = ns.spawn{"/bin/true"}; a:wait()
	  local b = ns.spawn{"/bin/sleep", "5", ns = "pid", set_tid = {1, 600}}
	  local st = io.open("/proc/" .. b.pid .. "/status"):read("*a"):match("NSpid:%s*([^\n]*)")
	  local ok, inuse = pcall(ns.spawn, {"/bin/true", set_tid = 600})
	  local ok2, first = pcall(ns.spawn, {"/bin/true", ns = "pid", set_tid = {2, 700}})
	  b:kill(9); b:wait()
	  -- three levels: the new namespace, this one, and the host's (by its number there)
	  local c = ns.spawn{"/bin/sleep", "5", ns = "pid", set_tid = {1, 800, host}}
	  local st3 = io.open("/mnt/" .. host .. "/status"):read("*a"):match("NSpid:%s*([^\n]*)")
	  c:kill(9); c:wait()
	  return a.pid, b.pid, st, tostring(inuse), tostring(first), st3
	end, host)
	h:wait()
	local a, b, st, inuse, first, st3 = h:result()
	assert(st3 == host .. "\t800\t1", "set_tid {1, 800, " .. host .. "}: NSpid in the host's procfs " .. tostring(st3))
	assert(a == 500, "ns_last_pid 499, then a start: PID " .. tostring(a))
	assert(b == 600 and st == "600\t1", "set_tid {1, 600}: pid " .. tostring(b) .. ", NSpid " .. tostring(st))
	assert(inuse:find("clone3(0, set_tid={600}): EEXIST: a PID that set_tid asks for is in use", 1, true), inuse)
	assert(first:find("EINVAL: an entry other than 1 must name a namespace that already has an init", 1, true), first)
	`)
}

// TestSpawnSetTIDNobody: as an ordinary user, nsh (in a user namespace of
// its own) may choose PIDs in PID namespaces its user namespace owns, and
// gets EPERM for the initial one, owned by the initial user namespace.
func TestSpawnSetTIDNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to become nobody with setpriv")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
	out, err := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", nshBin, "-e", `
	local h = ns.clone("pid,mnt", function()
	  mount.make("/", "private", true); mount.mount("proc", "/proc", "proc")
	  local c = ns.spawn{"/bin/sleep", "5", set_tid = 321}
	  local st = io.open("/proc/" .. c.pid .. "/status"):read("*a"):match("NSpid:%s*([^\n]*)")
	  c:kill(9); c:wait()
	  return st
	end)
	h:wait()
	print("inside: " .. tostring(h:result()))
	local ok, err = pcall(ns.spawn, {"/bin/true", ns = "pid", set_tid = {1, 30001}})
	print(err)
	local u = ns.spawn{"/bin/sh", "-c", "echo user+pid: $$", ns = "user,pid", set_tid = {1}}
	u:wait()
	`).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "inside: 321\n") {
		t.Errorf("set_tid 321 in a PID namespace nsh's user namespace owns:\n%s", out)
	}
	if !strings.Contains(string(out), "user+pid: 1\n") {
		t.Errorf("set_tid {1} with a new user and PID namespace:\n%s", out)
	}
	if !strings.Contains(string(out), "EPERM: choosing a PID needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE over the user namespace that owns each PID namespace") {
		t.Errorf("set_tid in the initial PID namespace as nobody:\n%s", out)
	}
}
