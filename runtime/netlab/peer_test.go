package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// twoHosts makes two "host" namespaces joined by a veth, the underlay:
// ul in each, 192.168.77.1/24 and 192.168.77.2/24, up.
func twoHosts(t *testing.T) (a, b *NS) {
	t.Helper()
	freshNet(t)
	a, b = newNS(t, "hostA"), newNS(t, "hostB")
	must(t, a.AddVeth("ul", "ul", b))
	must(t, a.AddAddr("ul", "192.168.77.1/24", false))
	must(t, b.AddAddr("ul", "192.168.77.2/24", false))
	must(t, a.SetUp("ul"))
	must(t, b.SetUp("ul"))
	must(t, a.WaitUp(5*time.Second, "ul"))
	must(t, b.WaitUp(5*time.Second, "ul"))
	return a, b
}

// peerLab is one host's half: a lab with bridge br0 and one node on it.
func peerLab(t *testing.T, name, node, cidr string) (*Lab, *Node) {
	t.Helper()
	l, err := NewLab(LabOptions{Name: name})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	must(t, l.AddBridge("br0", ""))
	n, err := l.AddNode(NodeOptions{Name: node})
	must(t, err)
	must(t, l.Link(n, LinkOptions{Bridge: "br0", CIDR: cidr}))
	return l, n
}

// nsenterOut runs a command in namespace ns through nsenter(1) (the
// reference: iproute2 and ss read the kernel's state for us).
func nsenterOut(t *testing.T, ns *NS, argv ...string) string {
	t.Helper()
	args := append([]string{fmt.Sprintf("--net=/proc/%d/fd/%d", os.Getpid(), ns.Fd()), "--"}, argv...)
	out, err := exec.Command("nsenter", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter %v: %v\n%s", argv, err, out)
	}
	return string(out)
}

// Two simulated hosts, each a lab whose vxlan's UDP socket sits in the
// host's namespace: a node on one reaches a node on the other.
func TestLabPeerTwoHosts(t *testing.T) {
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("nsenter(1) not installed")
	}
	ha, hb := twoHosts(t)
	la, n1 := peerLab(t, "mhA", "n1", "10.77.0.1/24")
	lb, _ := peerLab(t, "mhB", "n2", "10.77.0.2/24")
	pa, err := la.Peer(PeerOptions{Remote: "192.168.77.2", VNI: 77, Underlay: ha})
	must(t, err)
	_, err = lb.Peer(PeerOptions{Remote: "192.168.77.1", Local: "192.168.77.2", VNI: 77, Underlay: hb})
	must(t, err)
	if pa.Name != "vx77" || pa.Local != "192.168.77.1" || pa.UnderlayDev != "ul" || pa.UnderlayMTU != 1500 || pa.MTU != 1450 || pa.Port != 4789 {
		t.Fatalf("peer info %+v", pa)
	}
	must(t, la.Wait(5*time.Second))
	must(t, lb.Wait(5*time.Second))
	if _, err := Ping(nodeNS(t, n1), "10.77.0.2", 1, 5*time.Second); err != nil {
		t.Fatalf("n1 (host A) -> n2 (host B) over vxlan: %v", err)
	}
	// The kernel's view: the device in the outer namespace, a port of br0,
	// its socket's namespace elsewhere (link-netns), UDP 4789 open in host A
	// and not in the lab's namespace; every lab link at the vxlan's MTU.
	vx, err := la.Outer().h.LinkByName("vx77")
	must(t, err)
	v, ok := vx.(*netlink.Vxlan)
	if !ok || v.VxlanId != 77 || !v.Group.Equal([]byte{192, 168, 77, 2}) || v.Port != 4789 || v.MTU != 1450 || v.NetNsID < 0 {
		t.Fatalf("vxlan as the kernel reports it: %+v", vx.Attrs())
	}
	d := nsenterOut(t, la.Outer(), "ip", "-d", "link", "show", "vx77")
	for _, want := range []string{"mtu 1450", "master br0", "link-netns", "vxlan id 77 remote 192.168.77.2 srcport", "dstport 4789"} {
		if !strings.Contains(d, want) {
			t.Errorf("ip -d link show vx77 lacks %q:\n%s", want, d)
		}
	}
	if d := nsenterOut(t, lb.Outer(), "ip", "-d", "link", "show", "vx77"); !strings.Contains(d, "vxlan id 77 remote 192.168.77.1 local 192.168.77.2 ") {
		t.Errorf("host B's vxlan lacks local:\n%s", d)
	}
	if s := nsenterOut(t, ha, "ss", "-uan"); !strings.Contains(s, ":4789") {
		t.Errorf("host A has no UDP socket on 4789:\n%s", s)
	}
	if s := nsenterOut(t, la.Outer(), "ss", "-uan"); strings.Contains(s, ":4789") {
		t.Errorf("the lab's outer namespace has the socket:\n%s", s)
	}
	for _, c := range []struct {
		ns   *NS
		link string
	}{{la.Outer(), "n1-br"}, {nodeNS(t, n1), "eth0"}} {
		li, err := c.ns.Link(c.link)
		must(t, err)
		if li.MTU != 1450 {
			t.Errorf("%s: mtu %d, want the vxlan's 1450", c.link, li.MTU)
		}
	}
	// A node linked later gets the MTU too.
	n3, err := la.AddNode(NodeOptions{Name: "n3"})
	must(t, err)
	must(t, la.Link(n3, LinkOptions{Bridge: "br0", CIDR: "10.77.0.3/24"}))
	if li, err := nodeNS(t, n3).Link("eth0"); err != nil || li.MTU != 1450 {
		t.Errorf("later link: %+v %v", li, err)
	}
	// Close deletes the vxlan at once: host A's port is free again.
	must(t, la.Close())
	if s := nsenterOut(t, ha, "ss", "-uan"); strings.Contains(s, ":4789") {
		t.Errorf("host A keeps UDP 4789 after the lab closed:\n%s", s)
	}
}

// Without an underlay address in the outer namespace, Peer says what is
// missing; bad options name themselves.
func TestLabPeerErrors(t *testing.T) {
	freshNet(t)
	l, _ := peerLab(t, "mhE", "n1", "10.77.0.1/24")
	_, err := l.Peer(PeerOptions{Remote: "192.168.77.2", VNI: 5})
	if err == nil || !strings.Contains(err.Error(), "ENETUNREACH") || !strings.Contains(err.Error(), "underlay address") {
		t.Fatalf("no underlay: %v", err)
	}
	for _, c := range []struct {
		o    PeerOptions
		want string
	}{
		{PeerOptions{Remote: "x", VNI: 1}, "remote:"},
		{PeerOptions{Remote: "224.0.0.1", VNI: 1}, "unicast"},
		{PeerOptions{Remote: "10.0.0.1", VNI: 0}, "vni:"},
		{PeerOptions{Remote: "10.0.0.1", VNI: 1 << 24}, "vni:"},
		{PeerOptions{Remote: "10.0.0.1", VNI: 1, Port: 70000}, "port:"},
		{PeerOptions{Remote: "10.0.0.1", VNI: 1, Local: "fd00::1"}, "both IPv4"},
		{PeerOptions{Remote: "10.0.0.1", VNI: 1, Bridge: "nope"}, "no bridge"},
		{PeerOptions{Remote: "10.0.0.1", VNI: 1, MTU: 10}, "mtu:"},
	} {
		if _, err := l.Peer(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}
