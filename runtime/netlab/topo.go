package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// Labs built from a description (LabSpec): bridges, patches between
// bridges, nodes with their links and routes, router nodes. The canned
// topologies of Mininet's --topo (single, linear, tree) and a routed star
// are generators of such descriptions (Topology); Lab.Build makes one in the
// order the kernel needs: bridges, patches, nodes and their links, then the
// routes (a gateway must be on a connected network before a route uses it).

// LabSpec describes the content of a lab.
type LabSpec struct {
	Bridges []BridgeDesc
	Patches []PatchDesc
	Nodes   []NodeSpec
}

// NodeSpec is a node (its options, Router included), its links to the
// lab's bridges in order, and its routes.
type NodeSpec struct {
	NodeOptions
	Links  []LinkSpec
	Routes []RouteSpec
}

// RouteSpec is a route of a node: Dst ("default", a CIDR or an IP) via a
// gateway and/or out of a device, as NS.AddRoute takes it.
type RouteSpec struct {
	Dst, Via, Dev string
}

// PatchDesc is a veth pair joining two bridges of the lab's hub (a patch
// cable between two switches): end AName is a port of bridge A, BName of B.
type PatchDesc struct {
	A, B, AName, BName string
}

// Check checks a description against the lab it is to be built in (nil:
// an empty lab): names unique and well formed, every link and patch on a
// bridge that exists, addresses and routes well formed. Its errors name the
// entry ("nodes[2] (h1): links[1]: ...").
func (s LabSpec) Check(l *Lab) error {
	bridges := map[string]bool{}
	if l != nil {
		for b := range l.bridges {
			bridges[b] = true
		}
	}
	for i, b := range s.Bridges {
		at := fmt.Sprintf("bridges[%d]", i+1)
		if err := CheckIfName(b.Name); err != nil {
			return fmt.Errorf("%s: %v", at, err)
		}
		if bridges[b.Name] {
			return fmt.Errorf("%s: bridge %q twice", at, b.Name)
		}
		if b.CIDR != "" {
			if err := CheckCIDR(b.CIDR); err != nil {
				return fmt.Errorf("%s (%s): %v", at, b.Name, err)
			}
		}
		bridges[b.Name] = true
	}
	for i, p := range s.Patches {
		at := fmt.Sprintf("patches[%d]", i+1)
		p, err := p.Complete()
		if err != nil {
			return fmt.Errorf("%s: %v", at, err)
		}
		for _, b := range []string{p.A, p.B} {
			if !bridges[b] {
				return fmt.Errorf("%s: no bridge %q (bridges: %s)", at, b, bridgeNames(bridges))
			}
		}
	}
	nodes := map[string]bool{}
	if l != nil {
		for n := range l.nodes {
			nodes[n] = true
		}
	}
	for i, n := range s.Nodes {
		at := fmt.Sprintf("nodes[%d]", i+1)
		if err := CheckName(n.Name); err != nil {
			return fmt.Errorf("%s: bad node name %v", at, err)
		}
		at += " (" + n.Name + ")"
		if nodes[n.Name] {
			return fmt.Errorf("%s: node %q twice", at, n.Name)
		}
		nodes[n.Name] = true
		if err := n.NodeOptions.Check(); err != nil {
			return fmt.Errorf("%s: %v", at, err)
		}
		ifnames := map[string]bool{}
		for j, lk := range n.Links {
			lat := fmt.Sprintf("%s: links[%d]", at, j+1)
			if !bridges[lk.Bridge] {
				return fmt.Errorf("%s: no bridge %q (bridges: %s)", lat, lk.Bridge, bridgeNames(bridges))
			}
			c, err := lk.Complete(n.Name)
			if err != nil {
				return fmt.Errorf("%s: %v", lat, err)
			}
			if ifnames[c.IfName] {
				return fmt.Errorf("%s: interface %q twice in the node (give ifname=)", lat, c.IfName)
			}
			ifnames[c.IfName] = true
		}
		for j, r := range n.Routes {
			rat := fmt.Sprintf("%s: routes[%d]", at, j+1)
			if err := CheckRouteDst(r.Dst); err != nil {
				return fmt.Errorf("%s: %v", rat, err)
			}
			if r.Via == "" && r.Dev == "" {
				return fmt.Errorf("%s: a route needs via= (a gateway) or dev= (a link)", rat)
			}
			if r.Via != "" && net.ParseIP(r.Via) == nil {
				return fmt.Errorf("%s: via %q: want an IP address", rat, r.Via)
			}
		}
	}
	return nil
}

