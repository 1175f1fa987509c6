package lua

import (
	"nsh/runtime/netlab"

	glua "github.com/yuin/gopher-lua"
)

// The net module's link types beyond veth and bridge (netlab/kinds.go):
// each made in the namespace ns= names (where its parent or underlay is),
// and where the kernel allows it directly inside another (netns=), as
// `ip link add ... netns X` does.

const kindsDoc = " Where the kernel lacks the driver the error is EOPNOTSUPP with the kernel option that would add it (from /proc/config.gz)."

func (s *Session) netKindFuncs() []Func {
	return []Func{
		{Name: "macvlan", Args: "(name, parent, [{ns=, netns=, mode=, up=}])", Fn: s.inNS(3, []string{"netns", "mode", "up"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
			name, parent := argLinkName(L, 1), argLinkName(L, 2)
			lo := netlab.LowerOptions{Mode: o.Choice("mode", "", netlab.MacvlanModes...), Up: o.Bool("up", false)}
			return nil, s.withNetNS(L, o, func(to *netlab.NS) error { lo.NetNS = to; return ns.AddMacvlan(name, parent, lo) })
		}),
			Doc: "Creates a macvlan link on parent (ip link add link PARENT name NAME type macvlan mode MODE): a link with a MAC of its " +
				"own whose frames leave and enter through the parent. mode: \"bridge\" (default: macvlans on one parent reach each other " +
				"directly), \"private\", \"vepa\", \"passthru\". ns: where the parent is; netns: create the link directly in that namespace " +
				"(a node, say) while the parent stays. up=true brings it up." + kindsDoc,
			Example: "net.macvlan(\"mv0\", \"ex0\", {ns = lab, netns = lab.h1, up = true})   -- on the lab's bridge, inside h1\nprint(net.link(\"mv0\", lab.h1).type)"},
		{Name: "ipvlan", Args: "(name, parent, [{ns=, netns=, mode=, up=}])", Fn: s.inNS(3, []string{"netns", "mode", "up"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
			name, parent := argLinkName(L, 1), argLinkName(L, 2)
			lo := netlab.LowerOptions{Mode: o.Choice("mode", "", netlab.IPVlanModes...), Up: o.Bool("up", false)}
			return nil, s.withNetNS(L, o, func(to *netlab.NS) error { lo.NetNS = to; return ns.AddIPVlan(name, parent, lo) })
		}),
			Doc: "Creates an ipvlan link on parent (ip link add link PARENT name NAME type ipvlan mode MODE): it shares the parent's " +
				"MAC and is told apart by its IP addresses. mode: \"l2\" (default), \"l3\", \"l3s\"; ns, netns, up as for net.macvlan." + kindsDoc,
			Example: "local ok, err = pcall(net.ipvlan, \"iv0\", \"ex0\", {ns = lab, netns = lab.h1})\nprint(ok or err)"},
		{Name: "vlan", Args: "(name, parent, id, [{ns=, netns=, up=}])", Fn: s.inNS(4, []string{"netns", "up"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
			name, parent, id := argLinkName(L, 1), argLinkName(L, 2), argInt(L, 3, "vlan id", 1, 4094)
			lo := netlab.LowerOptions{Up: o.Bool("up", false)}
			return nil, s.withNetNS(L, o, func(to *netlab.NS) error { lo.NetNS = to; return ns.AddVlan(name, parent, id, lo) })
		}),
			Doc: "Creates an 802.1Q VLAN link on parent (ip link add link PARENT name NAME type vlan id ID): what it sends leaves the " +
				"parent tagged with id (1..4094), and the parent hands it what arrives with that tag. ns, netns, up as for net.macvlan." + kindsDoc,
			Example: "local ok, err = pcall(net.vlan, \"eth0.10\", \"eth0\", 10, {ns = lab.h1})\nprint(ok or err)"},
		{Name: "vxlan", Args: "(name, {vni=, remote=, group=, local=, dev=, port=, learning=, ns=, netns=, up=})",
			Fn: s.inNS(2, []string{"vni", "remote", "group", "local", "dev", "port", "learning", "netns", "up"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
				name := argLinkName(L, 1)
				if !o.Has("vni") {
					argErr(L, 2, "option vni expected (the VXLAN network identifier, 1..16777215)")
				}
				vo := netlab.VxlanOptions{VNI: o.Int("vni", 0, 1, 1<<24-1), Remote: o.String("remote", ""), Group: o.String("group", ""),
					Local: o.String("local", ""), Dev: o.String("dev", ""), Port: o.Int("port", netlab.VxlanPort, 1, 65535),
					NoLearning: !o.Bool("learning", true), Up: o.Bool("up", false)}
				return nil, s.withNetNS(L, o, func(to *netlab.NS) error { vo.NetNS = to; return ns.AddVxlan(name, vo) })
			}),
			Doc: "Creates a VXLAN link (ip link add NAME type vxlan id VNI remote IP dev DEV dstport PORT): Ethernet frames sent to it " +
				"leave as UDP packets to remote (or the multicast group) from the namespace ns, and frames that arrive so come out of it. " +
				"port defaults to 4789, the IANA port (the kernel's own default, 8472, predates it); learning=false stops learning remote " +
				"MACs from what arrives; netns creates the link in another namespace while its UDP socket stays in ns (the underlay)." + kindsDoc,
			Example: "net.vxlan(\"vx0\", {vni = 42, remote = \"10.53.57.12\", dev = \"eth0\", ns = lab.h1, up = true})\n" +
				"net.vxlan(\"vx0\", {vni = 42, remote = \"10.53.57.11\", dev = \"eth0\", ns = lab.h2, up = true})\n" +
				"net.addr(\"vx0\", \"192.168.42.1/24\", lab.h1); net.addr(\"vx0\", \"192.168.42.2/24\", lab.h2)\n" +
				"assert(#net.ping(\"192.168.42.2\", {ns = lab.h1}) == 1)   -- through the tunnel"},
		{Name: "dummy", Args: "(name, [{ns=, up=}])", Fn: s.inNS(2, []string{"up"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
			return nil, ns.AddDummy(argLinkName(L, 1), o.Bool("up", false))
		}),
			Doc:     "Creates a dummy link (ip link add NAME type dummy): it takes addresses and routes and drops what is sent to it." + kindsDoc,
			Example: "local ok, err = pcall(net.dummy, \"d0\", {ns = lab.h1})\nprint(ok or err)"},
		{Name: "tap", Args: "(name, [{ns=, tun=, owner=, group=, up=}])", Fn: s.inNS(2, []string{"tun", "owner", "group", "up"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
			to := netlab.TapOptions{Tun: o.Bool("tun", false), Owner: o.Int("owner", -1, -1, 1<<32-2), Group: o.Int("group", -1, -1, 1<<32-2), Up: o.Bool("up", false)}
			return nil, ns.AddTap(argLinkName(L, 1), to)
		}),
			Doc: "Creates a persistent tap link (tun=true: a tun link, IP packets without Ethernet header) inside ns, as ip tuntap add " +
				"does: a thread in ns opens /dev/net/tun (the link goes to the opener's network namespace), TUNSETIFF names it, " +
				"TUNSETPERSIST keeps it once the descriptor closes. owner/group: a uid/gid that may attach to it without CAP_NET_ADMIN. " +
				"Without a program attached it has no carrier (state DOWN). Opening /dev/net/tun needs read-write access to it: EACCES " +
				"where it is root's, mode 0600 (as for an ordinary user here).",
			Example: "local ok, err = pcall(net.tap, \"tap0\", {ns = lab.h1, up = true})\nprint(ok and net.link(\"tap0\", lab.h1).type or err)"},
	}
}

// withNetNS runs add with the namespace option netns= names (nil if none).
func (s *Session) withNetNS(L *glua.LState, o options, add func(to *netlab.NS) error) error {
	if !o.Has("netns") {
		return add(nil)
	}
	to, done := s.netOpen(L, o.Value("netns"), o.n)
	defer done()
	return add(to)
}
