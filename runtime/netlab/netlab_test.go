package netlab

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestFreshNamespaceHasOnlyLoDown(t *testing.T) {
	ns := freshNet(t)
	links, err := ns.Links()
	must(t, err)
	if len(links) != 1 {
		t.Fatalf("a new netns should hold only lo, got %v", links)
	}
	lo := links[0]
	if lo.Name != "lo" || lo.Index != 1 || lo.Type != "loopback" {
		t.Fatalf("want lo, ifindex 1, loopback: got %+v", lo)
	}
	for _, f := range lo.Flags {
		if f == "UP" {
			t.Fatalf("lo must start DOWN, flags %v", lo.Flags)
		}
	}
	if lo.State != "DOWN" {
		t.Fatalf("lo operstate = %s, want DOWN", lo.State)
	}
	if len(lo.Addrs) != 0 {
		t.Fatalf("lo has addresses while down: %v", lo.Addrs)
	}
	must(t, ns.SetUp("lo"))
	lo, err = ns.Link("lo")
	must(t, err)
	if lo.State != "UNKNOWN" || !hasFlag(lo, "UP") || !hasFlag(lo, "LOWER_UP") {
		t.Fatalf("lo after up: %+v (want UNKNOWN, UP, LOWER_UP)", lo)
	}
	if !contains(lo.Addrs, "127.0.0.1/8") {
		t.Fatalf("lo up should get 127.0.0.1/8, has %v", lo.Addrs)
	}
	rtts, err := Ping(nil, "127.0.0.1", 2, time.Second)
	must(t, err)
	if len(rtts) != 2 {
		t.Fatalf("rtts %v", rtts)
	}
}

