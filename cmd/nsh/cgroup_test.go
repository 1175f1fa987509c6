package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runLua runs nsh -e src (through prefix, e.g. unshare) and returns its output.
func runLua(t *testing.T, prefix []string, src string) (string, error) {
	t.Helper()
	argv := append(append([]string{}, prefix...), nshBin, "-e", src)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HOME=/tmp")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func needCgroupRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups needs root (or a delegated subtree); not root here")
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		t.Skip("no /sys/fs/cgroup")
	}
}

// nshDirsGone fails if any hierarchy still has an nsh/ directory.
func nshDirsGone(t *testing.T, name string) {
	t.Helper()
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range ents {
		p := "/sys/fs/cgroup/" + e.Name() + "/nsh/" + name
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
}

// The module on the host's own layout (hybrid here: v1 controllers plus a
// cgroup2 mount): mapping, raw files, processes, stats, events, freeze, kill.
func TestCgroupModuleHost(t *testing.T) {
	needCgroupRoot(t)
	src := `
local l = cgroup.layout()
assert(l.mode == "v1" or l.mode == "v2" or l.mode == "hybrid", l.mode)
local cg = cgroup.create("gotest-host", {controllers = "cpu,memory,pids", cpu_weight = 200, memory_max = "64M", pids_max = 30})
assert(cg.name == "gotest-host")
assert(cg:get("cpu.weight") == 200, "cpu.weight " .. tostring(cg:get("cpu.weight")))
assert(cg:get("memory_max") == 67108864)
assert(cg:get("pids.max") == 30)
if l.controllers.cpu ~= l.v2 then
  -- v1: the portable weight is stored as cpu.shares, and raw writes work
  assert(tonumber(cg:read("cpu.shares")) == 5219, cg:read("cpu.shares"))
  cg:write("cpu.shares", 200)
  assert(cg:get("cpu.shares") == 200)
end
local h = ns.spawn{"/bin/sh", "-c", "while :; do :; done", cgroup = cg}
local p = cg:procs()
assert(#p == 1 and p[1] == h.pid, "procs")
local v = view.cgroup(h.pid)
local found = 0
for _, r in ipairs(v.cgroups) do if r.path == "/nsh/gotest-host" then found = found + 1 end end
assert(found >= 3, "view.cgroup rows in the group: " .. found)
assert(tostring(v):find("pids.max=30"), tostring(v))
sys.sleep(0.3)
local st = cg:stats()
assert(st.cpu_usage_ns > 0 and st.pids_current == 1 and st.memory_current > 0, tostring(st))
local ev = cg:events()
assert(ev.pids_max == 0 and ev.oom_kill == 0, tostring(ev))
cg:freeze(); assert(cg:frozen()); cg:thaw(); assert(not cg:frozen())
cg:kill()
local code, how, sig = h:wait()
assert(how == "signal" and sig == "SIGKILL", tostring(how))
assert(#cg:procs() == 0)
assert(tostring(cg):find("nsh/gotest%-host"))
cg:remove(); cg:remove()
assert(tostring(cg):find("removed"))
assert(not pcall(cg.stats, cg))
print("ALL OK")
`
	out, err := runLua(t, nil, src)
	if err != nil || !strings.Contains(out, "ALL OK") {
		t.Fatalf("%v\n%s", err, out)
	}
	nshDirsGone(t, "gotest-host")
}

// Wrong input gives argument errors naming the valid choices, kernel
// refusals explain the rule, and nothing panics.
func TestCgroupErrors(t *testing.T) {
	needCgroupRoot(t)
	cases := []struct{ src, want string }{
		{`cgroup.create()`, "bad argument #1 to 'cgroup.create' (name (a word like \"demo\""},
		{`cgroup.create("../x")`, "must be relative words"},
		{`cgroup.create("x", {cpu_wieght = 1})`, `did you mean "cpu_weight"? (valid: controllers, keep, cpu_weight`},
		{`cgroup.create("x", {controllers = "cpu,nosuch"})`, "unknown controller \"nosuch\""},
		{`cgroup.create("x", 5)`, "options table expected"},
		{`cgroup.create("gotest-err", {controllers = "cpu", cpu_weight = 0})`, "cpu.weight"},
		{`local c = cgroup.create("gotest-err", {controllers="pids"}); c:set(nil, 1)`, "bad argument #2 to 'cg:set' (limit name (one of cpu.weight"},
		{`local c = cgroup.create("gotest-err", {controllers="pids"}); c:read("nope.file")`, "nope.file; available: "},
		{`local c = cgroup.create("gotest-err", {controllers="pids"}); local d = cgroup.create("gotest-err")`, "EEXIST"},
		{`local c = cgroup.create("gotest-err", {controllers="pids"}); c:add(-3)`, "to 'cg:add' (pid must be a positive whole number"},
		{`ns.spawn{"/bin/true", cgroup = 5}`, "option cgroup must be a cgroup handle"},
		{`ns.spawn{"/bin/true", cgroup = {pids_max = 3}}`, "a table needs name="},
		{`cgroup.create("gotest-err").stats(5)`, "cgroup handle expected"},
	}
	for _, c := range cases {
		out, err := runLua(t, nil, c.src)
		if err == nil {
			t.Errorf("%s: no error\n%s", c.src, out)
			continue
		}
		if !strings.Contains(out, c.want) || strings.Contains(out, "internal error") || strings.Contains(out, "goroutine") {
			t.Errorf("%s: want %q in:\n%s", c.src, c.want, out)
		}
	}
	nshDirsGone(t, "gotest-err")
}

// cg:add of a pid that does not exist is ESRCH with the rule.
func TestCgroupAddESRCH(t *testing.T) {
	needCgroupRoot(t)
	out, err := runLua(t, nil, `local c = cgroup.create("gotest-esrch", {controllers="pids"}); c:add(4000000)`)
	if err == nil || !strings.Contains(out, "ESRCH") {
		t.Fatalf("want ESRCH: %v\n%s", err, out)
	}
	nshDirsGone(t, "gotest-esrch")
}

// A group is removed however the script ends: error, SIGTERM.
func TestCgroupRemovedAtExit(t *testing.T) {
	needCgroupRoot(t)
	out, err := runLua(t, nil, `local c = cgroup.create("gotest-exit", {controllers="pids"}); ns.spawn{"/bin/sleep", "30", cgroup = c}; error("boom")`)
	if err == nil || !strings.Contains(out, "boom") {
		t.Fatalf("want the error: %v\n%s", err, out)
	}
	nshDirsGone(t, "gotest-exit")

	cmd := exec.Command(nshBin, "-e", `local c = cgroup.create("gotest-term", {controllers="pids"}); ns.spawn{"/bin/sleep", "30", cgroup = c}; print("ready"); io.stdout:flush(); sys.sleep(30)`)
	pr, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	pr.Read(buf)
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat("/sys/fs/cgroup/pids/nsh/gotest-term"); err != nil && !strings.Contains(string(buf), "ready") {
		t.Logf("group not seen before SIGTERM: %v (%q)", err, buf)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	nshDirsGone(t, "gotest-term")
}

// A pure cgroup v2 layout: a private mount namespace whose /sys/fs/cgroup is
// a cgroup2 mount (the host's unified hierarchy, which has no cpu/memory/pids
// controllers here). Detection, and the v2 operations that need no
// controller: CLONE_INTO_CGROUP, procs, cpu.stat, cgroup.events, freeze,
// kill, cgroup namespaces, remove.
func TestCgroupModuleV2(t *testing.T) {
	needCgroupRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare(1) not found")
	}
	prefix := []string{"unshare", "-m", "sh", "-c",
		`mount --make-rprivate / && umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$@"`, "sh"}
	src := `
local l = cgroup.layout()
assert(l.mode == "v2", "mode " .. l.mode)
assert(l.v2 == "/sys/fs/cgroup" and #l.hierarchies == 1)
local ok, err = pcall(cgroup.create, "gotest-v2", {controllers = "pids"})
if not l.controllers.pids then assert(not ok and err:find("unknown controller"), err) end
local cg = cgroup.create("gotest-v2", {controllers = {}})
assert(#cg:paths() == 1 and cg:paths()[1] == "/sys/fs/cgroup/nsh/gotest-v2", cg:paths()[1])
local h = ns.spawn{"/bin/sh", "-c", "while :; do :; done", cgroup = cg}
local f = io.open("/proc/" .. h.pid .. "/cgroup"); local line = f:read("*a"); f:close()
-- /proc/PID/cgroup is the kernel's, whatever is mounted: v1 lines stay
assert(line:find("\n0::/nsh/gotest%-v2\n") or line:find("^0::/nsh/gotest%-v2\n"), line)
assert(cg:procs()[1] == h.pid)
local v = view.cgroup(h.pid)
local v2row
for _, r in ipairs(v.cgroups) do
  if r.version == 2 then v2row = r end
  if r.version == 1 then assert(r.dir == nil, "a v1 hierarchy is not mounted here") end
end
assert(v2row and v2row.path == "/nsh/gotest-v2" and v2row.dir == "/sys/fs/cgroup/nsh/gotest-v2")
sys.sleep(0.2)
assert(cg:stats().cpu_usage_ns > 0)
assert(cg:events().populated == 1)
cg:freeze(); assert(cg:events().frozen == 1); cg:thaw()
-- born in the group and in a new cgroup namespace: reads 0::/
local c = ns.clone({ns = "cgroup", cgroup = cg}, function()
  local f = io.open("/proc/self/cgroup"); local s = f:read("*a"); f:close(); return s
end)
c:wait(); assert(c:result():find("0::/\n$"), c:result())
cg:kill()
h:wait()
assert(cg:events().populated == 0)
-- a group made just for a child by the option, removed with it
local k = ns.spawn{"/bin/true", cgroup = {name = "gotest-v2b"}}
k:wait()
cg:remove()
print("V2 OK")
`
	out, err := runLua(t, prefix, src)
	if err != nil || !strings.Contains(out, "V2 OK") {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, d := range []string{"/sys/fs/cgroup/unified/nsh/gotest-v2", "/sys/fs/cgroup/unified/nsh/gotest-v2b", "/sys/fs/cgroup/nsh/gotest-v2"} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s left behind", d)
		}
	}
}

// An ordinary user (nsh's automatic user namespace) is refused with an
// explanation, and can still make a cgroup namespace.
func TestCgroupUnprivileged(t *testing.T) {
	needCgroupRoot(t)
	prefix := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"}
	out, err := runLua(t, prefix, `
local ok, e = pcall(cgroup.create, "gotest-user")
assert(not ok and e:find("EACCES") and e:find("delegat"), e)
local h = ns.clone("cgroup", function() local f = io.open("/proc/self/cgroup"); local s = f:read("*a"); f:close(); return s end)
h:wait()
for line in h:result():gmatch("[^\n]+") do assert(line:match(":/$"), line) end
print(view.cgroup())
print("USER OK")`)
	if err != nil || !strings.Contains(out, "USER OK") {
		t.Fatalf("%v\n%s", err, out)
	}
}
