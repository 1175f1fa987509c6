package netlab

import (
	"fmt"
	"net"
	"strings"
)

// Lab links other than veth pairs: a macvlan or ipvlan link whose parent is
// the lab's bridge (in the hub), created directly inside the node
// (IFLA_NET_NS_FD), as a container's macvlan sits on its host's NIC. The
// node's links on one bridge are then siblings on one parent: in bridge
// mode the parent delivers between them itself; to the bridge's veth ports
// their frames go out through the bridge like the bridge's own.

// LinkTypes are the types Lab.Link makes, the default first.
var LinkTypes = []string{"veth", "macvlan", "ipvlan"}

// LinkSpec is a link of a node to a bridge of the lab and its type: "veth"
// (or "") as Lab.Link makes it, "macvlan" or "ipvlan" with its Mode.
type LinkSpec struct {
	LinkOptions
	Type string
	Mode string // LowerOptions.Mode
}

// Complete is LinkOptions.Complete plus the type and mode checked; a
// macvlan or ipvlan link has no hub end (BrName "").
func (s LinkSpec) Complete(node string) (LinkSpec, error) {
	o, err := s.LinkOptions.Complete(node)
	if err != nil {
		return s, err
	}
	if err := s.checkType(); err != nil {
		return s, err
	}
	if s.Type != "" && s.Type != "veth" {
		if s.BrName != "" {
			return s, fmt.Errorf("a %s link has no hub end to name: its parent is the bridge itself (drop brname)", s.Type)
		}
		o.BrName = ""
	}
	s.LinkOptions = o
	return s, nil
}

// LinkAs joins node to a bridge with a link of type s.Type: a veth pair
// (Lab.Link), or a macvlan/ipvlan link on the bridge created inside the
// node, holding s.CIDR, up.
func (l *Lab) LinkAs(node *Node, s LinkSpec) error {
	if s.Type == "" || s.Type == "veth" {
		if s.Mode != "" {
			return fmt.Errorf("netlab: mode is for macvlan and ipvlan links, not veth")
		}
		return l.Link(node, s.LinkOptions)
	}
	if l.closed {
		return fmt.Errorf("netlab: lab is closed")
	}
	if node == nil || node.lab != l {
		return fmt.Errorf("netlab: LinkAs needs a node of this lab")
	}
	s, err := s.Complete(node.Name)
	if err != nil {
		return err
	}
	if _, ok := l.bridges[s.Bridge]; !ok {
		return fmt.Errorf("netlab: lab %s has no bridge %q (make it first with AddBridge)", l.name, s.Bridge)
	}
	var ipn *net.IPNet
	if s.CIDR != "" {
		if ipn, err = parseCIDR(s.CIDR); err != nil {
			return err
		}
	}
	into, done, err := node.openNS()
	if err != nil {
		return err
	}
	defer done()
	lo := LowerOptions{Mode: s.Mode, NetNS: into}
	if s.Type == "ipvlan" {
		err = l.outer.AddIPVlan(s.IfName, s.Bridge, lo)
	} else {
		err = l.outer.AddMacvlan(s.IfName, s.Bridge, lo)
	}
	if err != nil {
		return err
	}
	return l.linked(node, s.LinkOptions, ipn, s.Type)
}

func (s LinkSpec) checkType() error {
	switch s.Type {
	case "", "veth":
		if s.Mode != "" {
			return fmt.Errorf("mode is for macvlan and ipvlan links, not veth")
		}
	case "macvlan":
		return checkMode(s.Mode, MacvlanModes, "macvlan")
	case "ipvlan":
		return checkMode(s.Mode, IPVlanModes, "ipvlan")
	default:
		return fmt.Errorf("unknown link type %q (valid: %s)", s.Type, strings.Join(LinkTypes, ", "))
	}
	return nil
}

func checkMode(m string, valid []string, kind string) error {
	if m == "" {
		return nil
	}
	for _, v := range valid {
		if m == v {
			return nil
		}
	}
	return fmt.Errorf("bad %s mode %q (valid: %s)", kind, m, strings.Join(valid, ", "))
}
