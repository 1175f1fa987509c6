package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"nsh/runtime/nsproc"
)

// The lab API as a binding uses it: a 2-node lab with pins, helpers, a
// holder with its own hostname, hosts and resolv.conf, a link; then Close
// leaves nothing behind (holder, pins, namespaces, directory).
func TestLabAPINodes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pins under /run/netns and a node's holder need root")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("nsenter(1) not installed")
	}
	before := runNetnsEntries()
	l, err := NewLab(LabOptions{Name: "nshapi", Pin: true, PinAuto: true, Helpers: true})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	if !l.Pinned() || l.PinError() != nil {
		t.Fatalf("root lab not pinned: %v", l.PinError())
	}
	dir := l.Dir()
	if b, err := os.ReadFile(filepath.Join(dir, LabMarker)); err != nil || !strings.HasPrefix(string(b), "nshapi ") {
		t.Fatalf("marker: %q %v", b, err)
	}
	must(t, l.AddBridge("br0", "10.53.57.11/24"))
	a, err := l.AddNode(NodeOptions{Name: "a", Hostname: "alpha", Hosts: true, Resolv: "10.53.57.64", Env: map[string]string{"REALM": "X.EXAMPLE"}})
	must(t, err)
	b, err := l.AddNode(NodeOptions{Name: "b", Types: nsproc.UTS})
	must(t, err)
	if _, err := l.AddNode(NodeOptions{Name: "a"}); err == nil || !strings.Contains(err.Error(), "already has a node") {
		t.Fatalf("duplicate node: %v", err)
	}
	if _, err := l.AddNode(NodeOptions{Name: "x/y"}); err == nil {
		t.Fatal("a name with / accepted")
	}
	// a has uts and mnt (hostname, /etc files), b only uts; both have holders.
	if got := a.TypeNames(); !reflect.DeepEqual(got, []string{"mnt", "uts"}) {
		t.Fatalf("a's namespaces %v", got)
	}
	if a.HolderPID() == 0 || b.HolderPID() == 0 {
		t.Fatal("no holder")
	}
	for _, p := range []string{"/run/netns/nshapi", "/run/netns/nshapi-a", "/run/netns/nshapi-b"} {
		if !isMountPoint(p) {
			t.Errorf("%s is not pinned", p)
		}
	}
	if a.Path() != "/run/netns/nshapi-a" || l.Path() != "/run/netns/nshapi" {
		t.Errorf("paths %s %s", a.Path(), l.Path())
	}
	must(t, l.Link(a, LinkOptions{Bridge: "br0", IfName: "veth21", CIDR: "10.53.57.21/24"}))
	must(t, l.Link(b, LinkOptions{Bridge: "br0", CIDR: "10.53.57.22/24"}))
	if err := l.Link(b, LinkOptions{Bridge: "nobridge"}); err == nil {
		t.Fatal("unknown bridge accepted")
	}
	if _, err := (LinkOptions{Bridge: "br0"}).Complete("a-very-long-node"); err == nil || !strings.Contains(err.Error(), "IFNAMSIZ") {
		t.Fatalf("long default brname: %v", err)
	}
	must(t, l.Wait(5*time.Second))
	if want := (LabDesc{Name: "nshapi", Pinned: true, Bridges: []BridgeDesc{{"br0", "10.53.57.11/24"}},
		Nodes: []NodeDesc{{"a", []string{"10.53.57.21/24"}}, {"b", []string{"10.53.57.22/24"}}},
		Links: []LinkDesc{{"a", "br0", "veth21", "a-br", "10.53.57.21/24", ""}, {"b", "br0", "eth0", "b-br", "10.53.57.22/24", ""}}}); !reflect.DeepEqual(l.Desc(), want) {
		t.Fatalf("Desc %+v", l.Desc())
	}
	if r := l.PingAll(time.Second); r.Sent != 2 || r.OK != 2 {
		t.Fatalf("PingAll %+v", r)
	}
	// Inside a: its hostname, its own /etc files (the shared hosts file
	// lists both nodes, written after the links), its variables.
	out := runIn(t, a, "hostname; cat /etc/resolv.conf /etc/hosts; echo $SERVER $SERVER_IP $REALM $NSH_LAB $NSH_NODE")
	for _, w := range []string{"alpha\n", "nameserver 10.53.57.64\n", "10.53.57.21\ta\n", "10.53.57.22\tb\n", "a 10.53.57.21 X.EXAMPLE nshapi a\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("in node a: want %q in\n%s", w, out)
		}
	}
	// The helper enters the same node from outside.
	hout, err := exec.Command(a.HelperPath(), "sh", "-c", "hostname; ip -br -4 addr show veth21").CombinedOutput()
	if err != nil || !strings.Contains(string(hout), "alpha") || !strings.Contains(string(hout), "10.53.57.21/24") {
		t.Errorf("helper: %v: %s", err, hout)
	}
	if hs, _ := LabHelpers("nshapi/b"); len(hs) != 1 || hs[0] != b.HelperPath() {
		t.Errorf("LabHelpers(nshapi/b) = %v", hs)
	}
	if h, _ := os.Hostname(); h == "alpha" {
		t.Fatal("the node's hostname leaked to the machine")
	}

	holders := []int{a.HolderPID(), b.HolderPID()}
	must(t, l.Close())
	if !l.Closed() || l.Path() != "" {
		t.Fatal("not closed")
	}
	for _, pid := range holders {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("holder %d still alive", pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("lab directory %s left: %v", dir, err)
	}
	if got := runNetnsEntries(); !reflect.DeepEqual(got, before) {
		t.Errorf("/run/netns after Close: %v, before %v", got, before)
	}
	if _, err := l.AddNode(NodeOptions{Name: "late"}); err == nil {
		t.Fatal("AddNode after Close accepted")
	}
	must(t, l.Close())
}