func hasFlag(l LinkInfo, f string) bool { return contains(l.Flags, f) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestOpenTargets(t *testing.T) {
	ns := freshNet(t)
	ino, err := ns.Inode()
	must(t, err)
	var st unix.Stat_t
	must(t, unix.Stat("/proc/thread-self/ns/net", &st))
	if st.Ino != ino {
		t.Fatalf("Open(Self()) gave inode %d, thread is in %d", ino, st.Ino)
	}
	byFd, err := Open(FD(ns.Fd()))
	must(t, err)
	defer byFd.Close()
	if i, _ := byFd.Inode(); i != ino {
		t.Fatalf("Open(FD) inode %d want %d", i, ino)
	}
	byPath, err := Open(Path(fmt.Sprintf("/proc/self/fd/%d", ns.Fd())))
	must(t, err)
	defer byPath.Close()
	if i, _ := byPath.Inode(); i != ino {
		t.Fatalf("Open(Path) inode %d want %d", i, ino)
	}
	// The process's main thread has not moved: PID(self) is another namespace.
	byPid, err := Open(PID(os.Getpid()))
	must(t, err)
	defer byPid.Close()
	if i, _ := byPid.Inode(); i == ino {
		t.Fatalf("Open(PID(self)) names the main thread's netns, which must differ from this thread's")
	}
	if _, err := Open(Path("/etc/hostname")); err == nil {
		t.Fatal("Open of a non-namespace file succeeded")
	}
	if _, err := Open(PID(-3)); err == nil {
		t.Fatal("Open(PID(-3)) succeeded")
	}
	_, err = Open(Path("/proc/999999999/ns/net"))
	if !isErrno(err, unix.ENOENT) {
		t.Fatalf("want ENOENT, got %v", err)
	}
	if !strings.Contains(err.Error(), "ENOENT") {
		t.Fatalf("error should name the errno: %v", err)
	}
}

func TestVethBetweenNamespacesAndPing(t *testing.T) {
	freshNet(t)
	a := newNS(t, "a")
	b := newNS(t, "b")
	must(t, a.AddVeth("veth21", "veth22", b))
	if _, err := a.Link("veth22"); !isErrno(err, unix.ENODEV) {
		t.Fatalf("peer should not exist in a: %v", err)
	}
	must(t, a.AddAddr("veth21", "10.53.57.21/24", false))
	must(t, b.AddAddr("veth22", "10.53.57.22/24", false))
	must(t, a.SetUp("veth21"))
	must(t, b.SetUp("veth22"))
	la, err := a.Link("veth21")
	must(t, err)
	lb, err := b.Link("veth22")
	must(t, err)
	if la.Type != "veth" || la.PeerIndex != lb.Index || lb.PeerIndex != la.Index {
		t.Fatalf("peer indexes wrong: %+v / %+v", la, lb)
	}
	if la.Peer != "" || la.PeerNSID < 0 {
		t.Fatalf("peer in another netns: want no name and an nsid, got %+v", la)
	}
	if !contains(la.Addrs, "10.53.57.21/24") || la.State != "UP" {
		t.Fatalf("veth21: %+v", la)
	}
	out := ipIn(t, a, "-o", "addr", "show", "dev", "veth21")
	if !strings.Contains(out, "10.53.57.21/24") {
		t.Fatalf("ip disagrees: %s", out)
	}
	rtts, err := Ping(a, "10.53.57.22", 3, 2*time.Second)
	must(t, err)
	if len(rtts) != 3 {
		t.Fatalf("want 3 rtts, got %v", rtts)
	}
	for _, r := range rtts {
		if r <= 0 || r > 2*time.Second {
			t.Fatalf("odd rtt %v", r)
		}
	}
	t.Logf("ping 10.53.57.21 -> .22 rtts %v", rtts)
	// From the test's own namespace there is no route to 10.53.57.22.
	_, err = Ping(nil, "10.53.57.22", 1, 200*time.Millisecond)
	if !isErrno(err, unix.ENETUNREACH) {
		t.Fatalf("want ENETUNREACH from a namespace with no route, got %v", err)
	}
	// IPv6 with nodad: usable at once.
	must(t, a.AddAddr("veth21", "fd53:57::21/64", true))
	must(t, b.AddAddr("veth22", "fd53:57::22/64", true))
	rtts, err = Ping(a, "fd53:57::22", 2, 2*time.Second)
	must(t, err)
	t.Logf("ping6 rtts %v", rtts)
	// Deleting one end deletes both.
	must(t, b.DelLink("veth22"))
	if _, err := a.Link("veth21"); !isErrno(err, unix.ENODEV) {
		t.Fatalf("deleting veth22 should delete veth21: %v", err)
	}
}

func TestVethSameNamespacePeerName(t *testing.T) {
	ns := freshNet(t)
	must(t, ns.AddVeth("va", "vb", nil))
	la, err := ns.Link("va")
	must(t, err)
	if la.Peer != "vb" || la.PeerNSID != -1 {
		t.Fatalf("same-ns peer: %+v", la)
	}
	if err := ns.AddVeth("va", "vc", nil); !isErrno(err, unix.EEXIST) {
		t.Fatalf("want EEXIST, got %v", err)
	}
	if err := ns.AddVeth("this-name-is-too-long", "x", nil); err == nil {
		t.Fatal("too long name accepted")
	}
	must(t, ns.SetMTU("va", 1400))
	la, _ = ns.Link("va")
	if la.MTU != 1400 {
		t.Fatalf("mtu %d", la.MTU)
	}
	must(t, ns.AddAddr("va", "10.53.57.5/24", false))
	must(t, ns.DelAddr("va", "10.53.57.5/24"))
	addrs, err := ns.Addrs("va")
	must(t, err)
	if len(addrs) != 0 {
		t.Fatalf("addrs left: %v", addrs)
	}
	if err := ns.DelAddr("va", "10.53.57.5/24"); !isErrno(err, unix.EADDRNOTAVAIL) {
		t.Fatalf("want EADDRNOTAVAIL, got %v", err)
	}
}

// The selftest topology: bridge selftest0 10.53.57.11/24 in the hub, nodes
// with vethX 10.53.57.X and vethX-br on the bridge, all reach each other.
func TestBridgeThreeNodes(t *testing.T) {
	hub := freshNet(t)
	must(t, hub.SetUp("lo"))
	must(t, hub.AddBridge("selftest0", true))
	must(t, hub.AddAddr("selftest0", "10.53.57.11/24", true))
	must(t, hub.SetUp("selftest0"))
	nodes := map[int]*NS{}
	for _, x := range []int{21, 22, 23} {
		n := newNS(t, fmt.Sprint("n", x))
		nodes[x] = n
		in, br := fmt.Sprintf("veth%d", x), fmt.Sprintf("veth%d-br", x)
		must(t, hub.AddVeth(br, in, n))
		must(t, hub.SetMaster(br, "selftest0"))
		st, err := hub.PortState(br)
		must(t, err)
		if st != "disabled" {
			t.Fatalf("a port that is down should be disabled, is %s", st)
		}
		must(t, hub.SetUp(br))
		must(t, n.AddAddr(in, fmt.Sprintf("10.53.57.%d/24", x), true))
		must(t, n.SetUp(in))
		must(t, hub.WaitForwarding(br, 2*time.Second))
		must(t, hub.WaitUp(2*time.Second, br))
		must(t, n.WaitUp(2*time.Second, in))
	}
	links, err := hub.Links()
	must(t, err)
	ports := 0
	for _, l := range links {
		if l.Master == "selftest0" {
			ports++
			if l.PortState != "forwarding" {
				t.Fatalf("port %s in state %s", l.Name, l.PortState)
			}
		}
	}
	if ports != 3 {
		t.Fatalf("want 3 ports on selftest0, got %d: %v", ports, links)
	}
	if out := ipIn(t, hub, "-o", "link", "show", "master", "selftest0"); strings.Count(out, "-br@") != 3 {
		t.Fatalf("ip sees other ports: %s", out)
	}
	for x, n := range nodes {
		for y := range nodes {
			if x == y {
				continue
			}
			if _, err := Ping(n, fmt.Sprintf("10.53.57.%d", y), 1, 2*time.Second); err != nil {
				t.Fatalf("%d -> %d: %v", x, y, err)
			}
		}
		if _, err := Ping(nil, fmt.Sprintf("10.53.57.%d", x), 1, 2*time.Second); err != nil {
			t.Fatalf("hub -> %d: %v", x, err)
		}
		if _, err := Ping(n, "10.53.57.11", 1, 2*time.Second); err != nil {
			t.Fatalf("%d -> hub: %v", x, err)
		}
	}
	must(t, hub.NoMaster("veth23-br"))
	if _, err := Ping(nodes[21], "10.53.57.23", 1, 300*time.Millisecond); err == nil {
		t.Fatal("ping through a port released from the bridge succeeded")
	}
}

// With STP off, ports forward as soon as they have carrier whatever
// forward_delay says; with STP on they spend forward_delay in listening and
// again in learning. WaitForwarding follows that without sleeping.
func TestForwardDelay(t *testing.T) {
	hub := freshNet(t)
	must(t, hub.AddBridge("br0", false))
	must(t, hub.SetUp("br0"))
	must(t, hub.AddVeth("p1", "p1peer", nil))
	must(t, hub.SetMaster("p1", "br0"))
	must(t, hub.SetUp("p1"))
	// Peer down: no carrier, the port stays disabled.
	err := hub.WaitForwarding("p1", 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("want a timeout in state disabled, got %v", err)
	}
	start := time.Now()
	must(t, hub.SetUp("p1peer"))
	must(t, hub.WaitForwarding("p1", time.Second))
	t.Logf("STP off, forward_delay 15s: port forwarding after %v", time.Since(start))

	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip not installed")
	}
	if out, err := exec.Command("ip", "link", "add", "br1", "type", "bridge", "stp_state", "1", "forward_delay", "200").CombinedOutput(); err != nil {
		t.Skipf("ip link add stp bridge: %v %s", err, out)
	}
	must(t, hub.SetUp("br1"))
	must(t, hub.AddVeth("p2", "p2peer", nil))
	must(t, hub.SetUp("p2peer"))
	must(t, hub.SetMaster("p2", "br1"))
	start = time.Now()
	must(t, hub.SetUp("p2"))
	st, _ := hub.PortState("p2")
	if st != "listening" {
		t.Fatalf("STP on: a new port should listen first, is %s", st)
	}
	err = hub.WaitForwarding("p2", 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "forward_delay") {
		t.Fatalf("want a timeout naming forward_delay, got %v", err)
	}
	must(t, hub.WaitForwarding("p2", 10*time.Second))
	took := time.Since(start)
	if took < 3*time.Second {
		t.Fatalf("STP on, forward_delay 2s: forwarding after %v, expected about 4s", took)
	}
	t.Logf("STP on, forward_delay 2s: forwarding after %v", took)
}

