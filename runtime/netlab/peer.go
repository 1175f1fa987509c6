package netlab

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// A lab spans hosts over VXLAN, the kernel's own overlay: Lab.Peer puts a
// vxlan device in the lab's outer namespace, enslaved to a lab bridge, whose
// frames travel as UDP to the same lab's vxlan device on another host. Both
// bridges then form one Ethernet segment; nodes on either host reach each
// other by their addresses as if they shared one bridge.
//
// The device and its UDP socket may live in different namespaces: the
// kernel keeps a vxlan's socket in the namespace whose netlink socket asked
// for it (its "link-netns", as `ip -d link` shows), while the device is
// created directly in the namespace that IFLA_NET_NS_FD names. So the
// underlay (the address packets leave from) can stay in the host's own
// namespace while the bridge stays in the lab's.

// VXLANPort is IANA's VXLAN port (RFC 7348), the default of PeerOptions.Port.
// Linux's own default, when no port is given to `ip link add type vxlan`,
// is the pre-standard 8472.
const VXLANPort = 4789

// Overheads of VXLAN encapsulation: outer IPv4 (20) or IPv6 (40) header,
// UDP (8), VXLAN (8) and the inner Ethernet header (14), as the kernel's
// VXLAN_HEADROOM and VXLAN6_HEADROOM.
const (
	vxlanHeadroom  = 50
	vxlan6Headroom = 70
)

// PeerOptions says how Lab.Peer joins a lab bridge to the same lab on
// another host.
type PeerOptions struct {
	// Remote is the other host's underlay address (unicast IPv4 or IPv6).
	Remote string
	// VNI is the VXLAN network identifier, 1..16777215; both hosts use the same.
	VNI int
	// Local is the source address of the encapsulated packets, "" to let
	// the route to Remote pick it. It must be an address of the underlay.
	Local string
	// Port is the UDP destination port, default VXLANPort (4789).
	Port int
	// Bridge is the lab bridge to extend; "" is the lab's only bridge.
	Bridge string
	// Name is the vxlan device's name in the outer namespace; default vxVNI.
	Name string
	// MTU of the vxlan device and of every lab link on the bridge; 0 is the
	// underlay link's MTU less the encapsulation (50 bytes over IPv4, 70
	// over IPv6), so a full-sized frame still fits in one underlay packet.
	MTU int
	// Underlay is the namespace holding the underlay address, where the
	// vxlan's UDP socket lives and its packets leave; nil is the lab's outer
	// namespace (nothing leaves it unless an underlay link was put there).
	Underlay *NS
}

// PeerInfo describes a vxlan device Lab.Peer made.
type PeerInfo struct {
	Name, Bridge, Remote, Local string
	VNI, Port, MTU              int
	Underlay                    string // the underlay namespace's name
	UnderlayDev                 string // the underlay link the route to Remote takes
	UnderlayMTU                 int
}

// peerState is what a lab keeps about its peers.
type peerState struct {
	peers []PeerInfo
	mtu   map[string]int // bridge -> MTU its links get (Lab.Link applies it)
}

