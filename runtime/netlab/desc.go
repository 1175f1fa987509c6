package netlab

import "net"

// LabDesc describes a lab as its user built it: the names and addresses
// given to bridges, nodes and links, in the order they were made. It is
// what a lab's DOT graph, view, hosts file and helpers are generated from;
// it holds no namespaces.
type LabDesc struct {
	Name    string
	Pinned  bool // the lab's namespaces are pinned under /run/netns
	Bridges []BridgeDesc
	Nodes   []NodeDesc
	Links   []LinkDesc
	Patches []PatchDesc // veth pairs between two bridges
}

// BridgeDesc is a bridge of the lab's hub and the address given to it ("" if none).
type BridgeDesc struct {
	Name, CIDR string
}

// NodeDesc is a node and its addresses (CIDR form), in the order linked.
type NodeDesc struct {
	Name  string
	Addrs []string
}

// LinkDesc is a veth pair joining Node to Bridge: IfName inside the node
// (holding CIDR, "" if none) and BrName in the hub, enslaved to the bridge.
// Type "macvlan" or "ipvlan" is instead a link inside the node whose
// parent is the bridge itself (BrName "").
type LinkDesc struct {
	Node, Bridge, IfName, BrName, CIDR string
	Type                               string // "" for veth
}

// FirstIP is the first address of cidrs (without its prefix) that parses,
// "" if none does.
func FirstIP(cidrs []string) string {
	for _, a := range cidrs {
		if ip, _, err := net.ParseCIDR(a); err == nil {
			return ip.String()
		}
	}
	return ""
}