func TestMoveTo(t *testing.T) {
	a := freshNet(t)
	b := newNS(t, "b")
	must(t, a.AddVeth("d0", "d0peer", nil))
	must(t, a.AddAddr("d0", "10.53.57.30/24", false))
	must(t, a.SetUp("d0"))
	must(t, a.MoveTo("d0", b))
	peer, err := a.Link("d0peer")
	must(t, err)
	if peer.Peer != "" || peer.PeerNSID < 0 {
		t.Fatalf("after the move the peer is in another netns: %+v", peer)
	}
	if _, err := a.Link("d0"); !isErrno(err, unix.ENODEV) {
		t.Fatalf("d0 still in a: %v", err)
	}
	l, err := b.Link("d0")
	must(t, err)
	if hasFlag(l, "UP") || len(l.Addrs) != 0 {
		t.Fatalf("a moved link arrives down and without addresses: %+v", l)
	}
	if err := b.MoveTo("lo", a); !isErrno(err, unix.EINVAL) && !isErrno(err, unix.EOPNOTSUPP) {
		t.Fatalf("moving lo: want EINVAL/EOPNOTSUPP, got %v", err)
	}
	t.Logf("moving lo: %v", b.MoveTo("lo", a))
}

func TestRoutes(t *testing.T) {
	hub := freshNet(t)
	must(t, hub.SetUp("lo"))
	n := newNS(t, "n")
	must(t, hub.AddVeth("veth21-br", "veth21", n))
	must(t, hub.AddAddr("veth21-br", "10.53.57.11/24", true))
	must(t, hub.SetUp("veth21-br"))
	must(t, n.AddAddr("veth21", "10.53.57.21/24", true))
	must(t, n.SetUp("veth21"))
	// An address the hub owns outside the shared subnet.
	must(t, hub.AddVeth("d0", "d0peer", nil))
	must(t, hub.AddAddr("d0", "10.99.1.1/32", false))
	must(t, hub.SetUp("d0"))
	if _, err := Ping(n, "10.99.1.1", 1, 200*time.Millisecond); !isErrno(err, unix.ENETUNREACH) {
		t.Fatalf("without a default route: want ENETUNREACH, got %v", err)
	}
	if err := n.AddRoute("default", "10.77.0.1", ""); !isErrno(err, unix.ENETUNREACH) {
		t.Fatalf("gateway off-link: want ENETUNREACH, got %v", err)
	}
	must(t, n.AddRoute("default", "10.53.57.11", ""))
	must(t, n.AddRoute("10.88.0.0/16", "10.53.57.11", "veth21"))
	rs, err := n.Routes()
	must(t, err)
	var sawDefault, sawNet, sawConn bool
	for _, r := range rs {
		switch {
		case r.Dst == "default" && r.Via == "10.53.57.11" && r.Dev == "veth21":
			sawDefault = true
		case r.Dst == "10.88.0.0/16" && r.Via == "10.53.57.11":
			sawNet = true
		case r.Dst == "10.53.57.0/24" && r.Via == "" && r.Proto == "kernel" && r.Scope == "link":
			sawConn = true
		}
	}
	if !sawDefault || !sawNet || !sawConn {
		t.Fatalf("routes: %v", rs)
	}
	if out := ipIn(t, n, "route", "show", "default"); !strings.Contains(out, "default via 10.53.57.11 dev veth21") {
		t.Fatalf("ip route: %s", out)
	}
	rtts, err := Ping(n, "10.99.1.1", 2, 2*time.Second)
	must(t, err)
	t.Logf("ping via default route: %v", rtts)
	if err := n.AddRoute("default", "10.53.57.11", ""); !isErrno(err, unix.EEXIST) {
		t.Fatalf("duplicate route: want EEXIST, got %v", err)
	}
	must(t, n.DelRoute("10.88.0.0/16", "", ""))
	must(t, n.DelRoute("default", "", ""))
	if err := n.DelRoute("default", "", ""); !isErrno(err, unix.ESRCH) {
		t.Fatalf("deleting a missing route: want ESRCH, got %v", err)
	}
	if err := n.AddRoute("default", "", ""); err == nil {
		t.Fatal("route with neither via nor dev accepted")
	}
	if err := n.AddRoute("10.0.0.0/8", "fd00::1", ""); err == nil {
		t.Fatal("mixed families accepted")
	}
}

