package netlab

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// linkRules explains the errnos rtnetlink link requests return most often.
var linkRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "changing links needs CAP_NET_ADMIN in the user namespace that owns the network namespace"},
	{Errno: unix.EEXIST, Rule: "a link with that name already exists in the namespace"},
	{Errno: unix.ENODEV, Rule: "no link with that name or index in the namespace"},
	{Errno: unix.EINVAL, Rule: "the kernel rejected an attribute (name longer than 15 bytes, bad MTU, unknown kind)"},
	{Errno: unix.EBUSY, Rule: "the link is in use (already enslaved, or the operation needs it down)"},
	{Errno: unix.EOPNOTSUPP, Rule: "this link type does not support the operation (e.g. moving lo or a bridge port's master)"},
	{Errno: unix.ELOOP, Rule: "that would make a link its own master"},
	{Errno: unix.EXFULL, Rule: "the bridge already has its maximum of ports (BR_MAX_PORTS 1024, port numbers 1..1023)"},
	{Errno: unix.EADDRNOTAVAIL, Rule: "the address is not on that link"},
}

var moveRules = kerr.Rules{
	{Errno: unix.EINVAL, Rule: "this link cannot change namespace (lo, bridges and other netns-local devices stay where they were made)"},
	{Errno: unix.EEXIST, Rule: "the target namespace already has a link of that name"},
	{Errno: unix.EPERM, Rule: "moving a link needs CAP_NET_ADMIN in both namespaces' owning user namespaces"},
	{Errno: unix.ENODEV, Rule: "no such link"},
}

// LinkInfo describes one network interface as the kernel reports it.
type LinkInfo struct {
	Index     int
	Name      string
	Type      string   // "veth", "bridge", "loopback", "device", "dummy", ...
	State     string   // operstate: "UP", "DOWN", "UNKNOWN", "LOWERLAYERDOWN", ...
	Flags     []string // "UP", "LOWER_UP", "BROADCAST", "LOOPBACK", "MULTICAST", ...
	MTU       int
	MAC       string
	Addrs     []string // CIDR form
	Master    string   // bridge this link is a port of, "" if none
	PortState string   // for bridge ports: "disabled", "listening", "learning", "forwarding", "blocking"
	PeerIndex int      // veth: the peer's ifindex (in the peer's namespace)
	Peer      string   // veth: the peer's name when it is in this namespace
	PeerNSID  int      // veth: nsid of the peer's namespace as seen from here; -1 same or unknown
}

func (l LinkInfo) String() string {
	s := fmt.Sprintf("%d: %s <%s> %s mtu %d type %s", l.Index, l.Name, strings.Join(l.Flags, ","), l.State, l.MTU, l.Type)
	if l.Master != "" {
		s += " master " + l.Master
		if l.PortState != "" {
			s += " (" + l.PortState + ")"
		}
	}
	if l.PeerIndex != 0 {
		if l.Peer != "" {
			s += " peer " + l.Peer
		} else {
			s += fmt.Sprintf(" peer ifindex %d", l.PeerIndex)
			if l.PeerNSID >= 0 {
				s += fmt.Sprintf(" nsid %d", l.PeerNSID)
			}
		}
	}
	if l.MAC != "" {
		s += " " + l.MAC
	}
	for _, a := range l.Addrs {
		s += " " + a
	}
	return s
}

var flagNames = []struct {
	bit  uint32
	name string
}{
	{unix.IFF_UP, "UP"}, {unix.IFF_BROADCAST, "BROADCAST"}, {unix.IFF_LOOPBACK, "LOOPBACK"},
	{unix.IFF_POINTOPOINT, "POINTOPOINT"}, {unix.IFF_NOARP, "NOARP"}, {unix.IFF_PROMISC, "PROMISC"},
	{unix.IFF_MULTICAST, "MULTICAST"}, {unix.IFF_LOWER_UP, "LOWER_UP"}, {unix.IFF_DORMANT, "DORMANT"},
}

func linkInfo(l netlink.Link) LinkInfo {
	a := l.Attrs()
	li := LinkInfo{
		Index:    a.Index,
		Name:     a.Name,
		Type:     l.Type(),
		State:    strings.ToUpper(a.OperState.String()),
		MTU:      a.MTU,
		PeerNSID: -1,
	}
	if a.RawFlags&unix.IFF_LOOPBACK != 0 {
		li.Type = "loopback"
	}
	for _, f := range flagNames {
		if a.RawFlags&f.bit != 0 {
			li.Flags = append(li.Flags, f.name)
		}
	}
	if len(a.HardwareAddr) > 0 {
		li.MAC = a.HardwareAddr.String()
	}
	if li.Type == "veth" {
		li.PeerIndex = a.ParentIndex
		li.PeerNSID = a.NetNsID
	}
	return li
}