// checkPeer checks o against the lab and fills in the defaults.
func (l *Lab) checkPeer(o PeerOptions) (PeerOptions, net.IP, net.IP, error) {
	remote := net.ParseIP(o.Remote)
	if remote == nil || remote.IsUnspecified() || remote.IsMulticast() {
		return o, nil, nil, fmt.Errorf("remote: want the other host's unicast IP address, got %q", o.Remote)
	}
	var local net.IP
	if o.Local != "" {
		if local = net.ParseIP(o.Local); local == nil {
			return o, nil, nil, fmt.Errorf("local: want an IP address, got %q", o.Local)
		}
		if (local.To4() == nil) != (remote.To4() == nil) {
			return o, nil, nil, fmt.Errorf("local %s and remote %s: both IPv4 or both IPv6", o.Local, o.Remote)
		}
	}
	if o.VNI < 1 || o.VNI > 1<<24-1 {
		return o, nil, nil, fmt.Errorf("vni: 1..16777215 (24 bits), got %d", o.VNI)
	}
	if o.Port == 0 {
		o.Port = VXLANPort
	}
	if o.Port < 1 || o.Port > 65535 {
		return o, nil, nil, fmt.Errorf("port: 1..65535, got %d", o.Port)
	}
	if o.Bridge == "" {
		if len(l.brDescs) != 1 {
			return o, nil, nil, fmt.Errorf("bridge: lab %s has %d bridges; say which one to extend", l.name, len(l.brDescs))
		}
		o.Bridge = l.brDescs[0].Name
	}
	if _, ok := l.bridges[o.Bridge]; !ok {
		return o, nil, nil, fmt.Errorf("bridge: lab %s has no bridge %q", l.name, o.Bridge)
	}
	if o.Name == "" {
		o.Name = fmt.Sprintf("vx%d", o.VNI)
	}
	if err := CheckIfName(o.Name); err != nil {
		return o, nil, nil, err
	}
	if o.MTU != 0 && (o.MTU < 68 || o.MTU > 65535) {
		return o, nil, nil, fmt.Errorf("mtu: 68..65535, got %d", o.MTU)
	}
	return o, remote, local, nil
}

var peerRouteRules = kerr.Rules{
	{Errno: unix.ENETUNREACH, Rule: "the underlay namespace has no route to the remote host: it needs an underlay address (a veth, macvlan or NIC with an address on the hosts' network)"},
	{Errno: unix.EHOSTUNREACH, Rule: "the underlay namespace has no route to the remote host: it needs an underlay address (a veth, macvlan or NIC with an address on the hosts' network)"},
	{Errno: unix.EINVAL, Rule: "local is not an address of the underlay namespace"},
	{Errno: unix.EADDRNOTAVAIL, Rule: "local is not an address of the underlay namespace"},
}

