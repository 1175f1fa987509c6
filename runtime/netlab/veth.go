package netlab

import (
	"errors"
	"net"

	"github.com/vishvananda/netlink"

	"nsh/runtime/kerr"
)

// AddVeth creates a veth pair: name in ns, peerName in peerNS (nil: ns too).
// The peer is created directly in its namespace (IFLA_NET_NS_FD on the peer),
// so nothing is moved afterwards and no name clash can happen in between.
func (ns *NS) AddVeth(name, peerName string, peerNS *NS) error {
	return ns.addVeth(name, peerName, peerNS, 0, false, nil, nil)
}

// addVeth is AddVeth with the near end optionally enslaved to masterIndex
// and brought up in the same request (the lab's fast path), and with the
// ends' MAC addresses when given (nil: the kernel picks random ones).
func (ns *NS) addVeth(name, peerName string, peerNS *NS, masterIndex int, up bool, mac, peerMAC net.HardwareAddr) error {
	if err := CheckIfName(name); err != nil {
		return err
	}
	if err := CheckIfName(peerName); err != nil {
		return err
	}
	if peerNS == nil {
		peerNS = ns
		if name == peerName {
			return errors.New("netlab: veth ends in one namespace need different names")
		}
	}
	if masterIndex != 0 && up && peerNS != ns {
		return ns.addVethLab(name, peerName, peerNS, masterIndex) // vethraw.go: one request
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	attrs.MasterIndex = masterIndex
	if up {
		attrs.Flags = net.FlagUp
	}
	attrs.HardwareAddr = mac
	v := netlink.NewVeth(attrs)
	v.PeerName = peerName
	v.PeerHardwareAddr = peerMAC
	if peerNS != ns {
		v.PeerNamespace = netlink.NsFd(peerNS.fd)
	}
	call := "link add " + name + " type veth peer name " + peerName
	if peerNS != ns {
		call += " netns " + peerNS.name
	}
	return kerr.New(call, ns.h.LinkAdd(v), linkRules)
}

// AddVethUp is AddVeth, then both ends brought up.
func (ns *NS) AddVethUp(name, peerName string, peerNS *NS) error {
	if err := ns.AddVeth(name, peerName, peerNS); err != nil {
		return err
	}
	if peerNS == nil {
		peerNS = ns
	}
	if err := ns.SetUp(name); err != nil {
		return err
	}
	return peerNS.SetUp(peerName)
}