func TestDNSResponder(t *testing.T) {
	hub := freshNet(t)
	must(t, hub.SetUp("lo"))
	n := newNS(t, "n")
	must(t, hub.AddVeth("veth64", "veth21", n))
	must(t, hub.AddAddr("veth64", "10.53.57.64/24", true))
	must(t, hub.SetUp("veth64"))
	must(t, n.AddAddr("veth21", "10.53.57.21/24", true))
	must(t, n.SetUp("veth21"))
	srv, err := ServeDNSAt(hub, "10.53.57.64:53", map[string][]net.IP{
		"dc1.samba.example.com": {net.ParseIP("10.53.57.21"), net.ParseIP("fd53:57::21")},
	})
	must(t, err)
	t.Cleanup(func() { srv.Stop() })
	ips, err := Resolve(n, "10.53.57.64", "DC1.samba.example.com.")
	must(t, err)
	if len(ips) != 2 || !ips[0].Equal(net.ParseIP("10.53.57.21")) || !ips[1].Equal(net.ParseIP("fd53:57::21")) {
		t.Fatalf("answers %v", ips)
	}
	_, err = Resolve(n, "10.53.57.64", "nope.samba.example.com")
	if err == nil || !strings.Contains(err.Error(), "NXDOMAIN") {
		t.Fatalf("want NXDOMAIN, got %v", err)
	}
	// The server socket lives in the hub: from the test thread (also the
	// hub) it works over loopback-free local delivery; a third namespace
	// with no link has no route.
	o := newNS(t, "other")
	if _, err := Resolve(o, "10.53.57.64", "dc1.samba.example.com"); !isErrno(err, unix.ENETUNREACH) {
		t.Fatalf("from an unconnected netns: want ENETUNREACH, got %v", err)
	}
	if out, err := exec.Command("getent", "hosts", "x").CombinedOutput(); err == nil {
		_ = out // not used: the system resolver is not ours to change
	}
	must(t, srv.Stop())
	if _, err := Resolve(n, "10.53.57.64", "dc1.samba.example.com"); !isErrno(err, unix.ECONNREFUSED) {
		t.Fatalf("after Stop: want ECONNREFUSED, got %v", err)
	}
}