// Links lists every link in the namespace with its addresses, master,
// bridge port state and veth peer.
func (ns *NS) Links() ([]LinkInfo, error) {
	ls, err := ns.h.LinkList()
	if err != nil {
		return nil, kerr.Newf(err, linkRules, "link list in %s", ns.name)
	}
	addrs, err := ns.h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, kerr.Newf(err, linkRules, "addr list in %s", ns.name)
	}
	byIndex := map[int]string{}
	for _, l := range ls {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	var states map[int]uint8
	out := make([]LinkInfo, 0, len(ls))
	for _, l := range ls {
		li := linkInfo(l)
		if m := l.Attrs().MasterIndex; m != 0 {
			li.Master = byIndex[m]
			if states == nil {
				states, _ = ns.portStates()
			}
			if st, ok := states[li.Index]; ok {
				li.PortState = portStateName(st)
			}
		}
		if li.PeerIndex != 0 && li.PeerNSID < 0 {
			li.Peer = byIndex[li.PeerIndex]
		}
		for _, ad := range addrs {
			if ad.LinkIndex == li.Index {
				li.Addrs = append(li.Addrs, ad.IPNet.String())
			}
		}
		out = append(out, li)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// Link describes one link by name.
func (ns *NS) Link(name string) (LinkInfo, error) {
	l, err := ns.byName(name)
	if err != nil {
		return LinkInfo{}, err
	}
	li := linkInfo(l)
	if m := l.Attrs().MasterIndex; m != 0 {
		if ml, err := ns.h.LinkByIndex(m); err == nil {
			li.Master = ml.Attrs().Name
		}
		if states, err := ns.portStates(); err == nil {
			if st, ok := states[li.Index]; ok {
				li.PortState = portStateName(st)
			}
		}
	}
	if li.PeerIndex != 0 && li.PeerNSID < 0 {
		if pl, err := ns.h.LinkByIndex(li.PeerIndex); err == nil {
			li.Peer = pl.Attrs().Name
		}
	}
	addrs, err := ns.h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return li, kerr.Newf(err, linkRules, "addr list dev %s", name)
	}
	for _, ad := range addrs {
		li.Addrs = append(li.Addrs, ad.IPNet.String())
	}
	return li, nil
}

func (ns *NS) byName(name string) (netlink.Link, error) {
	if name == "" {
		return nil, errors.New("netlab: link name must not be empty")
	}
	l, err := ns.h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			err = unix.ENODEV
		}
		return nil, kerr.Newf(err, linkRules, "link %q in %s", name, ns.name)
	}
	return l, nil
}

// SetUp brings a link up (ip link set NAME up).
func (ns *NS) SetUp(name string) error {
	l, err := ns.byName(name)
	if err != nil {
		return err
	}
	return kerr.Newf(ns.h.LinkSetUp(l), linkRules, "link set %s up", name)
}

// SetDown takes a link down (ip link set NAME down).
func (ns *NS) SetDown(name string) error {
	l, err := ns.byName(name)
	if err != nil {
		return err
	}
	return kerr.Newf(ns.h.LinkSetDown(l), linkRules, "link set %s down", name)
}

// SetMTU sets a link's MTU.
func (ns *NS) SetMTU(name string, mtu int) error {
	if mtu <= 0 {
		return fmt.Errorf("netlab: mtu must be > 0, got %d", mtu)
	}
	l, err := ns.byName(name)
	if err != nil {
		return err
	}
	return kerr.Newf(ns.h.LinkSetMTU(l, mtu), linkRules, "link set %s mtu %d", name, mtu)
}

// SetMaster makes link name a port of bridge (ip link set NAME master BRIDGE).
func (ns *NS) SetMaster(name, bridge string) error {
	l, err := ns.byName(name)
	if err != nil {
		return err
	}
	b, err := ns.byName(bridge)
	if err != nil {
		return err
	}
	return kerr.Newf(ns.h.LinkSetMasterByIndex(l, b.Attrs().Index), linkRules, "link set %s master %s", name, bridge)
}

// NoMaster releases a link from its bridge (ip link set NAME nomaster).
func (ns *NS) NoMaster(name string) error {
	l, err := ns.byName(name)
	if err != nil {
		return err
	}
	return kerr.Newf(ns.h.LinkSetNoMaster(l), linkRules, "link set %s nomaster", name)
}

// MoveTo moves a link into another namespace (ip link set NAME netns ...).
// The kernel takes it down and drops its addresses on the way.
func (ns *NS) MoveTo(name string, to *NS) error {
	if to == nil {
		return errors.New("netlab: MoveTo needs a target namespace")
	}
	l, err := ns.byName(name)
	if err != nil {
		return err
	}
	return kerr.Newf(ns.h.LinkSetNsFd(l, to.fd), moveRules, "link set %s netns %s", name, to.name)
}

// DelLink deletes a link; deleting one end of a veth deletes both.
func (ns *NS) DelLink(name string) error {
	l, err := ns.byName(name)
	if err != nil {
		return err
	}
	return kerr.Newf(ns.h.LinkDel(l), linkRules, "link del %s", name)
}

// CheckIfName checks a link name as the kernel's dev_valid_name does.
func CheckIfName(name string) error {
	if name == "" || len(name) >= unix.IFNAMSIZ || strings.ContainsAny(name, "/ \t\n:") || name == "." || name == ".." {
		return fmt.Errorf("bad link name %q: at most 15 bytes (IFNAMSIZ-1), no '/', ':' or spaces", name)
	}
	return nil
}

// LinksText is links as a table under title: name, type, state, MTU,
// master (with the port's state), veth peer, addresses. No final newline.
func LinksText(title string, ls []LinkInfo) string {
	var b strings.Builder
	b.WriteString(title + "\n")
	fmt.Fprintf(&b, "  %-16s %-9s %-8s %-6s %-24s %-14s %s\n", "NAME", "TYPE", "STATE", "MTU", "MASTER", "PEER", "ADDRESSES")
	for _, l := range ls {
		master := l.Master
		if l.PortState != "" {
			master += " (" + l.PortState + ")"
		}
		peer := ""
		if l.Type == "veth" {
			switch {
			case l.Peer != "":
				peer = l.Peer
			case l.PeerNSID >= 0:
				peer = fmt.Sprintf("if%d@nsid%d", l.PeerIndex, l.PeerNSID)
			default:
				peer = fmt.Sprintf("if%d (other ns)", l.PeerIndex)
			}
		}
		fmt.Fprintf(&b, "  %-16s %-9s %-8s %-6d %-24s %-14s %s\n", l.Name, l.Type, l.State, l.MTU, dash(master), dash(peer), dash(strings.Join(l.Addrs, " ")))
	}
	return strings.TrimRight(b.String(), "\n")
}
