package netlab

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// Link types beyond veth and bridge: macvlan, ipvlan and vlan sit on a
// parent ("lower") link; vxlan tunnels Ethernet over UDP; dummy is a link
// that drops what it is sent; tap and tun are links a program feeds through
// /dev/net/tun. Each is made with one request in the namespace that holds
// its parent (or, for tap, by a thread sitting in the target namespace),
// and, where the kernel allows it, directly inside another one (NetNS: the
// IFLA_NET_NS_FD of `ip link add ... netns X`), as veth peers are. Nothing
// here ever runs in a namespace the caller did not name.

// KindConfig is the kernel option that builds link type kind's driver,
// or "" for a kind nsh does not know. (Lookups like this one are switches,
// not package-level maps: a map literal is built by code that every nsh
// and every re-executed child runs before main.)
func KindConfig(kind string) string {
	switch kind {
	case "veth":
		return "CONFIG_VETH"
	case "bridge":
		return "CONFIG_BRIDGE"
	case "macvlan":
		return "CONFIG_MACVLAN"
	case "macvtap":
		return "CONFIG_MACVTAP"
	case "ipvlan":
		return "CONFIG_IPVLAN"
	case "vlan":
		return "CONFIG_VLAN_8021Q"
	case "vxlan":
		return "CONFIG_VXLAN"
	case "dummy":
		return "CONFIG_DUMMY"
	case "tap", "tun":
		return "CONFIG_TUN"
	}
	return ""
}

// KernelConfig reads option (e.g. "CONFIG_DUMMY") from the running
// kernel's configuration: /proc/config.gz (CONFIG_IKCONFIG_PROC) or
// /boot/config-RELEASE. value is "y", "m", a string, or "" for "is not
// set"; from names the file; err says why no configuration was readable.
func KernelConfig(option string) (value, from string, err error) {
	text, from, err := kernelConfigText()
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, option+"="); ok {
			return strings.Trim(v, `"`), from, nil
		}
		if line == "# "+option+" is not set" {
			return "", from, nil
		}
	}
	return "", from, nil
}

// kindRules are linkRules with EOPNOTSUPP explained for a link type: the
// errno rtnl_newlink returns when no driver registered that IFLA_INFO_KIND
// (rtnl_link_ops_get found none, and request_module could not load one).
func kindRules(kind string) kerr.Rules {
	return kerr.Rules{{Errno: unix.EOPNOTSUPP, Rule: missingKind(kind)}}.Also(linkRules)
}

// missingKind says why the kernel has no driver for kind, from its
// configuration where that is readable.
func missingKind(kind string) string {
	opt := KindConfig(kind)
	if opt == "" {
		return fmt.Sprintf("the kernel has no driver for link type %q", kind)
	}
	val, from, err := KernelConfig(opt)
	if err != nil {
		return fmt.Sprintf("the kernel has no %s driver: it was built without %s or the module is not loaded (modprobe %s)", kind, opt, kind)
	}
	mods, _, _ := KernelConfig("CONFIG_MODULES")
	switch {
	case val == "":
		s := fmt.Sprintf("the kernel has no %s driver: %s is not set (%s)", kind, opt, from)
		if mods == "" {
			s += " and, without CONFIG_MODULES, no module can add it"
		}
		return s
	case val == "m":
		return fmt.Sprintf("the %s driver is a module (%s=m in %s) that is not loaded: modprobe it as root on the host", kind, opt, from)
	}
	return fmt.Sprintf("the kernel refused link type %s although %s=%s (%s)", kind, opt, val, from)
}

// LowerOptions say how a link on a parent (macvlan, ipvlan, vlan) is made.
type LowerOptions struct {
	// Mode: macvlan "bridge" (the default: siblings on one parent reach
	// each other directly), "private", "vepa", "passthru"; ipvlan "l2"
	// (default), "l3", "l3s".
	Mode string
	// NetNS, when set, is where the link is created (the parent stays in
	// the namespace the call is made in), as `ip link add link PARENT name
	// NAME netns X type macvlan`. nil: the same namespace as the parent.
	NetNS *NS
	Up    bool
}

