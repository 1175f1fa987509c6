package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// quit ends the REPL with Ctrl-D, so its cleanup runs, and waits for it.
func (tm *term) quit() {
	tm.t.Helper()
	tm.send("print('all' .. ' done')\r")
	tm.expect("all done\r\n")
	tm.send("\x04")
	select {
	case <-tm.done:
	case <-time.After(10 * time.Second):
		tm.t.Fatal("the REPL did not end on Ctrl-D")
	}
}

// removeCgroupOnFailure removes the cgroup nsh/name in every hierarchy
// after the test (a REPL killed by a failing test cannot clean up).
func removeCgroupOnFailure(t *testing.T, name string) {
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/nsh/" + name)
		if d := "/sys/fs/cgroup/nsh/" + name; dirs == nil {
			dirs = append(dirs, d)
		}
		for _, d := range dirs {
			os.Remove(d)
		}
	})
}

// sys.run(cmd, {ns = h}) runs in every namespace of h, exactly as
// `nsenter -t PID -a` does: the same namespace files, hostname and view of
// /proc, with and without a user (and time) namespace of its own.
func TestSysRunInHandleNamespaces(t *testing.T) {
	needRoot(t)
	for _, types := range []string{"pid,mnt,uts,net,ipc,cgroup", "user,pid,mnt,uts,net,ipc,cgroup,time"} {
		src := `
local h = ns.spawn{"/bin/sleep", "30", ns = "` + types + `", hostname = "inside", proc = true,
                   uid_map = ` + map[bool]string{true: `"0 65534 1", gid_map = "0 65534 1"`, false: "nil"}[strings.HasPrefix(types, "user")] + `}
sys.sleep(0.3)
local probe = "hostname; id -u; pwd; ps -e -o comm= | sort | tr '\\n' ' '; echo; for f in /proc/self/ns/*; do readlink $f; done"
local a, code, err = sys.run(probe, {ns = h})
assert(code == 0, err)
local b, code2, err2 = sys.run({"nsenter", "-t", tostring(h.pid), "-a", "sh", "-c", probe})
assert(code2 == 0, err2)
print(a) print("--") print(b)
h:kill(9) h:wait()
`
		out, err := runLua(t, nil, src)
		if err != nil {
			t.Fatalf("%s: %v\n%s", types, err, out)
		}
		parts := strings.SplitN(out, "\n--\n", 2)
		if len(parts) != 2 || strings.TrimSpace(parts[0]) != strings.TrimSpace(parts[1]) {
			t.Fatalf("%s: sys.run{ns=h} and nsenter -t PID -a differ:\n%s", types, out)
		}
		if !strings.HasPrefix(parts[0], "inside\n") || !strings.Contains(parts[0], "ps sh sleep") {
			t.Errorf("%s: not in the handle's namespaces:\n%s", types, out)
		}
	}
	_, errOut, code := nsh(t, "", "-e", `sys.run("true", {ns = "x"})`)
	if code == 0 || !strings.Contains(errOut, "option ns must be a process handle or a pid") {
		t.Errorf("ns=\"x\": code %d, %q", code, errOut)
	}
}

