package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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
local probe = "hostname; id -u; pwd; cat /proc/1/comm; for f in /proc/self/ns/*; do readlink $f; done"
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
		if !strings.HasPrefix(parts[0], "inside\n") || !strings.Contains(parts[0], "\n/\nsleep\n") {
			t.Errorf("%s: not in the handle's namespaces:\n%s", types, out)
		}
	}
	// as an ordinary user nsh runs in a user namespace of its own; a child
	// in a user namespace below it is entered through nsenter(1) too
	if _, err := exec.LookPath("setpriv"); err == nil {
		dir := userDir(t, 65534)
		script := `local h = ns.spawn{"/bin/sleep", "30", ns = "user,pid,mnt,uts", hostname = "inner", uid_map = "0 0 1", gid_map = "0 0 1"}
sys.sleep(0.3)
local out, code, err = sys.run("hostname; id -u", {ns = h})
h:kill(9) h:wait()
assert(code == 0, err)
io.write(out)`
		if out := asUID(t, 65534, "cd "+dir+" && HOME="+dir+" "+nshBin+" -e '"+script+"'"); out != "inner\n0\n" {
			t.Errorf("as nobody, sys.run{ns=h} gave %q, want hostname inner and uid 0", out)
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

// view.namespaces lists every namespace lsns -J lists, with the same type
// and member count; it also shows those only a bind mount, a descriptor or
// a pid_for_children holds, and draws as text, DOT and JSON.
func TestViewNamespacesAgainstLsns(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("lsns"); err != nil {
		t.Skip("needs lsns(8) (util-linux)")
	}
	type lsnsOut struct {
		Namespaces []struct {
			NS     uint64 `json:"ns"`
			Type   string `json:"type"`
			NProcs int    `json:"nprocs"`
		} `json:"namespaces"`
	}
	type ours struct {
		Before, After lsnsOut
		Me            int
		View          struct {
			Namespaces []struct {
				ID      string
				Type    string
				Inode   uint64
				Members []int
				Holders []struct {
					Kind string
					Path string
					PID  int
					FD   int
				}
			}
			Roots []string
		}
		Text, Dot, TreeDot string
	}
	src := `
local hold = ns.spawn{"/bin/sleep", "30", ns = "net,uts"}
sys.sleep(0.2)
ns.pin(hold.pid, "net", "daylsns")
local fd = io.open("/proc/" .. hold.pid .. "/ns/uts")
local pidns = ns.clone("pid,mnt", function() ns.unshare("pid") ns.spawn{"/bin/sleep", "30"} sys.sleep(30) end)
sys.sleep(0.3)
local function lsns() local out, code, err = sys.run{"lsns", "-J"}; assert(code == 0, err); return json.decode(out) end
local before = lsns()
local v = view.namespaces()
local after = lsns()
print(json.encode({before = before, after = after, me = ns.getpid(), view = v, text = tostring(v),
                   dot = view.namespaces{dot = true}, treedot = view.nstree{dot = true},
                   hold = hold.pid, clone = pidns.pid}))
fd:close() pidns:kill(9) pidns:wait() hold:kill(9) hold:wait()
`
	for attempt := 1; ; attempt++ {
		out, err := runLua(t, nil, src)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var o ours
		if err := json.Unmarshal([]byte(out), &o); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		byID := map[string]int{}
		mine := map[string]bool{}
		for i, n := range o.View.Namespaces {
			byID[n.ID] = i
			for _, m := range n.Members {
				if m == o.Me {
					mine[n.ID] = true
				}
			}
		}
		after := map[uint64]int{}
		for _, n := range o.After.Namespaces {
			after[n.NS] = n.NProcs
		}
		churn := false
		for _, l := range o.Before.Namespaces {
			id := fmt.Sprintf("%s:[%d]", l.Type, l.NS)
			i, ok := byID[id]
			if !ok {
				if _, still := after[l.NS]; still {
					t.Errorf("lsns lists %s, view.namespaces does not", id)
				}
				continue
			}
			want := l.NProcs
			if mine[id] {
				want-- // lsns itself is a member, nsh's view was taken without it
			}
			if got := len(o.View.Namespaces[i].Members); got != want {
				if after[l.NS] == l.NProcs {
					churn = true // stable for lsns: a real difference, unless others' processes came and went
				}
				if attempt < 5 {
					churn = true
				} else {
					t.Errorf("%s: lsns counts %d processes (%d without itself), view.namespaces %d", id, l.NProcs, want, got)
				}
			}
		}
		// holders lsns does not show
		var sawMount, sawFD, sawForChildren bool
		for _, n := range o.View.Namespaces {
			for _, h := range n.Holders {
				sawMount = sawMount || h.Kind == "mount" && h.Path == "/run/netns/daylsns"
				sawFD = sawFD || h.Kind == "fd" && n.Type == "uts"
				sawForChildren = sawForChildren || h.Kind == "pid_for_children"
			}
		}
		if !sawMount || !sawFD || !sawForChildren {
			t.Errorf("holders missing: mount %v, fd %v, pid_for_children %v\n%s", sawMount, sawFD, sawForChildren, o.Text)
		}
		if !strings.Contains(o.Text, "mounted at /run/netns/daylsns") || !strings.HasPrefix(o.Dot, "digraph namespaces {") ||
			!strings.HasPrefix(o.TreeDot, "digraph nstree {") || len(o.View.Roots) == 0 {
			t.Errorf("text or DOT wrong:\n%s\n%s\n%s", o.Text, o.Dot, o.TreeDot)
		}
		if !churn || t.Failed() {
			break
		}
		t.Logf("attempt %d: processes came and went between the scans; again", attempt)
	}
	if _, err := os.Stat("/run/netns/daylsns"); err == nil {
		t.Error("/run/netns/daylsns left behind")
	}
}
