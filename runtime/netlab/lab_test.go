package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"nsh/runtime/nsproc"
)

// hostNetFd is the network namespace the test binary started in, opened
// before any test moved a thread.
var hostNetFd = -1

func TestMain(m *testing.M) {
	// A node's holder with set-up steps is this binary re-executed.
	if len(os.Args) > 1 && os.Args[1] == nsproc.ChildFlag {
		os.Exit(nsproc.ChildMain(nil))
	}
	if fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		hostNetFd = fd
	}
	os.Exit(m.Run())
}

// hostLinks lists the links of the namespace the test binary started in (read only).
func hostLinks(t testing.TB) []string {
	t.Helper()
	h, err := Open(FD(hostNetFd))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ls, err := h.Links()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.Name)
	}
	sort.Strings(names)
	return names
}

func runNetnsEntries() []string {
	ents, err := os.ReadDir(runNetns)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func isMountPoint(p string) bool {
	b, _ := os.ReadFile("/proc/thread-self/mountinfo")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == p {
			return true
		}
	}
	return false
}

func buildSelftest(t testing.TB, l *Lab, xs []int) map[int]*Node {
	t.Helper()
	must(t, l.AddBridge("selftest0", "10.53.57.11/24"))
	nodes := map[int]*Node{}
	for _, x := range xs {
		n, err := l.AddNode(NodeOptions{Name: fmt.Sprintf("n%d", x)})
		must(t, err)
		must(t, l.Link(n, LinkOptions{Bridge: "selftest0", IfName: fmt.Sprintf("veth%d", x), BrName: fmt.Sprintf("veth%d-br", x), CIDR: fmt.Sprintf("10.53.57.%d/24", x)}))
		nodes[x] = n
	}
	must(t, l.Wait(5*time.Second))
	return nodes
}

func TestLabSelftestPinned(t *testing.T) {
	freshNet(t)
	before := hostLinks(t)
	runBefore, _ := os.Stat(runNetns)
	mountBefore := isMountPoint(runNetns)
	l, err := NewLab(LabOptions{Name: "nshtest", Pin: true})
	must(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			l.Close()
		}
	})
	nodes := buildSelftest(t, l, []int{21, 22, 23})
	for x, n := range nodes {
		ns, err := n.Open()
		must(t, err)
		for y := range nodes {
			if x != y {
				if _, err := Ping(ns, fmt.Sprintf("10.53.57.%d", y), 1, 2*time.Second); err != nil {
					t.Fatalf("%d -> %d: %v", x, y, err)
				}
			}
		}
		if _, err := Ping(ns, "10.53.57.11", 1, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		li, err := ns.Link(fmt.Sprintf("veth%d", x))
		must(t, err)
		if li.State != "UP" || !contains(li.Addrs, fmt.Sprintf("10.53.57.%d/24", x)) {
			t.Fatalf("node %d: %+v", x, li)
		}
		lo, _ := ns.Link("lo")
		if !hasFlag(lo, "UP") {
			t.Fatalf("node %d: lo down", x)
		}
		ns.Close()
	}
	// The hub lives in the outer namespace, not in ours.
	mine, err := Open(Self())
	must(t, err)
	defer mine.Close()
	if _, err := mine.Link("selftest0"); !isErrno(err, unix.ENODEV) {
		t.Fatalf("selftest0 leaked into the caller's namespace: %v", err)
	}
	ents := runNetnsEntries()
	for _, want := range []string{"nshtest", "nshtest-n21", "nshtest-n22", "nshtest-n23"} {
		if !contains(ents, want) {
			t.Fatalf("/run/netns lacks %s: %v", want, ents)
		}
	}
	if _, err := exec.LookPath("ip"); err == nil {
		out, err := exec.Command("ip", "-n", "nshtest-n22", "-o", "addr", "show", "dev", "veth22").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "10.53.57.22/24") {
			t.Fatalf("ip -n nshtest-n22: %v %s", err, out)
		}
		out, err = exec.Command("ip", "-n", "nshtest", "-o", "link", "show", "master", "selftest0").CombinedOutput()
		if err != nil || strings.Count(string(out), "-br@") != 3 {
			t.Fatalf("ip -n nshtest: %v %s", err, out)
		}
	}
	inos := []uint64{}
	for _, n := range l.Nodes() {
		inos = append(inos, n.Inode())
	}
	must(t, l.Close())
	closed = true
	for _, e := range runNetnsEntries() {
		if strings.HasPrefix(e, "nshtest") {
			t.Fatalf("pin left: %s", e)
		}
	}
	runAfter, _ := os.Stat(runNetns)
	if (runBefore == nil) != (runAfter == nil) || mountBefore != isMountPoint(runNetns) {
		t.Fatalf("/run/netns not restored: existed %v->%v, mount point %v->%v", runBefore != nil, runAfter != nil, mountBefore, isMountPoint(runNetns))
	}
	if after := hostLinks(t); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("host links changed: %v -> %v", before, after)
	}
	// Nothing of ours holds the node namespaces any more.
	for _, ino := range inos {
		if holder := nsHolder(ino); holder != "" {
			t.Fatalf("namespace %d still held by %s", ino, holder)
		}
	}
}

// nsHolder finds an fd of this process that still refers to namespace ino.
func nsHolder(ino uint64) string {
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == fmt.Sprintf("net:[%d]", ino) {
			return "fd " + e.Name()
		}
	}
	return ""
}