// Every object with methods completes its methods (x:) and fields (x.), a
// lab its node names too (lab.<Tab>, lab.h1:<Tab>).
func TestREPLCompletesEveryHandleType(t *testing.T) {
	needRoot(t)
	removeCgroupOnFailure(t, "daycompl")
	tm := startREPL(t)
	setup := []string{
		"h = ns.spawn{'/bin/sleep', '30'}",
		"cg = cgroup.create('daycompl')",
		"lab = net.lab{name = 'dayc', pin = false, helpers = false}",
		"h1 = lab:node('h1')",
		"hub = net.dns_hub{addr = '127.0.0.1:0', ns = lab.h1, records = {}}",
	}
	for _, l := range setup {
		tm.send(l + "\r")
		tm.expect("# ")
	}
	cases := []struct{ typed, want string }{
		{"h:wa", "h:wait"},
		{"h.pi", "h.pid"},
		{"cg:rea", "cg:read"},
		{"cg.contr", "cg.controllers"},
		{"lab:pinga", "lab:pingall"},
		{"lab.pinn", "lab.pinned"},
		{"lab.h", "lab.h1"},
		{"lab.h1:ru", "lab.h1:run"},
		{"lab.h1.hostn", "lab.h1.hostname"},
		{"hub:sto", "hub:stop"},
		{"hub.add", "hub.addr"},
	}
	for _, c := range cases {
		tm.send(c.typed + "\t")
		tm.expect(c.want)
		tm.send("\x15")
	}
	// lab:<Tab><Tab> lists the lab's methods, not the globals
	tm.send("lab:\t\t")
	out := tm.expect("pingall")
	if strings.Contains(out, "print") || strings.Contains(out, "xpcall") {
		t.Errorf("lab:<Tab> offers globals:\n%q", out)
	}
	tm.send("\x15h:kill(9) lab:close() cg:remove()\r")
	tm.expect("# ")
	tm.quit()
	nshDirsGone(t, "daycompl")
}

// A misspelt module function, method or field names itself and the closest
// ones, at the prompt and in help().
func TestREPLTyposSuggest(t *testing.T) {
	needRoot(t)
	removeCgroupOnFailure(t, "daytypo")
	tm := startREPL(t)
	for _, c := range []struct{ typed, want string }{
		{"ns.spwan{}", "ns.spwan is not a function of ns: did you mean ns.spawn?"},
		{"view.nstre()", "view.nstre is not a function of view: did you mean view.nstree?"},
		{"help('ns.spwan')", `nothing called "ns.spwan": did you mean ns.spawn?`},
		{"help('h:wiat')", `did you mean h:wait?`},
		{"h = ns.spawn{'/bin/sleep', '30'}", "# "},
		{"h:wiat()", "h.wiat is not a method or field of a process handle: did you mean h:wait?"},
		{"h.pdi", "did you mean h.pid?"},
		{"cg = cgroup.create('daytypo')", "# "},
		{"cg:raed('cgroup.procs')", "did you mean cg:read"},
		{"lab = net.lab{name = 'dayt', pin = false, helpers = false}; lab:node('h1')", "# "},
		{"lab.h2:run('true')", "lab.h2 is not a method or field of a lab: did you mean lab.h1?"},
		{"lab.h1.hostnme", "did you mean node.hostname?"},
		{"h:kill(9) lab:close() cg:remove()", "# "},
	} {
		tm.send(c.typed + "\r")
		tm.expect(c.want)
	}
	tm.quit()
	nshDirsGone(t, "daytypo")
}

// Command output returned at the prompt prints as text; a history that
// cannot be kept is said once.
func TestREPLCommandOutputAsTextAndHistoryOff(t *testing.T) {
	needRoot(t)
	tm := startTerm(t, []string{"--no-userns"}, "XDG_STATE_HOME=", "HOME=/proc/self/fdinfo")
	tm.expect("nsh: history is off for this session: mkdir /proc/self/fdinfo/.local")
	tm.expect("# ")
	tm.send("lab = net.lab{name = 'dayo', pin = false, helpers = false}; lab:node('n1')\r")
	tm.expect("# ")
	tm.send("lab.n1:run('echo one; echo two')\r")
	tm.expect("\r\none\r\ntwo\r\n0\t\"\"\r\n")
	tm.send("sys.run('echo single')\r")
	tm.expect("\r\nsingle\r\n0\t\"\"\r\n")
	tm.send("'no newline', 'a\\nb'\r")
	tm.expect("\"no newline\"\r\na\r\nb\r\n")
	tm.send("lab:close()\r")
	tm.quit()
	if strings.Contains(tm.buf.String(), "history is off") {
		t.Errorf("the history message came again:\n%q", tm.buf.String())
	}
}