func TestDNSWire(t *testing.T) {
	recs := canonRecords(map[string][]net.IP{"a.example": {net.ParseIP("10.53.57.1")}})
	q, err := buildQuery(0x1234, "a.example", dnsTypeA)
	must(t, err)
	r := dnsAnswer(q, recs)
	ips, err := parseAnswer(r, 0x1234)
	must(t, err)
	if len(ips) != 1 || !ips[0].Equal(net.ParseIP("10.53.57.1")) {
		t.Fatalf("%v", ips)
	}
	q, _ = buildQuery(7, "a.example", dnsTypeAAAA)
	if ips, err := parseAnswer(dnsAnswer(q, recs), 7); err != nil || len(ips) != 0 {
		t.Fatalf("AAAA of a v4-only name: want NODATA, got %v %v", ips, err)
	}
	if _, err := ServeDNS(nil, nil); err == nil {
		t.Fatal("ServeDNS(nil) accepted")
	}
	if dnsAnswer([]byte{1, 2, 3}, recs) != nil {
		t.Fatal("short packet answered")
	}
	bad := append([]byte(nil), q[:12]...)
	bad = append(bad, 0xc0, 0x0c, 0, 1, 0, 1)
	if r := dnsAnswer(bad, recs); r == nil || r[3]&0xf != rcodeFormErr {
		t.Fatalf("compressed question: want FORMERR, got %v", r)
	}
}

// In a new netns net.ipv4.ping_group_range is "1 0": nobody, not even root,
// may open an ICMP datagram socket; widening it lets gid 0 do so.
func TestPingSocketRules(t *testing.T) {
	ns := freshNet(t)
	must(t, ns.SetUp("lo"))
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	must(t, err)
	if strings.Join(strings.Fields(string(b)), " ") != "1 0" {
		t.Fatalf("ping_group_range in a new netns: %q", b)
	}
	_, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP)
	if !isErrno(err, unix.EACCES) {
		t.Fatalf("ICMP dgram socket with range 1 0: want EACCES, got %v", err)
	}
	must(t, os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 0"), 0))
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	must(t, err)
	defer unix.Close(fd)
	rtts, err := pingFd(fd, PingDgram, net.ParseIP("127.0.0.1"), 2, time.Second)
	must(t, err)
	t.Logf("dgram ping rtts %v", rtts)
	fd6, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	must(t, err)
	defer unix.Close(fd6)
	_, err = pingFd(fd6, PingDgram, net.ParseIP("::1"), 1, time.Second)
	must(t, err)
}
