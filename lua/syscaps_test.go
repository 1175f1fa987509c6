package lua

import (
	"os"
	"strings"
	"testing"
)

func TestSysPrctlErrors(t *testing.T) {
	s := newTestSession(t)
	expectErrors(t, s, [][2]string{
		{`sys.prctl("subreaper")`, `bad argument #1 to 'sys.prctl' (option must be one of "child_subreaper"`},
		{`sys.prctl("capbset_read")`, `bad argument #2 to 'sys.prctl' (a capability name expected`},
		{`sys.prctl("capbset_read", "sys_admn")`, `got "sys_admn"; did you mean "sys_admin"?`},
		{`sys.prctl("capbset_read", 63)`, `sys.prctl: prctl(PR_CAPBSET_READ, 63): EINVAL`},
		{`sys.prctl("no_new_privs", false)`, `sys.prctl: prctl(PR_SET_NO_NEW_PRIVS, 0): EINVAL: no_new_privs can only be set (1), never cleared`},
		{`sys.prctl("pdeathsig", "BOGUS")`, `bad argument #2 to 'sys.prctl' (unknown signal "BOGUS"`},
		{`sys.prctl("keepcaps", 1)`, `bad argument #2 to 'sys.prctl' (value must be true or false, got number)`},
		{`sys.capset{effective = {"bogus"}}`, `option effective: unknown capability "bogus"`},
		{`sys.capset{efective = {}}`, `unknown option efective: did you mean "effective"?`},
		{`ns.spawn{"/bin/true", cap_drop = {"nope"}}`, `option cap_drop: unknown capability "nope"`},
	})
}

func TestSysPrctlAndCaps(t *testing.T) {
	s := newTestSession(t)
	run(t, s, `
		assert(sys.prctl("no_new_privs") == false and sys.prctl("child_subreaper") == false)
		assert(type(sys.prctl("dumpable")) == "boolean" and sys.prctl("ambient_is_set", "chown") == false)
		-- in a child (the settings stay there): subreaper, pdeathsig, no_new_privs, keepcaps
		local h = ns.clone({}, function()
			sys.prctl("child_subreaper", true); sys.prctl("pdeathsig", "TERM")
			sys.prctl("no_new_privs", true); sys.prctl("keepcaps", true)
			return sys.prctl("child_subreaper"), sys.prctl("pdeathsig"), sys.prctl("no_new_privs"), sys.prctl("keepcaps")
		end)
		h:wait()
		local sr, pd, nnp, kc = h:result()
		assert(sr and pd == "TERM" and nnp and kc, tostring(pd))
		-- spawn options: no_new_privs shows in /proc/PID/status
		local out = sys.run({"/bin/sh", "-c", "grep NoNewPrivs /proc/self/status"})
		assert(out:find("NoNewPrivs:%s+0"), out)
		local f = os.tmpname()
		ns.spawn{"/bin/grep", "NoNewPrivs", "/proc/self/status", no_new_privs = true, stdout = f}:wait()
		local got = io.open(f):read("*a"); os.remove(f)
		assert(got:find("NoNewPrivs:%s+1"), got)
	`)
	if os.Geteuid() != 0 {
		if err := runErr(t, s, `sys.prctl("capbset_drop", "setfcap")`); !strings.Contains(err, "EPERM: dropping from the bounding set needs CAP_SETPCAP") {
			t.Fatalf("capbset_drop as a user: %s", err)
		}
		return
	}
	run(t, s, `
		assert(sys.prctl("capbset_read", "CAP_SETFCAP") == true)
		-- cap_drop: the child's bounding set lacks it, the shell's keeps it
		local h = ns.clone({cap_drop = {"setfcap", "sys_module"}}, function()
			local b = {}
			for _, n in ipairs(sys.caps().bounding) do b[n] = true end
			return b.setfcap == nil and b.sys_module == nil and b.sys_admin == true, sys.prctl("capbset_read", "setfcap")
		end)
		h:wait()
		local ok, still = h:result()
		assert(ok and still == false)
		assert(sys.prctl("capbset_read", "setfcap") == true)
		-- capset: effective emptied in a child, permitted kept; raising again works, beyond permitted does not
		local c = ns.clone({}, function()
			local perm = sys.caps().permitted
			sys.capset{effective = {}}
			local e0 = #sys.caps().effective
			sys.capset{effective = perm}
			sys.capset{permitted = {"chown"}, effective = {"chown"}}
			local ok, err = pcall(sys.capset, {permitted = {"chown", "sys_admin"}})
			return e0, #sys.caps().effective, err
		end)
		c:wait()
		local e0, e1, err = c:result()
		assert(e0 == 0 and e1 == 1, e0 .. " " .. e1)
		assert(err:find("capset(effective={chown}, permitted={chown,sys_admin}, inheritable={}): EPERM: capset may only lower the permitted set", 1, true), err)
	`)
}
