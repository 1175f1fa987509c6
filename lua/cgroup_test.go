package lua

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cgName is a group name no other test process uses at the same time.
func cgName(what string) string { return fmt.Sprintf("gotest-lua-%d-%s", os.Getpid(), what) }

// noGroupDirs fails if any hierarchy has nsh/name.
func noGroupDirs(t *testing.T, name string) {
	t.Helper()
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/nsh/" + name)
	if d := "/sys/fs/cgroup/nsh/" + name; fileExists(d) {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		t.Errorf("%s left behind", d)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Wrong input is refused as a bad argument naming what is valid, before
// any cgroup is made (so this needs no privilege).
func TestCgroupArgumentErrors(t *testing.T) {
	s := newTestSession(t)
	x := cgName("x")
	for _, c := range []struct{ src, want string }{
		{`cgroup.create()`, `bad argument #1 to 'cgroup.create' (name (a word like "demo"`},
		{`cgroup.create("../x")`, `bad argument #1 to 'cgroup.create' (cgroup name "../x" must be relative words`},
		{`cgroup.create("a//b")`, `without empty, "." or ".." parts`},
		{`cgroup.create("X", 5)`, `bad argument #2 to 'cgroup.create' (options table expected (keys: controllers, keep, cpu_weight`},
		{`cgroup.create("X", {cpu_wieght = 1})`, `unknown option cpu_wieght: did you mean "cpu_weight"?`},
		{`cgroup.create("X", {keep = 1})`, `option keep must be true or false, got number`},
		{`cgroup.create("X", {pids_max = -3})`, `bad argument #2 to 'cgroup.create' (pids.max takes "max" or an integer 0..4194304, got "-3")`},
		{`cgroup.create("X", {cpu_weight = 0})`, `cpu.weight takes an integer 1..10000, got "0"`},
		{`cgroup.create("X", {memory_max = "lots"})`, `memory.max takes bytes, a number with K/M/G/T`},
		{`cgroup.create("X", {cpu_max = "10 100000"})`, `cpu.max takes "max" or "QUOTA [PERIOD]"`},
		{`cgroup.create("X", {controllers = "cpu,nosuch"})`, `bad argument #2 to 'cgroup.create' (unknown controller "nosuch" (this `},
		{`cgroup.create("X", {controllers = {true}})`, `option controllers[1] must be a string, got boolean`},
		{`ns.spawn{"/bin/true", cgroup = 5}`, `bad argument #1 to 'ns.spawn' (option cgroup must be a cgroup handle`},
		{`ns.spawn{"/bin/true", cgroup = {pids_max = 3}}`, `option cgroup: a table needs name=`},
		{`ns.spawn{"/bin/true", cgroup = {name = "X", pids_mx = 3}}`, `unknown option pids_mx: did you mean "pids_max"? (valid: name, controllers`},
		{`ns.spawn{"/bin/true", cgroup = "../X"}`, `option cgroup: cgroup name "../`},
	} {
		src := strings.ReplaceAll(c.src, `"X"`, fmt.Sprintf("%q", x))
		if err := runErr(t, s, src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", src, err, c.want)
		}
	}
	noGroupDirs(t, x)
}

// A real group through a Session: create with limits, set/get/read/write,
// a child placed in it, the argument and kernel errors of the methods, and
// remove.
func TestCgroupSession(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups needs root (or a delegated subtree)")
	}
	name, kid := cgName("g"), cgName("kid")
	t.Cleanup(func() { noGroupDirs(t, name); noGroupDirs(t, kid) }) // after the session's own cleanup
	s := newTestSession(t)
	if err := runErr(t, s, fmt.Sprintf(`cg = cgroup.create(%q, {controllers = "pids", pids_max = 7})`, name)); err != "" {
		if strings.Contains(err, "unknown controller") {
			t.Skipf("no pids controller here: %s", err)
		}
		t.Fatal(err)
	}
	run(t, s, `
assert(cg:get("pids.max") == 7, "pids.max from create")
cg:set("pids_max", 9)
assert(cg:read("pids.max") == "9" and cg:get("pids_max") == 9)
cg:write("pids.max", "max")
assert(cg:get("pids.max") == "max")
assert(#cg:paths() >= 1 and cg.name:find("gotest%-lua"))`)
	for _, c := range []struct{ src, want string }{
		{`cg:set("pids.max", "lots")`, `bad argument #3 to 'cg:set' (pids.max takes "max" or an integer`},
		{`cg:set(nil, 1)`, `bad argument #2 to 'cg:set' (limit name (one of cpu.weight`},
		{`cg:set("pids.max", {})`, `bad argument #3 to 'cg:set' (value must be a string or a number, got table)`},
		{`cg:read("nope.file")`, `bad argument #2 to 'cg:read' (no hierarchy on this host has the nope controller for nope.file; available: `},
		{`cg:read("../pids.max")`, `bad argument #2 to 'cg:read' ("../pids.max" is not a cgroup interface file name`},
		{`cg:get("pids.bogus")`, `cg:get: open(`},
		{`cg:add(-3)`, `bad argument #2 to 'cg:add' (pid must be a positive whole number`},
		{`cg:add(4000000)`, `ESRCH`},
		{`cg.stats(5)`, `bad argument #1 to 'cg:stats' (cgroup handle expected`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
	// A kernel refusal is the call the kernel refused, not an argument error.
	err := runErr(t, s, `cg:write("pids.max", "bogus")`)
	if !strings.Contains(err, "cg:write: write(") || !strings.Contains(err, `pids.max, "bogus"): EINVAL`) || strings.Contains(err, "bad argument") {
		t.Errorf("raw write of a bad value: %q, want the write(2) and EINVAL", err)
	}
	run(t, s, fmt.Sprintf(`
local h = ns.spawn{"/bin/sleep", "30", cgroup = cg}
local p = cg:procs()
assert(#p == 1 and p[1] == h.pid, "the child is in the group")
h:kill(9); h:wait()
local k = ns.spawn{"/bin/true", cgroup = {name = %q, controllers = "pids", pids_max = 50}}
assert(k:wait() == 0)
cg:remove(); cg:remove()
assert(tostring(cg):find("removed"), tostring(cg))`, kid))
	noGroupDirs(t, name)
	if err := runErr(t, s, `cg:stats()`); !strings.Contains(err, "was removed (cg:remove())") {
		t.Errorf("a removed group's method: %q", err)
	}
}
