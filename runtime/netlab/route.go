package netlab

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

var routeRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "changing routes needs CAP_NET_ADMIN in the user namespace that owns the network namespace"},
	{Errno: unix.EEXIST, Rule: "a route to that destination already exists (delete it first)"},
	{Errno: unix.ESRCH, Rule: "no such route"},
	{Errno: unix.ENETUNREACH, Rule: "the gateway is not on any directly connected network: add an address covering it (and bring the link up) first"},
	{Errno: unix.ENODEV, Rule: "no such device"},
	{Errno: unix.EINVAL, Rule: "the kernel rejected the route (gateway family differs from destination, or bad prefix)"},
}

// RouteInfo is one route of the main table.
type RouteInfo struct {
	Dst    string // CIDR or "default"
	Via    string // gateway, "" for directly connected
	Dev    string
	Src    string // preferred source, "" if none
	Scope  string // "universe", "link", "host"
	Proto  string // "kernel", "boot", "static", ...
	Family int    // unix.AF_INET or unix.AF_INET6
}

func (r RouteInfo) String() string {
	s := r.Dst
	if r.Via != "" {
		s += " via " + r.Via
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.Proto != "" {
		s += " proto " + r.Proto
	}
	if r.Scope != "" && r.Scope != "universe" {
		s += " scope " + r.Scope
	}
	if r.Src != "" {
		s += " src " + r.Src
	}
	return s
}

func (ns *NS) buildRoute(dst, via, dev string, needNexthop bool) (*netlink.Route, string, error) {
	r := &netlink.Route{}
	call := "route " + dst
	var fam int
	if dst == "default" || dst == "" {
		dst = "default"
	} else {
		ip, n, err := net.ParseCIDR(dst)
		if err != nil {
			if ip = net.ParseIP(dst); ip == nil {
				return nil, "", fmt.Errorf("netlab: bad route destination %q: want \"default\", a CIDR or an IP", dst)
			}
			bits := 32
			if ip.To4() == nil {
				bits = 128
			}
			n = &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}
		}
		r.Dst = n
		fam = familyOf(n.IP)
	}
	if via != "" {
		gw := net.ParseIP(via)
		if gw == nil {
			return nil, "", fmt.Errorf("netlab: bad gateway %q: want an IP address", via)
		}
		r.Gw = gw
		if fam != 0 && familyOf(gw) != fam {
			return nil, "", fmt.Errorf("netlab: gateway %s and destination %s are of different families", via, dst)
		}
		fam = familyOf(gw)
		call += " via " + via
	}
	if dev != "" {
		l, err := ns.byName(dev)
		if err != nil {
			return nil, "", err
		}
		r.LinkIndex = l.Attrs().Index
		call += " dev " + dev
	}
	if dst == "default" {
		if fam == 0 {
			fam = unix.AF_INET
		}
		bits := 32
		zero := net.IPv4zero.To4()
		if fam == unix.AF_INET6 {
			bits, zero = 128, net.IPv6zero
		}
		r.Dst = &net.IPNet{IP: zero, Mask: net.CIDRMask(0, bits)}
	}
	if needNexthop && via == "" && dev == "" {
		return nil, "", errors.New("netlab: a route needs a gateway (via) or a device (dev), or both")
	}
	r.Family = fam
	return r, call, nil
}

func familyOf(ip net.IP) int {
	if ip.To4() != nil {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// AddRoute adds a route: dst is "default" or a CIDR (or a host IP); via is
// a gateway or ""; dev a link name or "" (then the gateway picks it).
func (ns *NS) AddRoute(dst, via, dev string) error {
	r, call, err := ns.buildRoute(dst, via, dev, true)
	if err != nil {
		return err
	}
	return kerr.New(call+" add", ns.h.RouteAdd(r), routeRules)
}

// DelRoute deletes a route given as for AddRoute (via and dev may be "").
func (ns *NS) DelRoute(dst, via, dev string) error {
	r, call, err := ns.buildRoute(dst, via, dev, false)
	if err != nil {
		return err
	}
	return kerr.New(call+" del", ns.h.RouteDel(r), routeRules)
}

// scopeName is ip(8)'s name of a route scope, "" for another.
func scopeName(s netlink.Scope) string {
	switch s {
	case netlink.SCOPE_UNIVERSE:
		return "universe"
	case netlink.SCOPE_SITE:
		return "site"
	case netlink.SCOPE_LINK:
		return "link"
	case netlink.SCOPE_HOST:
		return "host"
	case netlink.SCOPE_NOWHERE:
		return "nowhere"
	}
	return ""
}

// protoName is ip(8)'s name of a route protocol, if it has one.
func protoName(p netlink.RouteProtocol) (string, bool) {
	switch p {
	case unix.RTPROT_UNSPEC:
		return "unspec", true
	case unix.RTPROT_REDIRECT:
		return "redirect", true
	case unix.RTPROT_KERNEL:
		return "kernel", true
	case unix.RTPROT_BOOT:
		return "boot", true
	case unix.RTPROT_STATIC:
		return "static", true
	case unix.RTPROT_RA:
		return "ra", true
	case unix.RTPROT_DHCP:
		return "dhcp", true
	}
	return "", false
}

// Routes lists the main-table routes, IPv4 then IPv6.
func (ns *NS) Routes() ([]RouteInfo, error) {
	names := map[int]string{}
	if ls, err := ns.h.LinkList(); err == nil {
		for _, l := range ls {
			names[l.Attrs().Index] = l.Attrs().Name
		}
	}
	var out []RouteInfo
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rs, err := ns.h.RouteList(nil, fam)
		if err != nil {
			return nil, kerr.Newf(err, routeRules, "route show in %s", ns.name)
		}
		for _, r := range rs {
			ri := RouteInfo{Dev: names[r.LinkIndex], Scope: scopeName(r.Scope), Family: fam}
			if p, ok := protoName(r.Protocol); ok {
				ri.Proto = p
			} else {
				ri.Proto = fmt.Sprint(int(r.Protocol))
			}
			if r.Dst == nil {
				ri.Dst = "default"
			} else if ones, _ := r.Dst.Mask.Size(); ones == 0 {
				ri.Dst = "default"
			} else {
				ri.Dst = r.Dst.String()
			}
			if r.Gw != nil {
				ri.Via = r.Gw.String()
			}
			if r.Src != nil {
				ri.Src = r.Src.String()
			}
			out = append(out, ri)
		}
	}
	return out, nil
}

// CheckRouteDst checks a route destination: "default", a CIDR or an IP.
func CheckRouteDst(dst string) error {
	if dst == "default" || net.ParseIP(dst) != nil {
		return nil
	}
	if _, _, err := net.ParseCIDR(dst); err != nil {
		return fmt.Errorf("bad destination %q: want \"default\", a CIDR (\"10.0.0.0/8\") or an IP", dst)
	}
	return nil
}

// FamilyName is "inet" or "inet6".
func (r RouteInfo) FamilyName() string {
	if r.Family == unix.AF_INET6 {
		return "inet6"
	}
	return "inet"
}