// bridgeNames lists the names of a set of bridges, or says there are none.
func bridgeNames(m map[string]bool) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(m), ", ")
}

// Build makes what s describes in the lab, in the kernel's order: bridges,
// patches, each node with its links (a router gets forwarding on before
// its links come up), then every node's routes. It checks s first
// (Check); a failure half way leaves what was made to Close.
func (l *Lab) Build(s LabSpec) error {
	if l.closed {
		return errors.New("netlab: lab is closed")
	}
	if err := s.Check(l); err != nil {
		return err
	}
	for _, b := range s.Bridges {
		if err := l.AddBridge(b.Name, b.CIDR); err != nil {
			return fmt.Errorf("bridge %s: %w", b.Name, err)
		}
	}
	for _, p := range s.Patches {
		if err := l.Patch(p); err != nil {
			return err
		}
	}
	for _, ns := range s.Nodes {
		n, err := l.AddNode(ns.NodeOptions)
		if err != nil {
			return fmt.Errorf("node %s: %w", ns.Name, err)
		}
		for _, lk := range ns.Links {
			if err := l.LinkAs(n, lk); err != nil {
				return fmt.Errorf("node %s: link to %s: %w", ns.Name, lk.Bridge, err)
			}
		}
	}
	for _, ns := range s.Nodes {
		if err := l.Node(ns.Name).addRoutes(ns.Routes); err != nil {
			return fmt.Errorf("node %s: %w", ns.Name, err)
		}
	}
	return nil
}

// addRoutes adds routes to the node's main table (ip route add).
func (n *Node) addRoutes(rs []RouteSpec) error {
	ns, done, err := n.netNS()
	if err != nil {
		return err
	}
	defer done()
	for _, r := range rs {
		if err := ns.AddRoute(r.Dst, r.Via, r.Dev); err != nil {
			return err
		}
	}
	return nil
}

// waitRouters waits until no router node has a tentative IPv6 address
// (WaitDAD): before that it cannot forward IPv6.
func (l *Lab) waitRouters(deadline time.Time) error {
	for _, n := range l.order {
		if !n.router {
			continue
		}
		ns, done, err := n.netNS()
		if err != nil {
			return err
		}
		err = ns.WaitDAD(time.Until(deadline))
		done()
		if err != nil {
			return err
		}
	}
	return nil
}

// netNS is the node's network namespace for one operation (Node.Open,
// through its holder) and what releases it.
func (n *Node) netNS() (*NS, func(), error) {
	ns, err := n.Open()
	if err != nil {
		return nil, nil, err
	}
	return ns, func() { ns.Close() }, nil
}

// Complete fills in the default end names (A-B in bridge A, B-A in B) and
// checks them.
func (p PatchDesc) Complete() (PatchDesc, error) {
	if p.A == "" || p.B == "" {
		return p, errors.New("a patch joins two bridges: give both")
	}
	if p.A == p.B {
		return p, fmt.Errorf("a patch joins two different bridges, not %s to itself", p.A)
	}
	if p.AName == "" {
		p.AName = p.A + "-" + p.B
	}
	if p.BName == "" {
		p.BName = p.B + "-" + p.A
	}
	for _, n := range []string{p.AName, p.BName} {
		if err := CheckIfName(n); err != nil {
			return p, fmt.Errorf("%v (give the ends' names)", err)
		}
	}
	if p.AName == p.BName {
		return p, fmt.Errorf("the two ends need different names, not both %q", p.AName)
	}
	return p, nil
}

