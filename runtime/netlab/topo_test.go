package netlab

import (
	"context"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTopologyShapes(t *testing.T) {
	for _, c := range []struct {
		kind              string
		p                 TopoParams
		nodes, br, patchs int
		first, last       string // first and last node's first address
	}{
		{"single", TopoParams{N: 3}, 3, 1, 0, "10.0.0.1/8", "10.0.0.3/8"},
		{"linear", TopoParams{N: 4}, 4, 4, 3, "10.0.0.1/8", "10.0.0.4/8"},
		{"tree", TopoParams{Depth: 2, Fanout: 3}, 9, 4, 3, "10.0.0.1/8", "10.0.0.9/8"},
		{"tree", TopoParams{Depth: 3, Fanout: 2}, 8, 7, 6, "10.0.0.1/8", "10.0.0.8/8"},
		{"star", TopoParams{N: 3}, 4, 3, 0, "10.0.1.1/24", "10.0.3.2/24"},
		{"single", TopoParams{N: 300}, 300, 1, 0, "10.0.0.1/8", "10.0.1.44/8"},
		{"linear", TopoParams{N: 3, Hosts: 2}, 6, 3, 2, "10.0.0.1/8", "10.0.0.6/8"},
	} {
		s, err := Topology(c.kind, c.p)
		must(t, err)
		if len(s.Nodes) != c.nodes || len(s.Bridges) != c.br || len(s.Patches) != c.patchs {
			t.Fatalf("%s %+v: %d nodes, %d bridges, %d patches", c.kind, c.p, len(s.Nodes), len(s.Bridges), len(s.Patches))
		}
		if a, b := s.Nodes[0].Links[0].CIDR, s.Nodes[len(s.Nodes)-1].Links[0].CIDR; a != c.first || b != c.last {
			t.Fatalf("%s: addresses %s .. %s", c.kind, a, b)
		}
		must(t, s.Check(nil))
	}
	// Mininet's TreeTopo numbering: depth first, s1 the root.
	s, _ := Topology("tree", TopoParams{Depth: 2, Fanout: 2})
	if want := []PatchDesc{{A: "s1", B: "s2"}, {A: "s1", B: "s3"}}; !reflect.DeepEqual(s.Patches, want) {
		t.Fatalf("tree patches %+v", s.Patches)
	}
	if s.Nodes[2].Name != "h3" || s.Nodes[2].Links[0].Bridge != "s3" {
		t.Fatalf("h3 on %s", s.Nodes[2].Links[0].Bridge)
	}
	lin, _ := Topology("linear", TopoParams{N: 2, Hosts: 2})
	if names := []string{lin.Nodes[0].Name, lin.Nodes[1].Name, lin.Nodes[2].Name}; names[0] != "h1s1" || names[1] != "h2s1" || names[2] != "h1s2" || lin.Nodes[2].Links[0].Bridge != "s2" {
		t.Fatalf("linear,2,2: %v", names)
	}
	star, _ := Topology("star", TopoParams{N: 2})
	if !star.Nodes[0].Router || star.Nodes[1].Routes[0] != (RouteSpec{Dst: "default", Via: "10.0.1.1"}) {
		t.Fatalf("star: %+v", star.Nodes[:2])
	}
	for _, bad := range []struct {
		kind string
		p    TopoParams
		want string
	}{
		{"ring", TopoParams{N: 3}, "unknown topology"},
		{"single", TopoParams{}, "between 1 and"},
		{"tree", TopoParams{Depth: 2}, "fanout >= 1"},
		{"tree", TopoParams{Depth: 10, Fanout: 3}, "more than 1000 hosts"},
		{"star", TopoParams{N: 255}, "at most 254"},
	} {
		if _, err := Topology(bad.kind, bad.p); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Fatalf("%s %+v: %v, want %q", bad.kind, bad.p, err, bad.want)
		}
	}
}