// MacvlanModes and IPVlanModes are the valid modes, the default first.
var (
	MacvlanModes = []string{"bridge", "private", "vepa", "passthru"}
	IPVlanModes  = []string{"l2", "l3", "l3s"}
)

func lowerAttrs(ns *NS, name, parent string, o LowerOptions) (netlink.LinkAttrs, string, error) {
	attrs := netlink.NewLinkAttrs()
	if err := CheckIfName(name); err != nil {
		return attrs, "", err
	}
	p, err := ns.byName(parent)
	if err != nil {
		return attrs, "", err
	}
	attrs.Name, attrs.ParentIndex = name, p.Attrs().Index
	call := "link add link " + parent + " name " + name
	if o.NetNS != nil && o.NetNS != ns {
		attrs.Namespace = netlink.NsFd(o.NetNS.fd)
		call += " netns " + o.NetNS.name
	}
	if o.Up {
		attrs.Flags = net.FlagUp
	}
	return attrs, call, nil
}

// AddMacvlan makes a macvlan link on parent (ip link add link PARENT name
// NAME type macvlan mode MODE): a link with a MAC of its own whose frames
// leave and enter through the parent.
func (ns *NS) AddMacvlan(name, parent string, o LowerOptions) error {
	modes := map[string]netlink.MacvlanMode{"": netlink.MACVLAN_MODE_BRIDGE, "bridge": netlink.MACVLAN_MODE_BRIDGE,
		"private": netlink.MACVLAN_MODE_PRIVATE, "vepa": netlink.MACVLAN_MODE_VEPA, "passthru": netlink.MACVLAN_MODE_PASSTHRU}
	mode, ok := modes[o.Mode]
	if !ok {
		return fmt.Errorf("netlab: bad macvlan mode %q (valid: %s)", o.Mode, strings.Join(MacvlanModes, ", "))
	}
	attrs, call, err := lowerAttrs(ns, name, parent, o)
	if err != nil {
		return err
	}
	return kerr.New(call+" type macvlan mode "+orDefault(o.Mode, "bridge"), ns.h.LinkAdd(&netlink.Macvlan{LinkAttrs: attrs, Mode: mode}), kindRules("macvlan"))
}

// AddIPVlan makes an ipvlan link on parent (ip link add link PARENT name
// NAME type ipvlan mode MODE): it shares the parent's MAC and is told
// apart by its IP addresses.
func (ns *NS) AddIPVlan(name, parent string, o LowerOptions) error {
	modes := map[string]netlink.IPVlanMode{"": netlink.IPVLAN_MODE_L2, "l2": netlink.IPVLAN_MODE_L2,
		"l3": netlink.IPVLAN_MODE_L3, "l3s": netlink.IPVLAN_MODE_L3S}
	mode, ok := modes[o.Mode]
	if !ok {
		return fmt.Errorf("netlab: bad ipvlan mode %q (valid: %s)", o.Mode, strings.Join(IPVlanModes, ", "))
	}
	attrs, call, err := lowerAttrs(ns, name, parent, o)
	if err != nil {
		return err
	}
	return kerr.New(call+" type ipvlan mode "+orDefault(o.Mode, "l2"), ns.h.LinkAdd(&netlink.IPVlan{LinkAttrs: attrs, Mode: mode}), kindRules("ipvlan"))
}

// AddVlan makes an 802.1Q VLAN link on parent (ip link add link PARENT
// name NAME type vlan id ID): frames it sends carry tag id on the parent.
func (ns *NS) AddVlan(name, parent string, id int, o LowerOptions) error {
	if id < 1 || id > 4094 {
		return fmt.Errorf("netlab: vlan id must be 1..4094, got %d", id)
	}
	attrs, call, err := lowerAttrs(ns, name, parent, o)
	if err != nil {
		return err
	}
	return kerr.New(fmt.Sprintf("%s type vlan id %d", call, id), ns.h.LinkAdd(&netlink.Vlan{LinkAttrs: attrs, VlanId: id}), kindRules("vlan"))
}