func TestLabNoOuter(t *testing.T) {
	hub := freshNet(t)
	l, err := NewLab(LabOptions{NoOuter: true})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	nodes := buildSelftest(t, l, []int{31, 32})
	if _, err := hub.Link("selftest0"); err != nil {
		t.Fatalf("NoOuter: bridge should be in the caller's namespace: %v", err)
	}
	if _, err := Ping(nil, "10.53.57.31", 1, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := Ping(nodeNS(t, nodes[31]), "10.53.57.32", 1, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddNode(NodeOptions{Name: "n31"}); err == nil {
		t.Fatal("duplicate node accepted")
	}
	if err := l.Link(nodes[31], LinkOptions{Bridge: "nobridge", IfName: "x", BrName: "y", CIDR: ""}); err == nil {
		t.Fatal("unknown bridge accepted")
	}
	must(t, l.Close())
	ls, err := hub.Links()
	must(t, err)
	if len(ls) != 1 || ls[0].Name != "lo" {
		t.Fatalf("NoOuter Close should leave only lo in the caller's namespace: %v", ls)
	}
	if _, err := l.AddNode(NodeOptions{Name: "late"}); err == nil {
		t.Fatal("AddNode after Close accepted")
	}
}

// A bridge takes at most BR_MAX_PORTS-1 = 1023 ports: the 1024th gets EXFULL.
func TestBridgePortLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	hub := freshNet(t)
	must(t, hub.AddBridge("br0", true))
	br, err := hub.byName("br0")
	must(t, err)
	idx := br.Attrs().Index
	for i := 1; i <= 1023; i++ {
		if err := hub.addVeth(fmt.Sprintf("p%d", i), fmt.Sprintf("q%d", i), nil, idx, false, nil, nil); err != nil {
			t.Fatalf("port %d: %v", i, err)
		}
	}
	err = hub.addVeth("p1024", "q1024", nil, idx, false, nil, nil)
	if !isErrno(err, unix.EXFULL) {
		t.Fatalf("port 1024: want EXFULL, got %v", err)
	}
	t.Logf("1024th port: %v", err)
}

// IPv6 is on in a lab by default, with nodad addresses (Samba's
// fd00::5357:5fXX/112): usable at once, never tentative, as ip(8) shows.
// NoIPv6 turns it off (disable_ipv6=1): an IPv6 address is then EACCES.
func TestLabIPv6DefaultOnAndOff(t *testing.T) {
	freshNet(t)
	needTools(t, "nsenter", "ip", "cat")
	l, err := NewLab(LabOptions{Name: "v6"})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	if !l.IPv6() {
		t.Fatal("IPv6 off by default")
	}
	must(t, l.AddBridge("br0", "fd00::5357:5f0b/112"))
	a, err := l.AddNode(NodeOptions{Name: "a"})
	must(t, err)
	b, err := l.AddNode(NodeOptions{Name: "b"})
	must(t, err)
	must(t, l.Link(a, LinkOptions{Bridge: "br0", IfName: "eth0", BrName: "va", CIDR: "fd00::5357:5f15/112"}))
	must(t, l.Link(b, LinkOptions{Bridge: "br0", IfName: "eth0", BrName: "vb", CIDR: "fd00::5357:5f16/112"}))
	must(t, l.Wait(5*time.Second))
	if out, err := exec.Command("nsenter", "--net="+a.Path(), "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6").Output(); err != nil || string(out) != "0\n" {
		t.Fatalf("disable_ipv6 in a node: %v %q", err, out)
	}
	// (the kernel's own link-local address does DAD: tentative for a while)
	out, err := ipAt(t, a.Path(), "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global")
	if err != nil || !strings.Contains(out, "fd00::5357:5f15/112") || !strings.Contains(out, "nodad") || strings.Contains(out, "tentative") {
		t.Fatalf("ip -6 addr in a node: %v %s", err, out)
	}
	an, bn := nodeNS(t, a), nodeNS(t, b)
	rtts, err := an.Ping("fd00::5357:5f16", 2, 2*time.Second)
	must(t, err)
	t.Logf("lab ping6 %v", rtts)
	if _, err := bn.Ping("fd00::5357:5f0b", 1, 2*time.Second); err != nil {
		t.Fatal(err)
	}

	l4, err := NewLab(LabOptions{Name: "v4", NoIPv6: true})
	must(t, err)
	t.Cleanup(func() { l4.Close() })
	must(t, l4.AddBridge("br0", ""))
	n, err := l4.AddNode(NodeOptions{Name: "n"})
	must(t, err)
	if out, err := exec.Command("nsenter", "--net="+n.Path(), "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6").Output(); err != nil || string(out) != "1\n" {
		t.Fatalf("disable_ipv6 in a NoIPv6 node: %v %q", err, out)
	}
	err = l4.Link(n, LinkOptions{Bridge: "br0", IfName: "eth0", BrName: "vn", CIDR: "fd00::5357:5f1f/112"})
	if !isErrno(err, unix.EACCES) {
		t.Fatalf("IPv6 address in an IPv4-only lab: want EACCES, got %v", err)
	}
}

// nodeNS opens a node's network namespace for the test (closed at its end:
// while open it holds the namespace).
func nodeNS(t testing.TB, n *Node) *NS {
	t.Helper()
	ns, err := n.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}