// Patch joins two bridges of the lab with a veth pair, each end created
// enslaved to its bridge and up (a patch cable between two switches: the
// bridges then forward between each other's ports). Two patches between
// the same bridges, or any loop, make a loop the bridges (STP off) will
// flood around forever: don't.
func (l *Lab) Patch(p PatchDesc) error {
	if l.closed {
		return errors.New("netlab: lab is closed")
	}
	p, err := p.Complete()
	if err != nil {
		return err
	}
	ia, oka := l.bridges[p.A]
	ib, okb := l.bridges[p.B]
	if !oka || !okb {
		return fmt.Errorf("netlab: lab %s has no bridge %q (make it first with AddBridge)", l.name, map[bool]string{true: p.B, false: p.A}[oka])
	}
	if err := l.outer.addVeth(p.AName, p.BName, nil, ia, true, nil, nil); err != nil {
		return err
	}
	l.hubLinks = append(l.hubLinks, p.AName)
	if !l.ownOuter {
		l.note("link", p.AName)
	}
	b, err := l.outer.byName(p.BName)
	if err != nil {
		return err
	}
	if err := l.outer.h.LinkSetMasterByIndex(b, ib); err != nil {
		return kerr.Newf(err, linkRules, "link set %s master %s", p.BName, p.B)
	}
	if err := l.outer.h.LinkSetUp(b); err != nil {
		return kerr.Newf(err, linkRules, "link set %s up", p.BName)
	}
	l.hubLinks = append(l.hubLinks, p.BName)
	l.patches = append(l.patches, p)
	return nil
}

// Patches lists the patches between bridges, as made.
func (l *Lab) Patches() []PatchDesc { return append([]PatchDesc(nil), l.patches...) }

// forwardingSysctls turn a namespace into a router: IPv4 forwarding, and
// IPv6 forwarding on every link (conf/all/forwarding sets each link's).
var forwardingSysctls = []string{"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"}