// A directory given keeps what was there: Close removes only the lab's files.
func TestLabAPIGivenDir(t *testing.T) {
	freshNet(t)
	dir := t.TempDir()
	keep := filepath.Join(dir, "keep")
	must(t, os.WriteFile(keep, []byte("x"), 0o644))
	l, err := NewLab(LabOptions{Name: "nshdir", Dir: dir, Helpers: true})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	n, err := l.AddNode(NodeOptions{Name: "n1"})
	must(t, err)
	if n.HolderPID() != 0 || len(n.TypeNames()) != 0 {
		t.Fatal("a plain node has a holder")
	}
	if _, err := os.Stat(filepath.Join(dir, "n1", HelperName)); err != nil {
		t.Fatal(err)
	}
	if l.Pinned() {
		t.Fatal("pinned without Pin")
	}
	must(t, l.Close())
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "keep" {
		t.Fatalf("left in the given directory: %v", ents)
	}
}

func runIn(t *testing.T, n *Node, script string) string {
	t.Helper()
	spec, err := n.Command([]string{"/bin/sh", "-c", script})
	must(t, err)
	f, err := os.CreateTemp(t.TempDir(), "out")
	must(t, err)
	defer f.Close()
	spec.Stdout, spec.Stderr = f, f
	p, err := nsproc.Start(spec)
	must(t, err)
	st, err := p.Wait(t.Context())
	must(t, err)
	b, _ := os.ReadFile(f.Name())
	if st.Code != 0 {
		t.Fatalf("exit %d: %s", st.Code, b)
	}
	return string(b)
}

// A command joining a node's PID namespace gets no parent-death signal
// (nsproc's one rule: Go's fork check would see getppid() == 0 and kill
// it) and runs there, under the holder (PID 1 of that namespace).
func TestLabAPIPidNode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a node's holder needs root")
	}
	l, err := NewLab(LabOptions{Name: "nshpid"})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	n, err := l.AddNode(NodeOptions{Name: "p", Types: nsproc.PID | nsproc.Mnt})
	must(t, err)
	spec, err := n.Command([]string{"true"})
	must(t, err)
	if !CanReturn() {
		t.Skip("entered through nsenter(1) here")
	}
	if _, ok := spec.Join["pid"]; !ok || !nsproc.NoPdeathsig(spec) {
		t.Fatalf("spec joins %v, no pdeathsig %v", spec.Join, nsproc.NoPdeathsig(spec))
	}
	// a small number: the PID namespace's own numbering, after the holder's 1
	if out := runIn(t, n, "echo $$"); len(out) < 2 || len(out) > 3 || out == "1\n" {
		t.Fatalf("pid inside the node: %q", out)
	}
	must(t, l.Close())
}
