package netlab

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

var addrRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "changing addresses needs CAP_NET_ADMIN in the user namespace that owns the network namespace"},
	{Errno: unix.EEXIST, Rule: "the link already has that address"},
	{Errno: unix.EADDRNOTAVAIL, Rule: "the link does not have that address"},
	{Errno: unix.EACCES, Rule: "IPv6 is disabled on that link (net.ipv6.conf.*.disable_ipv6)"},
	{Errno: unix.EINVAL, Rule: "the kernel rejected the address or prefix length"},
}

// parseCIDR parses "10.53.57.21/24" keeping the host part (net.ParseCIDR
// alone would give the network address).
func parseCIDR(cidr string) (*net.IPNet, error) {
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("bad address %q: want CIDR form like \"10.53.57.21/24\" or \"fd00::1/64\"", cidr)
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	return &net.IPNet{IP: ip, Mask: n.Mask}, nil
}

// CheckCIDR checks an address in CIDR form ("10.53.57.21/24").
func CheckCIDR(cidr string) error {
	_, err := parseCIDR(cidr)
	return err
}

// AddAddr adds an IPv4 or IPv6 address in CIDR form to link name. nodad
// sets IFA_F_NODAD on IPv6 addresses so they are usable at once instead of
// "tentative" during duplicate address detection (about a second).
func (ns *NS) AddAddr(name, cidr string, nodad bool) error {
	ipn, err := parseCIDR(cidr)
	if err != nil {
		return err
	}
	l, err := ns.byName(name)
	if err != nil {
		return err
	}
	return ns.addAddrIndex(l.Attrs().Index, name, ipn, nodad)
}

func (ns *NS) addAddrIndex(index int, name string, ipn *net.IPNet, nodad bool) error {
	a := &netlink.Addr{IPNet: ipn}
	if nodad && ipn.IP.To4() == nil {
		a.Flags = unix.IFA_F_NODAD
	}
	l := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: index, Name: name}}
	return kerr.Newf(ns.h.AddrAdd(l, a), addrRules, "addr add %s dev %s", ipn, name)
}

// DelAddr removes an address (CIDR form) from link name.
func (ns *NS) DelAddr(name, cidr string) error {
	ipn, err := parseCIDR(cidr)
	if err != nil {
		return err
	}
	l, err := ns.byName(name)
	if err != nil {
		return err
	}
	return kerr.Newf(ns.h.AddrDel(l, &netlink.Addr{IPNet: ipn}), addrRules, "addr del %s dev %s", cidr, name)
}

// Addrs lists the addresses (CIDR form) of link name.
func (ns *NS) Addrs(name string) ([]string, error) {
	l, err := ns.byName(name)
	if err != nil {
		return nil, err
	}
	as, err := ns.h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, kerr.Newf(err, addrRules, "addr show dev %s", name)
	}
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.IPNet.String())
	}
	return out, nil
}
