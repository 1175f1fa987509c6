package lua

import (
	"os"
	"strings"
	"testing"
)

// Wrong input to a view is an argument error naming the argument.
func TestViewArgumentErrors(t *testing.T) {
	s := newTestSession(t)
	for _, c := range []struct{ src, want string }{
		{`view.upid()`, "bad argument #1 to 'view.upid'"},
		{`view.ns("x")`, "bad argument #1 to 'view.ns'"},
		{`view.ns(nil, {})`, "bad argument #2 to 'view.ns'"},
		{`view.mounts{before={}}`, "bad argument #1 to 'view.mounts' ({before=rows, after=rows} needs both"},
		{`view.mounts{before={}, after={}, undr="/"}`, `unknown option undr: did you mean "under"?`},
		{`view.mounts(nil, {undr="/"})`, `bad argument #2 to 'view.mounts' (unknown option undr: did you mean "under"?`},
		{`view.mounts({5})`, "bad argument #1 to 'view.mounts' (rows[1] is not a mount row"},
		{`view.lab(5)`, "bad argument #1 to 'view.lab' (lab expected"},
		{`view.cgroup("x")`, "bad argument #1 to 'view.cgroup'"},
	} {
		if got := runErr(t, s, c.src); !strings.Contains(got, c.want) {
			t.Errorf("%s:\n got  %q\n want %q", c.src, got, c.want)
		}
	}
}

// Views return data that matches what the kernel did, and print as text.
func TestViewsOfTheKernel(t *testing.T) {
	s := newTestSession(t)
	run(t, s, `
		local v = view.ns()
		assert(v.pid == 0 and v.ns.uts > 0 and next(v.differs) == nil, "the shell is where it started")
		assert(tostring(v):find("namespaces of the shell"), tostring(v))

		-- a saved table against itself minus its last row: one removed
		local before = mount.list()
		local after = {unpack(before, 1, #before - 1)}
		local d = view.mounts{before = before, after = after}
		assert(#d.removed == 1 and #d.added == 0 and d.removed[1].target == before[#before].target)
		for _, r in ipairs(view.mounts(nil, {under = "/proc"})) do
			assert(r.target == "/proc" or r.target:sub(1, 6) == "/proc/", r.target)
		end

		local lo = false
		for _, l in ipairs(view.links()) do lo = lo or l.name == "lo" end
		assert(lo, "view.links() lists lo")
		local c = view.cgroup()
		assert(#c.cgroups > 0 and c.mode ~= "", "view.cgroup() has rows")
		local tr = view.tree()
		assert(tr.levels >= 1 and #tr.rows >= 1)
	`)
	if os.Geteuid() != 0 {
		t.Skip("needs root for a child in a new UTS namespace")
	}
	run(t, s, `
		local h = ns.spawn{"/bin/sleep", "30", ns = {"uts"}}
		local v = view.ns(h.pid)
		assert(v.differs.uts and not v.differs.net, "the child differs in uts only")
		local u = view.upid(h.pid)
		assert(u.numbers[u.level + 1].nr == h.pid or u.level == 0)
		h:kill(9); h:wait()
	`)
}