// SetForwarding turns IP forwarding on or off in ns alone: a thread
// inside ns writes /proc/sys/net/ipv4/ip_forward and
// /proc/sys/net/ipv6/conf/all/forwarding (files under /proc/sys/net are the
// writer's network namespace's). A namespace without IPv6 skips the second.
func (ns *NS) SetForwarding(on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	return ns.Do(func() error {
		for _, k := range forwardingSysctls {
			err := writeSysctl(k, v)
			if err != nil && strings.HasPrefix(k, "net.ipv6") && errors.Is(err, unix.ENOENT) {
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Sysctl reads /proc/sys/KEY (dots or slashes) as seen from inside ns.
func (ns *NS) Sysctl(key string) (string, error) {
	var out string
	err := ns.Do(func() (err error) {
		out, err = readSysctl(key)
		return err
	})
	return out, err
}

// ---- canned topologies ----

// TopoKinds are the canned topologies, as Mininet's --topo names them
// (star is nsh's: a router at the centre).
var TopoKinds = []string{"single", "linear", "tree", "star"}

// TopoParams are a canned topology's sizes: N hosts (single, star) or
// switches (linear) and Hosts per switch (linear; 0 means 1); Depth and
// Fanout (tree).
type TopoParams struct {
	N, Hosts, Depth, Fanout int
}

// TopoSizes are the sizes the canned topology kind takes (nil for an
// unknown kind).
func TopoSizes(kind string) []string {
	switch kind {
	case "single", "star":
		return []string{"n"}
	case "linear":
		return []string{"n", "hosts"}
	case "tree":
		return []string{"depth", "fanout"}
	}
	return nil
}

// MaxTopoHosts bounds the hosts of a canned topology.
const MaxTopoHosts = 1000

// Topology describes a canned topology, named and addressed as Mininet
// does (switches s1.., hosts h1.. with 10.0.0.1/8, 10.0.0.2/8, ... in
// order):
//
//	single  N hosts on one switch (bridge)
//	linear  N switches in a chain, patched s1-s2-..., host hI on switch sI
//	        (Hosts > 1 per switch: hJsI, as Mininet's LinearTopo names them)
//	tree    a tree of switches Depth levels deep, Fanout children each,
//	        hosts at the leaves (Fanout^Depth of them), numbered as
//	        Mininet's TreeTopo does (depth first)
//	star    a router r1 at the centre and N hosts around it, each on a
//	        switch and subnet of its own: hI is 10.0.I.2/24 with a default
//	        route via r1's 10.0.I.1 (layer 3; single is the layer-2 star)
func Topology(kind string, p TopoParams) (LabSpec, error) {
	var s LabSpec
	switch kind {
	case "single", "linear", "star":
		if p.N < 1 || p.N > MaxTopoHosts {
			return s, fmt.Errorf("%s needs n (hosts) between 1 and %d, got %d", kind, MaxTopoHosts, p.N)
		}
		if kind == "linear" && (p.Hosts < 0 || p.N*max(p.Hosts, 1) > MaxTopoHosts) {
			return s, fmt.Errorf("linear of %d switches with %d hosts each has more than %d hosts", p.N, p.Hosts, MaxTopoHosts)
		}
		if kind == "star" && p.N > 254 {
			return s, fmt.Errorf("star has at most 254 hosts (one 10.0.I.0/24 subnet each), got %d", p.N)
		}
	case "tree":
		if p.Depth < 1 || p.Fanout < 1 {
			return s, fmt.Errorf("tree needs depth >= 1 and fanout >= 1, got depth %d, fanout %d", p.Depth, p.Fanout)
		}
		hosts := 1
		for i := 0; i < p.Depth; i++ {
			if hosts *= p.Fanout; hosts > MaxTopoHosts {
				return s, fmt.Errorf("tree of depth %d and fanout %d has more than %d hosts", p.Depth, p.Fanout, MaxTopoHosts)
			}
		}
	default:
		return s, fmt.Errorf("unknown topology %q (valid: %s)", kind, strings.Join(TopoKinds, ", "))
	}
	hostNum, hostName := 0, ""
	addHost := func(bridge string) {
		hostNum++
		name := "h" + strconv.Itoa(hostNum)
		if hostName != "" {
			name = hostName
		}
		s.Nodes = append(s.Nodes, NodeSpec{NodeOptions: NodeOptions{Name: name},
			Links: []LinkSpec{{LinkOptions: LinkOptions{Bridge: bridge, CIDR: hostCIDR(hostNum)}}}})
	}
	addSwitch := func(i int) string {
		name := "s" + strconv.Itoa(i)
		s.Bridges = append(s.Bridges, BridgeDesc{Name: name})
		return name
	}
	switch kind {
	case "single":
		sw := addSwitch(1)
		for i := 0; i < p.N; i++ {
			addHost(sw)
		}
	case "linear":
		for i := 1; i <= p.N; i++ {
			sw := addSwitch(i)
			for j := 1; j <= max(p.Hosts, 1); j++ {
				if p.Hosts > 1 { // Mininet's LinearTopo names them hJsI
					hostName = fmt.Sprintf("h%ds%d", j, i)
				}
				addHost(sw)
			}
			if i > 1 {
				s.Patches = append(s.Patches, PatchDesc{A: "s" + strconv.Itoa(i-1), B: sw})
			}
		}
	case "tree":
		switchNum := 0
		var addTree func(depth int) (string, bool)
		addTree = func(depth int) (string, bool) {
			if depth == 0 {
				return "", false
			}
			switchNum++
			sw := addSwitch(switchNum)
			for i := 0; i < p.Fanout; i++ {
				if child, isSwitch := addTree(depth - 1); isSwitch {
					s.Patches = append(s.Patches, PatchDesc{A: sw, B: child})
				} else {
					addHost(sw)
				}
			}
			return sw, true
		}
		addTree(p.Depth)
	case "star":
		r := NodeSpec{NodeOptions: NodeOptions{Name: "r1", Router: true}}
		for i := 1; i <= p.N; i++ {
			sw := addSwitch(i)
			ifname := "eth" + strconv.Itoa(i)
			r.Links = append(r.Links, LinkSpec{LinkOptions: LinkOptions{Bridge: sw, IfName: ifname, BrName: "r1-" + ifname, CIDR: fmt.Sprintf("10.0.%d.1/24", i)}})
		}
		s.Nodes = append(s.Nodes, r)
		for i := 1; i <= p.N; i++ {
			name := "h" + strconv.Itoa(i)
			s.Nodes = append(s.Nodes, NodeSpec{NodeOptions: NodeOptions{Name: name},
				Links:  []LinkSpec{{LinkOptions: LinkOptions{Bridge: "s" + strconv.Itoa(i), CIDR: fmt.Sprintf("10.0.%d.2/24", i)}}},
				Routes: []RouteSpec{{Dst: "default", Via: fmt.Sprintf("10.0.%d.1", i)}}})
		}
	}
	return s, nil
}

// hostCIDR is Mininet's address of host i: 10.0.0.0/8 plus i.
func hostCIDR(i int) string {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, 10<<24+uint32(i))
	return ip.String() + "/8"
}

// ParseTopo reads a topology as Mininet's --topo writes it: "single,3",
// "linear,4" (or "linear,4,2", "linear,k=4,n=2": 2 hosts per switch),
// "tree,2,3" or "tree,depth=2,fanout=3", "star,4".
func ParseTopo(spec string) (string, TopoParams, error) {
	parts := strings.Split(spec, ",")
	kind := parts[0]
	var p TopoParams
	// positional and named as Mininet's topologies take them:
	// SingleSwitchTopo(k), LinearTopo(k, n: hosts per switch),
	// TreeTopo(depth, fanout); n also names single's and star's count
	pos := map[string][]*int{"single": {&p.N}, "linear": {&p.N, &p.Hosts}, "star": {&p.N}, "tree": {&p.Depth, &p.Fanout}}
	named := map[string]map[string]*int{"single": {"k": &p.N, "n": &p.N}, "linear": {"k": &p.N, "n": &p.Hosts}, "star": {"n": &p.N},
		"tree": {"depth": &p.Depth, "fanout": &p.Fanout}}
	slots, ok := pos[kind]
	if !ok {
		return "", p, fmt.Errorf("unknown topology %q (valid: %s; e.g. tree,2,3)", kind, strings.Join(TopoKinds, ", "))
	}
	// Mininet's defaults: 2 hosts (SingleSwitchTopo k=2), 2 switches
	// (LinearTopo k=2), depth 1 and fanout 2 (TreeTopo).
	p = TopoParams{N: 2, Depth: 1, Fanout: 2}
	for i, a := range parts[1:] {
		key, val, isNamed := strings.Cut(a, "=")
		var slot *int
		if isNamed {
			if slot = named[kind][key]; slot == nil {
				return "", p, fmt.Errorf("topology %s has no parameter %q", kind, key)
			}
		} else {
			if i >= len(slots) {
				return "", p, fmt.Errorf("topology %s takes at most %d numbers: %q", kind, len(slots), spec)
			}
			slot, val = slots[i], key
		}
		v, err := strconv.Atoi(val)
		if err != nil {
			return "", p, fmt.Errorf("topology %s: %q is not a whole number", kind, val)
		}
		*slot = v
	}
	return kind, p, nil
}