// VxlanOptions say how AddVxlan makes a VXLAN link.
type VxlanOptions struct {
	VNI    int    // the VXLAN network identifier, 1..16777215
	Remote string // the far tunnel end (unicast), or
	Group  string // a multicast group (needs Dev)
	Local  string // the source address of the tunnel's UDP packets ("" lets routing pick)
	Dev    string // the underlay link, in the namespace the call is made in
	// Port is the UDP destination port; 0 means 4789, the IANA port (the
	// kernel's own default, 8472, predates it).
	Port int
	// NoLearning turns off learning remote MACs from received packets.
	NoLearning bool
	// NetNS, when set, is where the link is created; its UDP socket stays
	// in the namespace the call is made in (the underlay).
	NetNS *NS
	Up    bool
}

// VxlanPort is the UDP port AddVxlan uses unless told another.
const VxlanPort = 4789

// AddVxlan makes a VXLAN link (ip link add NAME type vxlan id VNI remote
// IP dstport PORT dev DEV): Ethernet frames sent to it leave as UDP packets
// to the remote end, from the namespace the call is made in.
func (ns *NS) AddVxlan(name string, o VxlanOptions) error {
	if err := CheckIfName(name); err != nil {
		return err
	}
	if o.VNI < 1 || o.VNI > 1<<24-1 {
		return fmt.Errorf("netlab: vxlan vni must be 1..16777215, got %d", o.VNI)
	}
	if o.Port == 0 {
		o.Port = VxlanPort
	}
	if o.Port < 1 || o.Port > 65535 {
		return fmt.Errorf("netlab: vxlan port must be 1..65535, got %d", o.Port)
	}
	if o.Remote != "" && o.Group != "" {
		return errors.New("netlab: vxlan takes remote (unicast) or group (multicast), not both")
	}
	v := &netlink.Vxlan{LinkAttrs: netlink.NewLinkAttrs(), VxlanId: o.VNI, Port: o.Port, Learning: !o.NoLearning}
	v.Name = name
	call := fmt.Sprintf("link add %s type vxlan id %d", name, o.VNI)
	for _, a := range []struct {
		key, val string
		to       *net.IP
	}{{"remote", o.Remote, &v.Group}, {"group", o.Group, &v.Group}, {"local", o.Local, &v.SrcAddr}} {
		if a.val == "" {
			continue
		}
		ip := net.ParseIP(a.val)
		if ip == nil {
			return fmt.Errorf("netlab: vxlan %s %q: want an IP address", a.key, a.val)
		}
		*a.to = ip
		call += " " + a.key + " " + a.val
	}
	if o.Group != "" && !v.Group.IsMulticast() {
		return fmt.Errorf("netlab: vxlan group %s is not a multicast address (use remote= for one far end)", o.Group)
	}
	if o.Remote != "" && v.Group.IsMulticast() {
		return fmt.Errorf("netlab: vxlan remote %s is a multicast address (use group=)", o.Remote)
	}
	if o.Dev != "" {
		l, err := ns.byName(o.Dev)
		if err != nil {
			return err
		}
		v.VtepDevIndex = l.Attrs().Index
		call += " dev " + o.Dev
	}
	call += fmt.Sprintf(" dstport %d", o.Port)
	if o.NoLearning {
		call += " nolearning"
	}
	if o.NetNS != nil && o.NetNS != ns {
		v.Namespace = netlink.NsFd(o.NetNS.fd)
		call += " netns " + o.NetNS.name
	}
	if o.Up {
		v.Flags = net.FlagUp
	}
	return kerr.New(call, ns.h.LinkAdd(v), kindRules("vxlan"))
}