func TestParseTopo(t *testing.T) {
	for in, want := range map[string]TopoParams{
		"single,3": {N: 3, Depth: 1, Fanout: 2}, "linear": {N: 2, Depth: 1, Fanout: 2}, "tree": {N: 2, Depth: 1, Fanout: 2},
		"tree,2,3": {N: 2, Depth: 2, Fanout: 3}, "tree,depth=3,fanout=2": {N: 2, Depth: 3, Fanout: 2},
		"tree,fanout=4": {N: 2, Depth: 1, Fanout: 4}, "star,5": {N: 5, Depth: 1, Fanout: 2},
		"linear,4,2": {N: 4, Hosts: 2, Depth: 1, Fanout: 2}, "linear,k=3,n=2": {N: 3, Hosts: 2, Depth: 1, Fanout: 2},
	} {
		_, p, err := ParseTopo(in)
		if err != nil || p != want {
			t.Fatalf("%q: %+v %v", in, p, err)
		}
	}
	for in, want := range map[string]string{"ring,3": "unknown topology", "single,x": "not a whole number",
		"tree,1,2,3": "at most 2 numbers", "single,depth=2": "no parameter", "linear,1,2,3": "at most 2 numbers"} {
		if _, _, err := ParseTopo(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestSpecCheck(t *testing.T) {
	ok := LabSpec{Bridges: []BridgeDesc{{Name: "lan1"}}, Nodes: []NodeSpec{{NodeOptions: NodeOptions{Name: "h1"},
		Links: []LinkSpec{{LinkOptions: LinkOptions{Bridge: "lan1", CIDR: "10.0.1.2/24"}}}}}}
	must(t, ok.Check(nil))
	for want, mod := range map[string]func(s *LabSpec){
		`nodes[1] (h1): links[1]: no bridge "lan2" (bridges: lan1)`: func(s *LabSpec) { s.Nodes[0].Links[0].Bridge = "lan2" },
		`nodes[2] (h1): node "h1" twice`:                            func(s *LabSpec) { s.Nodes = append(s.Nodes, s.Nodes[0]) },
		`bridges[2]: bridge "lan1" twice`:                           func(s *LabSpec) { s.Bridges = append(s.Bridges, s.Bridges[0]) },
		`patches[1]: a patch joins two different bridges`:           func(s *LabSpec) { s.Patches = []PatchDesc{{A: "lan1", B: "lan1"}} },
		`routes[1]: a route needs via=`:                             func(s *LabSpec) { s.Nodes[0].Routes = []RouteSpec{{Dst: "default"}} },
		`links[1]: bad address "10.0.1.2"`:                          func(s *LabSpec) { s.Nodes[0].Links[0].CIDR = "10.0.1.2" },
		`links[1]: unknown link type "gre"`:                         func(s *LabSpec) { s.Nodes[0].Links[0].Type = "gre" },
		`links[1]: bad macvlan mode "l2"`: func(s *LabSpec) {
			s.Nodes[0].Links[0].Type, s.Nodes[0].Links[0].Mode = "macvlan", "l2"
		},
	} {
		s := ok
		s.Bridges = append([]BridgeDesc(nil), ok.Bridges...)
		s.Nodes = []NodeSpec{ok.Nodes[0]}
		s.Nodes[0].Links = append([]LinkSpec(nil), ok.Nodes[0].Links...)
		mod(&s)
		if err := s.Check(nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want %q", err, want)
		}
	}
}

// nsIP runs ip(8) inside a node's network namespace (nsenter --net=PATH).
func nsIP(t *testing.T, n *Node, args ...string) string {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"--net=" + n.Path(), "ip"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v in %s: %v %s", args, n.Name, err, out)
	}
	return string(out)
}

func TestTopologiesPingall(t *testing.T) {
	freshNet(t)
	needTools(t, "ip", "nsenter")
	before := hostLinks(t)
	for _, c := range []struct {
		kind string
		p    TopoParams
	}{{"single", TopoParams{N: 3}}, {"linear", TopoParams{N: 3}}, {"tree", TopoParams{Depth: 2, Fanout: 2}}, {"star", TopoParams{N: 3}}} {
		t.Run(c.kind, func(t *testing.T) {
			s, err := Topology(c.kind, c.p)
			must(t, err)
			l, err := NewLab(LabOptions{Name: "nshtopo"})
			must(t, err)
			defer l.Close()
			must(t, l.Build(s))
			must(t, l.Wait(10*time.Second))
			r, err := l.PingAllContext(context.Background(), PingAllOptions{Timeout: 2 * time.Second})
			must(t, err)
			if len(r.Failed) > 0 || r.OK != len(s.Nodes)*(len(s.Nodes)-1) {
				t.Fatalf("pingall: %d ok, failed %v", r.OK, r.Failed)
			}
			// the kernel's view: h1's eth0 holds its address, its hub end is a
			// port of its switch, the switches are patched
			h1 := l.Node("h1")
			if out := nsIP(t, h1, "-o", "addr", "show", "dev", "eth0"); !strings.Contains(out, s.Nodes[nodeIndex(s, "h1")].Links[0].CIDR) {
				t.Fatalf("h1 eth0: %s", out)
			}
			outer, err := l.Outer().Links()
			must(t, err)
			masters := map[string]string{}
			for _, lk := range outer {
				masters[lk.Name] = lk.Master
			}
			for _, p := range s.Patches {
				if masters[p.A+"-"+p.B] != p.A || masters[p.B+"-"+p.A] != p.B {
					t.Fatalf("patch %s-%s: masters %v", p.A, p.B, masters)
				}
			}
			if c.kind == "star" {
				if v, _ := nodeNS(t, l.Node("r1")).Sysctl("net.ipv4.ip_forward"); v != "1" {
					t.Fatalf("r1 ip_forward = %q", v)
				}
				if out := nsIP(t, h1, "route", "get", "10.0.3.2"); !strings.Contains(out, "via 10.0.1.1 dev eth0") {
					t.Fatalf("h1 route get: %s", out)
				}
			}
		})
	}
	if after := hostLinks(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("links of the test's own namespace changed: %v -> %v", before, after)
	}
}

func nodeIndex(s LabSpec, name string) int {
	for i, n := range s.Nodes {
		if n.Name == name {
			return i
		}
	}
	return -1
}

// twoSubnets is h1 (10.0.1.10) - lan1 - r1 - lan2 - h2 (10.0.2.10).
func twoSubnets() LabSpec {
	return LabSpec{Bridges: []BridgeDesc{{Name: "lan1"}, {Name: "lan2"}}, Nodes: []NodeSpec{
		{NodeOptions: NodeOptions{Name: "h1"}, Links: []LinkSpec{{LinkOptions: LinkOptions{Bridge: "lan1", CIDR: "10.0.1.10/24"}}},
			Routes: []RouteSpec{{Dst: "default", Via: "10.0.1.1"}}},
		{NodeOptions: NodeOptions{Name: "r1", Router: true}, Links: []LinkSpec{
			{LinkOptions: LinkOptions{Bridge: "lan1", IfName: "eth0", BrName: "r1-eth0", CIDR: "10.0.1.1/24"}},
			{LinkOptions: LinkOptions{Bridge: "lan2", IfName: "eth1", BrName: "r1-eth1", CIDR: "10.0.2.1/24"}}}},
		{NodeOptions: NodeOptions{Name: "h2"}, Links: []LinkSpec{{LinkOptions: LinkOptions{Bridge: "lan2", CIDR: "10.0.2.10/24"}}},
			Routes: []RouteSpec{{Dst: "10.0.1.0/24", Via: "10.0.2.1"}}},
	}}
}

func TestRouterForwardsBetweenSubnets(t *testing.T) {
	me := freshNet(t)
	needTools(t, "ip", "nsenter")
	mine, err := me.Sysctl("net.ipv4.ip_forward")
	must(t, err)
	l, err := NewLab(LabOptions{Name: "nshrouted"})
	must(t, err)
	defer l.Close()
	must(t, l.Build(twoSubnets()))
	must(t, l.Wait(10*time.Second))
	h1, r1, h2 := l.Node("h1"), l.Node("r1"), l.Node("h2")
	// forwarding is on in r1 only: read through /proc/sys by a process inside each
	for n, want := range map[*Node]string{r1: "1", h1: "0", h2: "0"} {
		out, err := exec.Command("nsenter", "--net="+n.Path(), "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding").CombinedOutput()
		if err != nil || strings.Fields(string(out))[0] != want || strings.Fields(string(out))[1] != want {
			t.Fatalf("%s: ip_forward, ipv6 forwarding = %q, want %s: %v", n.Name, out, want, err)
		}
	}
	if now, _ := me.Sysctl("net.ipv4.ip_forward"); now != mine {
		t.Fatalf("the test's own namespace's ip_forward changed: %s -> %s", mine, now)
	}
	if _, err := nodeNS(t, h1).Ping("10.0.2.10", 2, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if out := nsIP(t, h1, "route", "get", "10.0.2.10"); !strings.Contains(out, "via 10.0.1.1 dev eth0") {
		t.Fatalf("h1: ip route get 10.0.2.10: %s", out)
	}
	hops, err := nodeNS(t, h1).Trace("10.0.2.10", 5, 2*time.Second)
	must(t, err)
	if len(hops) != 2 || hops[0].Addr != "10.0.1.1" || hops[0].Reached || hops[1].Addr != "10.0.2.10" || !hops[1].Reached {
		t.Fatalf("trace: %+v", hops)
	}
	if hops[1].ReplyTTL != 63 || hops[0].ReplyTTL != 64 {
		t.Fatalf("reply TTLs: r1's %d (want 64), h2's %d (want 63: r1 decremented it)", hops[0].ReplyTTL, hops[1].ReplyTTL)
	}
	// without forwarding r1 drops what is not its own
	must(t, nodeNS(t, r1).SetForwarding(false))
	if _, err := nodeNS(t, h1).Ping("10.0.2.10", 1, 300*time.Millisecond); err == nil {
		t.Fatal("h1 reached h2 with r1's forwarding off")
	}
	if _, err := nodeNS(t, h1).Ping("10.0.2.1", 1, 2*time.Second); err != nil {
		t.Fatalf("r1's own far address is still reachable (a host answers for all its addresses): %v", err)
	}
}

func TestLinkKinds(t *testing.T) {
	freshNet(t)
	needTools(t, "ip", "nsenter")
	before := hostLinks(t)
	l, err := NewLab(LabOptions{Name: "nshkinds"})
	must(t, err)
	defer l.Close()
	must(t, l.AddBridge("br0", ""))
	a, err := l.AddNode(NodeOptions{Name: "a"})
	must(t, err)
	b, err := l.AddNode(NodeOptions{Name: "b"})
	must(t, err)
	c, err := l.AddNode(NodeOptions{Name: "c"})
	must(t, err)
	// a and b: macvlans on br0 (siblings); c: a veth port of br0
	if val, _, _ := KernelConfig("CONFIG_MACVLAN"); val != "y" && val != "m" {
		t.Skip("no macvlan in this kernel")
	}
	must(t, l.LinkAs(a, LinkSpec{LinkOptions: LinkOptions{Bridge: "br0", CIDR: "10.1.0.1/24"}, Type: "macvlan"}))
	must(t, l.LinkAs(b, LinkSpec{LinkOptions: LinkOptions{Bridge: "br0", CIDR: "10.1.0.2/24"}, Type: "macvlan", Mode: "bridge"}))
	must(t, l.Link(c, LinkOptions{Bridge: "br0", CIDR: "10.1.0.3/24"}))
	must(t, l.Wait(10*time.Second))
	if out := nsIP(t, a, "-d", "link", "show", "eth0"); !strings.Contains(out, "macvlan mode bridge") || !strings.Contains(out, "link-netns") {
		t.Fatalf("a eth0: %s", out)
	}
	for _, p := range [][2]*Node{{a, b}, {a, c}, {c, b}} {
		if _, err := nodeNS(t, p[0]).Ping(p[1].IP(), 1, 2*time.Second); err != nil {
			t.Fatalf("%s -> %s: %v", p[0].Name, p[1].Name, err)
		}
	}
	if err := l.LinkAs(a, LinkSpec{LinkOptions: LinkOptions{Bridge: "br0", IfName: "eth1", BrName: "x"}, Type: "macvlan"}); err == nil || !strings.Contains(err.Error(), "drop brname") {
		t.Fatalf("macvlan with brname: %v", err)
	}
	// vxlan: a and c tunnel Ethernet over UDP across br0, 192.168.9.0/24 inside
	must(t, nodeNS(t, a).AddVxlan("vx0", VxlanOptions{VNI: 42, Remote: "10.1.0.3", Dev: "eth0", Up: true}))
	must(t, nodeNS(t, c).AddVxlan("vx0", VxlanOptions{VNI: 42, Remote: "10.1.0.1", Dev: "eth0", Up: true}))
	must(t, nodeNS(t, a).AddAddr("vx0", "192.168.9.1/24", true))
	must(t, nodeNS(t, c).AddAddr("vx0", "192.168.9.3/24", true))
	if out := nsIP(t, a, "-d", "link", "show", "vx0"); !strings.Contains(out, "vxlan id 42 remote 10.1.0.3 dev eth0") || !strings.Contains(out, "dstport 4789") {
		t.Fatalf("a vx0: %s", out)
	}
	if _, err := nodeNS(t, a).Ping("192.168.9.3", 2, 2*time.Second); err != nil {
		t.Fatalf("over vxlan: %v", err)
	}
	// tap: persistent, inside the node
	must(t, nodeNS(t, b).AddTap("tap0", TapOptions{Owner: -1, Group: -1, Up: true}))
	if out := nsIP(t, b, "-d", "link", "show", "tap0"); !strings.Contains(out, "tun type tap") || !strings.Contains(out, "persist on") {
		t.Fatalf("b tap0: %s", out)
	}
	must(t, nodeNS(t, b).AddTap("tun0", TapOptions{Tun: true, Owner: 65534, Group: -1}))
	if out := nsIP(t, b, "-d", "link", "show", "tun0"); !strings.Contains(out, "tun type tun") || !(strings.Contains(out, "user 65534") || strings.Contains(out, "user nobody")) {
		t.Fatalf("b tun0: %s", out)
	}
	// what this kernel lacks fails with the option that would add it
	for kind, add := range map[string]func() error{
		"dummy":  func() error { return nodeNS(t, c).AddDummy("d0", true) },
		"ipvlan": func() error { return l.Outer().AddIPVlan("iv0", "br0", LowerOptions{NetNS: nodeNS(t, c)}) },
		"vlan":   func() error { return nodeNS(t, c).AddVlan("eth0.10", "eth0", 10, LowerOptions{}) },
	} {
		val, from, cerr := KernelConfig(KindConfig(kind))
		err := add()
		switch {
		case cerr != nil:
			t.Logf("%s: no kernel config to compare (%v): %v", kind, cerr, err)
		case val == "" && (err == nil || !strings.Contains(err.Error(), "ENOTSUP") || !strings.Contains(err.Error(), KindConfig(kind)+" is not set ("+from+")")):
			t.Fatalf("%s (not in this kernel): %v", kind, err)
		case val == "y" && err != nil:
			t.Fatalf("%s (in this kernel): %v", kind, err)
		default:
			t.Logf("%s: %s=%q: %v", kind, KindConfig(kind), val, err)
		}
	}
	if after := hostLinks(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("links of the test's own namespace changed: %v -> %v", before, after)
	}
	if d := l.Desc(); d.Links[0].Type != "macvlan" || d.Links[0].BrName != "" || !strings.Contains(d.Dot(), `"br:br0" -- "node:a" [label="macvlan eth0"]`) {
		t.Fatalf("desc: %+v\n%s", d.Links[0], d.Dot())
	}
}

// IPv6 through the same router: conf/all/forwarding=1 forwards it, the
// hop limit goes down by one, and off again it does not.
func TestRouterForwardsIPv6(t *testing.T) {
	freshNet(t)
	l, err := NewLab(LabOptions{Name: "nshrouted6"})
	must(t, err)
	defer l.Close()
	s := twoSubnets()
	s.Nodes[0].Links[0].CIDR, s.Nodes[0].Routes = "fd00:1::10/64", []RouteSpec{{Dst: "default", Via: "fd00:1::1"}}
	s.Nodes[1].Links[0].CIDR, s.Nodes[1].Links[1].CIDR = "fd00:1::1/64", "fd00:2::1/64"
	s.Nodes[2].Links[0].CIDR, s.Nodes[2].Routes = "fd00:2::10/64", []RouteSpec{{Dst: "default", Via: "fd00:2::1"}}
	must(t, l.Build(s))
	h1, r1 := l.Node("h1"), l.Node("r1")
	// the kernel's own link-local addresses start in DAD (lab addresses are nodad)
	if tent, err := nodeNS(t, r1).tentativeAddrs(); err != nil || len(tent) == 0 || !strings.HasPrefix(tent[0], "fe80::") {
		t.Fatalf("r1 right after its links: tentative %v %v", tent, err)
	}
	start := time.Now()
	must(t, l.Wait(10*time.Second))
	if tent, _ := nodeNS(t, r1).tentativeAddrs(); len(tent) > 0 {
		t.Fatalf("Wait returned with r1's %v tentative", tent)
	}
	t.Logf("Wait, DAD of r1's link-local addresses included: %v", time.Since(start).Round(time.Millisecond))
	hops, err := nodeNS(t, h1).Trace("fd00:2::10", 5, 2*time.Second)
	must(t, err)
	if len(hops) != 2 || hops[0].Addr != "fd00:1::1" || hops[1].Addr != "fd00:2::10" || !hops[1].Reached {
		t.Fatalf("trace6: %+v", hops)
	}
	if hops[0].ReplyTTL != 64 || hops[1].ReplyTTL != 63 {
		t.Fatalf("hop limits: r1's %d (want 64), h2's %d (want 63)", hops[0].ReplyTTL, hops[1].ReplyTTL)
	}
	must(t, nodeNS(t, r1).SetForwarding(false))
	if _, err := nodeNS(t, h1).Ping("fd00:2::10", 1, 300*time.Millisecond); err == nil {
		t.Fatal("h1 reached h2 over IPv6 with r1's forwarding off")
	}
}