// Peer joins a lab bridge to the same lab on another host over VXLAN
// (ip link add NAME type vxlan id VNI remote REMOTE [local LOCAL] dstport
// PORT; ip link set NAME master BRIDGE up). The device is made in the
// outer namespace, its UDP socket in o.Underlay. Every lab link on the
// bridge, and every later one, gets the vxlan's MTU; the call returns once
// the new bridge port forwards.
func (l *Lab) Peer(o PeerOptions) (PeerInfo, error) {
	if l.closed {
		return PeerInfo{}, errors.New("netlab: lab is closed")
	}
	o, remote, local, err := l.checkPeer(o)
	if err != nil {
		return PeerInfo{}, err
	}
	u := o.Underlay
	if u == nil {
		u = l.outer
	}
	info := PeerInfo{Name: o.Name, Bridge: o.Bridge, Remote: remote.String(), VNI: o.VNI, Port: o.Port, Underlay: u.name}
	// The route the encapsulated packets take decides the source address
	// and the room they have (the underlay link's MTU).
	ro := &netlink.RouteGetOptions{}
	if local != nil {
		ro.SrcAddr = local
	}
	rs, err := u.h.RouteGetWithOptions(remote, ro)
	if err != nil || len(rs) == 0 {
		if err == nil {
			err = unix.ENETUNREACH
		}
		return info, kerr.Newf(err, peerRouteRules, "ip route get %s in %s", remote, u.name)
	}
	dev, err := u.h.LinkByIndex(rs[0].LinkIndex)
	if err != nil {
		return info, kerr.Newf(err, linkRules, "link of the route to %s in %s", remote, u.name)
	}
	info.UnderlayDev, info.UnderlayMTU = dev.Attrs().Name, dev.Attrs().MTU
	if local != nil {
		info.Local = local.String()
	} else if rs[0].Src != nil {
		info.Local = rs[0].Src.String()
	}
	info.MTU = o.MTU
	if info.MTU == 0 {
		head := vxlanHeadroom
		if remote.To4() == nil {
			head = vxlan6Headroom
		}
		info.MTU = info.UnderlayMTU - head
		if dev.Attrs().Flags&net.FlagLoopback != 0 || info.MTU > 1500 {
			info.MTU = 1500 // lo's 65536 says nothing about the hosts' network
		}
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = o.Name, info.MTU
	if u != l.outer {
		attrs.Namespace = netlink.NsFd(l.outer.fd)
	}
	vx := &netlink.Vxlan{LinkAttrs: attrs, VxlanId: o.VNI, Group: remote, SrcAddr: local, Port: o.Port,
		Learning: true, UDPCSum: true}
	call := fmt.Sprintf("link add %s type vxlan id %d remote %s dstport %d", o.Name, o.VNI, remote, o.Port)
	if local != nil {
		call += " local " + local.String()
	}
	if u != l.outer {
		call += " netns " + l.outer.name + " (from " + u.name + ")"
	}
	if err := u.h.LinkAdd(vx); err != nil {
		return info, kerr.New(call, err, vxlanRules)
	}
	if l.peer == nil {
		l.peer = &peerState{mtu: map[string]int{}}
	}
	l.peer.peers = append(l.peer.peers, info)
	if !l.ownOuter {
		l.note("link", o.Name)
	}
	if err := l.outer.SetMaster(o.Name, o.Bridge); err != nil {
		return info, err
	}
	if err := l.outer.SetUp(o.Name); err != nil {
		return info, err
	}
	if m, ok := l.peer.mtu[o.Bridge]; !ok || info.MTU < m {
		l.peer.mtu[o.Bridge] = info.MTU
	}
	for _, d := range l.lkDescs {
		if d.Bridge == o.Bridge {
			if err := l.fitPeerMTU(l.nodes[d.Node], nil, d.IfName, d.BrName, o.Bridge); err != nil {
				return info, err
			}
		}
	}
	return info, l.outer.WaitForwarding(o.Name, waitPeer)
}

const waitPeer = 5 * time.Second // a port of a forward_delay 0 bridge forwards at once

var vxlanRules = kerr.Rules{
	{Errno: unix.EEXIST, Rule: "a link of that name exists already, or a vxlan with this VNI and port exists in the underlay namespace (one per VNI, port and namespace)"},
	{Errno: unix.EADDRINUSE, Rule: "another socket holds this UDP port in the underlay namespace"},
	{Errno: unix.EPERM, Rule: "making a vxlan needs CAP_NET_ADMIN over the underlay and the outer namespaces"},
	{Errno: unix.EINVAL, Rule: "the kernel rejected an attribute (MTU above the underlay's, or a bad address)"},
}

// fitPeerMTU lowers a lab link on bridge (ifname in node, brname in the
// outer namespace) to the MTU the bridge's vxlan peers need; nothing when
// the bridge has no peer.
//
// ns is the node's network namespace if the caller has it open, nil to
// open it here.
func (l *Lab) fitPeerMTU(node *Node, ns *NS, ifname, brname, bridge string) error {
	if l.peer == nil || node == nil {
		return nil
	}
	m, ok := l.peer.mtu[bridge]
	if !ok {
		return nil
	}
	if brname != "" { // a macvlan or ipvlan on the bridge has no hub end: it follows its lower device's MTU
		if err := l.outer.SetMTU(brname, m); err != nil {
			return err
		}
	}
	if ns == nil {
		var err error
		if ns, err = node.Open(); err != nil {
			return err
		}
		defer ns.Close()
	}
	return ns.SetMTU(ifname, m)
}

// Peers lists the vxlan peers made, in order.
func (l *Lab) Peers() []PeerInfo {
	if l.peer == nil {
		return nil
	}
	return append([]PeerInfo(nil), l.peer.peers...)
}

// closePeers deletes the vxlan devices, so that their UDP sockets in the
// underlay namespace are gone when Close returns (the kernel's cleanup of a
// dropped namespace runs later, in its own work queue).
func (l *Lab) closePeers() []error {
	if l.peer == nil {
		return nil
	}
	var errs []error
	for _, p := range l.peer.peers {
		if lk, err := l.outer.h.LinkByName(p.Name); err == nil {
			if err := l.outer.h.LinkDel(lk); err != nil {
				errs = append(errs, kerr.Newf(err, linkRules, "link del %s", p.Name))
			}
		}
	}
	return errs
}