// AddDummy makes a dummy link (ip link add NAME type dummy): up, it
// takes addresses and routes and drops every packet sent to it.
func (ns *NS) AddDummy(name string, up bool) error {
	if err := CheckIfName(name); err != nil {
		return err
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	if up {
		attrs.Flags = net.FlagUp
	}
	return kerr.New("link add "+name+" type dummy", ns.h.LinkAdd(&netlink.Dummy{LinkAttrs: attrs}), kindRules("dummy"))
}

// TapOptions say how AddTap makes a tap (or tun) link.
type TapOptions struct {
	Tun   bool // a tun link (IP packets, no Ethernet header) instead of tap
	Owner int  // uid allowed to attach to it without CAP_NET_ADMIN; -1 for none
	Group int  // gid likewise; -1 for none
	Up    bool
}

var tunRules = kerr.Rules{
	{Errno: unix.ENOENT, Rule: "there is no /dev/net/tun (the tun driver's misc device, CONFIG_TUN)"},
	{Errno: unix.EACCES, Rule: "opening /dev/net/tun needs read and write permission on the device file (often mode 0600, for root of the host only: root in a user namespace of its own is not that root)"},
	{Errno: unix.EPERM, Rule: "creating a tap or tun link needs CAP_NET_ADMIN in the user namespace that owns the network namespace"},
	{Errno: unix.EBUSY, Rule: "a link of that name exists and is not a tap/tun link this caller may attach to"},
	{Errno: unix.EINVAL, Rule: "a link of that name exists and is of another type"},
}

// tunIfreq is struct ifreq as TUNSETIFF reads it: the name and the flags.
type tunIfreq struct {
	name  [unix.IFNAMSIZ]byte
	flags uint16
	_     [22]byte
}

// AddTap makes a persistent tap or tun link in ns, as `ip tuntap add NAME
// mode tap` does: a thread inside ns opens /dev/net/tun (the link goes to
// the network namespace of the opener), TUNSETIFF names it, TUNSETPERSIST
// keeps it after the descriptor is closed. It lives until deleted or until
// its namespace goes; a program attaches to it by name (TUNSETIFF again).
func (ns *NS) AddTap(name string, o TapOptions) error {
	if err := CheckIfName(name); err != nil {
		return err
	}
	mode := "tap"
	var req tunIfreq
	copy(req.name[:], name)
	req.flags = unix.IFF_TAP | unix.IFF_NO_PI
	if o.Tun {
		mode, req.flags = "tun", unix.IFF_TUN|unix.IFF_NO_PI
	}
	call := "tuntap add " + name + " mode " + mode
	err := ns.Do(func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return kerr.New(`open("/dev/net/tun")`, err, tunRules)
		}
		defer unix.Close(fd)
		if err := ioctlPtr(fd, unix.TUNSETIFF, unsafe.Pointer(&req)); err != nil {
			return kerr.New(call+": ioctl(TUNSETIFF)", err, tunRules)
		}
		if o.Owner >= 0 {
			if err := unix.IoctlSetInt(fd, unix.TUNSETOWNER, o.Owner); err != nil {
				return kerr.New(call+": ioctl(TUNSETOWNER)", err, tunRules)
			}
		}
		if o.Group >= 0 {
			if err := unix.IoctlSetInt(fd, unix.TUNSETGROUP, o.Group); err != nil {
				return kerr.New(call+": ioctl(TUNSETGROUP)", err, tunRules)
			}
		}
		return kerr.New(call+": ioctl(TUNSETPERSIST)", unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 1), tunRules)
	})
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			// no /dev/net/tun: say what the configuration says
			return fmt.Errorf("%w (%s)", err, missingKind(mode))
		}
		return err
	}
	if o.Up {
		return ns.SetUp(name)
	}
	return nil
}

func ioctlPtr(fd int, req uint, p unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(p))
	if e != 0 {
		return e
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// kernelConfigText is the kernel's configuration as text and its file.
func kernelConfigText() (string, string, error) {
	if text, err := readGzip("/proc/config.gz"); err == nil {
		return text, "/proc/config.gz", nil
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", err
	}
	p := "/boot/config-" + unix.ByteSliceToString(u.Release[:])
	b, err := os.ReadFile(p)
	if err != nil {
		return "", "", fmt.Errorf("no kernel configuration readable (/proc/config.gz, %s): %w", p, err)
	}
	return string(b), p, nil
}

func readGzip(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(z)
	return string(b), err
}
