package lua

import (
	"fmt"
	"net"
	"time"

	"nsh/runtime/cleanup"
	"nsh/runtime/netlab"

	glua "github.com/yuin/gopher-lua"
)

// The net module: links, veth, bridges, addresses, routes, ping and a DNS
// responder, in the interpreter's current network namespace or in one named
// explicitly (a "where" value), always through a netlink handle bound to that
// namespace so the interpreter's thread never moves.

const whereDoc = "where: nil (the shell's current network namespace), a pid, a process handle, a pinned name " +
	"(/run/netns/NAME) or path, a lab (its outer, hub namespace) or a lab node."

func (s *Session) netModule() *Module {
	return &Module{
		Name: "net",
		Doc: "Networking through netlink (never by running ip): links, veth pairs, bridges, addresses, routes, an ICMP ping and a " +
			"tiny DNS responder, in the shell's current network namespace or in one named explicitly without moving the shell. " +
			whereDoc + " And net.lab{...}: topologies of nodes and bridges inside namespaces of their own, torn down at exit.",
		Funcs: append(append([]Func{
			s.monitorFunc(),
			{Name: "links", Args: "([where])", Fn: s.inNS(1, nil, func(L *glua.LState, ns *netlab.NS, _ options) (glua.LValue, error) {
				ls, err := ns.Links()
				return linksTable(L, ls), err
			}),
				Doc: "Lists the links of a namespace: {name=, index=, type=, state=, flags=, mtu=, mac=, addrs={cidr...}, master=, " +
					"port_state=, peer=, peer_index=, peer_nsid=}. type is veth, bridge, loopback, ...; state is the operstate (UP, DOWN, ...).",
				Example: "for _, l in ipairs(net.links()) do print(l.name, l.type, l.state) end"},
			{Name: "link", Args: "(name, [where])", Fn: s.inNS(2, nil, func(L *glua.LState, ns *netlab.NS, _ options) (glua.LValue, error) {
				l, err := ns.Link(argLinkName(L, 1))
				return linkTable(L, l), err
			}),
				Doc: "One link, as a record of net.links; raises ENODEV if there is none of that name.", Example: "print(net.link(\"lo\").state)"},
			{Name: "up", Args: "(name, [where])", Fn: s.onLink((*netlab.NS).SetUp),
				Doc: "Brings a link up (ip link set NAME up). Its operstate follows once it has a carrier (a veth needs its peer up too).", Example: "net.up(\"lo\")"},
			{Name: "down", Args: "(name, [where])", Fn: s.onLink((*netlab.NS).SetDown),
				Doc: "Takes a link down (ip link set NAME down).", Example: "net.veth(\"veth0\", \"veth1\", {up = true})\nnet.down(\"veth0\")\nnet.delete(\"veth0\")"},
			{Name: "delete", Args: "(name, [where])", Fn: s.onLink((*netlab.NS).DelLink),
				Doc: "Deletes a link; deleting one end of a veth pair deletes both, wherever the peer is.", Example: "net.veth(\"veth0\", \"veth1\")\nnet.delete(\"veth0\")   -- its peer goes with it"},
			{Name: "nomaster", Args: "(name, [where])", Fn: s.onLink((*netlab.NS).NoMaster),
				Doc: "Releases a link from its bridge (ip link set NAME nomaster).", Example: "net.veth(\"veth21-br\", \"veth21\", {ns = lab})\nnet.master(\"veth21-br\", \"ex0\", lab)\nnet.nomaster(\"veth21-br\", lab)\nnet.delete(\"veth21-br\", lab)"},
			{Name: "master", Args: "(name, bridge, [where])", Fn: s.inNS(3, nil, func(L *glua.LState, ns *netlab.NS, _ options) (glua.LValue, error) {
				return nil, ns.SetMaster(argLinkName(L, 1), argLinkName(L, 2))
			}),
				Doc:     "Makes a link a port of a bridge (ip link set NAME master BRIDGE). EXFULL when the bridge has 1023 ports already.",
				Example: "net.veth(\"testenv-veth1\", \"testenv-peer1\", {ns = lab})\nnet.master(\"testenv-veth1\", \"ex0\", lab)   -- a port of the lab's bridge ex0\nnet.delete(\"testenv-veth1\", lab)"},
			{Name: "mtu", Args: "(name, mtu, [where])", Fn: s.inNS(3, nil, func(L *glua.LState, ns *netlab.NS, _ options) (glua.LValue, error) {
				return nil, ns.SetMTU(argLinkName(L, 1), argInt(L, 2, "mtu", 68, 65535))
			}),
				Doc: "Sets a link's MTU (68..65535 for IPv4 links; the kernel checks the device's range).", Example: "net.veth(\"veth0\", \"veth1\")\nnet.mtu(\"veth0\", 1400); print(net.link(\"veth0\").mtu)\nnet.delete(\"veth0\")"},
			{Name: "addr", Args: "(name, cidr, [{nodad=, ns=}])", Fn: s.inNS(3, []string{"nodad"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
				return nil, ns.AddAddr(argLinkName(L, 1), argCIDR(L, 2), o.Bool("nodad", false))
			}),
				Doc: "Adds an IPv4 or IPv6 address in CIDR form (\"10.53.57.21/24\", \"fd00::21/64\"). nodad=true skips IPv6 duplicate " +
					"address detection, so the address is usable at once instead of tentative for about a second. The third argument may also be a where value.",
				Example: "net.addr(\"eth0\", \"10.53.57.21/24\", {ns = lab.h1})   -- in a lab node\nnet.veth(\"veth0\", \"veth1\"); net.addr(\"veth0\", \"fd00::1/64\", {nodad = true})\nnet.delete(\"veth0\")"},
			{Name: "deladdr", Args: "(name, cidr, [where])", Fn: s.inNS(3, nil, func(L *glua.LState, ns *netlab.NS, _ options) (glua.LValue, error) {
				return nil, ns.DelAddr(argLinkName(L, 1), argCIDR(L, 2))
			}),
				Doc: "Removes an address (CIDR form) from a link.", Example: "net.veth(\"veth0\", \"veth1\"); net.addr(\"veth0\", \"10.53.57.1/24\")\nnet.deladdr(\"veth0\", \"10.53.57.1/24\")\nnet.delete(\"veth0\")"},
			{Name: "setns", Args: "(name, to, [where])", Fn: s.inNS(3, nil, func(L *glua.LState, from *netlab.NS, _ options) (glua.LValue, error) {
				name := argLinkName(L, 1)
				if L.Get(2) == glua.LNil {
					argErr(L, 2, "target namespace expected: "+whereDoc)
				}
				to, done := s.netOpen(L, L.Get(2), 2)
				defer done()
				return nil, from.MoveTo(name, to)
			}),
				Doc: "Moves a link into another network namespace (ip link set NAME netns TO). to: a pid, process handle, pinned name, path, " +
					"lab or lab node. The kernel takes the link down and drops its addresses on the way.",
				Example: "net.veth(\"testenv-veth1\", \"testenv-peer1\", {ns = lab})\nnet.setns(\"testenv-veth1\", lab.h1, lab)   -- from the hub into node h1\nprint(net.link(\"testenv-veth1\", lab.h1).name)"},
			{Name: "veth", Args: "(name, peer, [{ns=, peer_ns=, up=}])", Fn: s.inNS(3, []string{"peer_ns", "up"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
				name, peer, pns := argLinkName(L, 1), argLinkName(L, 2), ns
				if o.Has("peer_ns") {
					p, done := s.netOpen(L, o.Value("peer_ns"), 3)
					defer done()
					pns = p
				}
				if o.Bool("up", false) {
					return nil, ns.AddVethUp(name, peer, pns)
				}
				return nil, ns.AddVeth(name, peer, pns)
			}),
				Doc: "Creates a veth pair: name in ns (default: current), peer in peer_ns (default: the same namespace). The peer is created " +
					"directly in its namespace, so nothing moves afterwards. up=true brings both ends up.",
				Example: "net.veth(\"veth0\", \"veth1\", {peer_ns = h, up = true})"},
			{Name: "bridge", Args: "(name, [{ns=, addr=, up=, forward_delay=}])", Fn: s.inNS(2, []string{"addr", "up", "forward_delay"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
				name := argLinkName(L, 1)
				bo := netlab.BridgeOptions{KeepForwardDelay: o.Number("forward_delay", 0, 0, 30) != 0, CIDR: o.String("addr", ""), Up: o.Bool("up", true)}
				if err := netlab.CheckCIDR(bo.CIDR); bo.CIDR != "" && err != nil {
					argErr(L, 2, "option addr: "+err.Error())
				}
				return nil, ns.NewBridge(name, bo)
			}),
				Doc: "Creates a bridge (STP off). forward_delay defaults to 0, so a new port forwards at once instead of spending 15 s " +
					"listening and learning (any other value keeps the kernel default of 15 s); addr gives it an address; up (default true) brings it up.",
				Example: "net.bridge(\"br0\", {addr = \"10.53.57.11/24\"})"},
			{Name: "wait_up", Args: "(names, [{ns=, timeout=}])", Fn: s.inNS(2, []string{"timeout"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
				return nil, ns.WaitUp(seconds(o.Number("timeout", 5, 0.001, 3600)), argNames(L, 1)...)
			}),
				Doc: "Waits (default 5 s) until every named link is up with operstate UP, by listening to netlink link " +
					"notifications (never sleeping). A link set up is not at once UP: the kernel's link watcher first checks the carrier " +
					"(a veth has one when its peer is up too). names: a name or a list.",
				Example: "net.veth(\"veth0\", \"veth1\")\nnet.up(\"veth0\"); net.up(\"veth1\")\nnet.wait_up(\"veth0\")\nnet.delete(\"veth0\")"},
			{Name: "routes", Args: "([where])", Fn: s.inNS(1, nil, func(L *glua.LState, ns *netlab.NS, _ options) (glua.LValue, error) {
				rs, err := ns.Routes()
				return routesTable(L, rs), err
			}),
				Doc:     "The main routing table: {dst=, via=, dev=, src=, scope=, proto=, family=} (dst \"default\" for the default route).",
				Example: "for _, r in ipairs(net.routes()) do print(r.dst, r.via, r.dev) end"},
			{Name: "route_add", Args: "(dst, [{via=, dev=, ns=}])", Fn: s.inNS(2, []string{"via", "dev"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
				return nil, ns.AddRoute(argRoute(L, o, true))
			}),
				Doc: "Adds a route: dst is \"default\", a CIDR or an IP; via a gateway; dev a link. ENETUNREACH: the gateway is not on " +
					"any connected network.", Example: "net.route_add(\"default\", {via = \"10.53.57.63\", ns = lab})"},
			{Name: "route_del", Args: "(dst, [{via=, dev=, ns=}])", Fn: s.inNS(2, []string{"via", "dev"}, func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error) {
				return nil, ns.DelRoute(argRoute(L, o, false))
			}),
				Doc: "Deletes a route given as for route_add.", Example: "net.route_add(\"default\", {dev = \"ex0\", ns = lab})\nnet.route_del(\"default\", {ns = lab})"},
			{Name: "ping", Args: "(dst, [{count=, timeout=, ns=}])", Fn: s.netPing,
				Doc: "Sends ICMP echo requests (written in Go) to an IPv4/IPv6 literal, one after the other, each waiting up to timeout " +
					"seconds (default 1) for its reply; count defaults to 1. Returns the round-trip times in milliseconds, and a message " +
					"as second value when replies were lost (never raises for lost replies).",
				Example: "local rtts, err = net.ping(\"10.53.57.12\", {count = 3, ns = lab.h1})   -- h1 pings h2\nassert(#rtts == 3, err)"},
			{Name: "dns_hub", Args: "{addr=, records=, ns=}", Fn: s.netDNSHub,
				Doc: "Starts a tiny authoritative UDP DNS responder (like Samba's dns_hub) on addr (\"10.53.57.64\" or IP:PORT, port 53) " +
					"inside ns, answering A/AAAA records from records = {name = \"ip\" or {ips}} and NXDOMAIN for every other name. " +
					"Returns a handle with :stop() and :set(records); stopped at exit.",
				Example: "local lab = net.lab{name = \"dnsdemo\"}\nlab:bridge(\"dnsdemo0\", \"10.53.58.1/24\")\nlab:link(lab:node(\"dns\"), \"dnsdemo0\", {addr = \"10.53.58.64/24\"}); lab:wait()\nlocal hub = net.dns_hub{addr = \"10.53.58.64\", ns = lab.dns, records = {[\"dc1.samba.example.com\"] = \"10.53.57.21\"}}\nprint(net.resolve(\"dc1.samba.example.com\", {server = \"10.53.58.64\", ns = lab.dns})[1])"},
			{Name: "resolve", Args: "(name, {server=, ns=})", Fn: s.netResolve,
				Doc: "Asks a DNS server (IP or IP:PORT) for the A and AAAA records of name from namespace ns; returns the addresses " +
					"as strings. NXDOMAIN raises.", Example: "print(net.resolve(\"dc1.samba.example.com\", {server = \"10.53.57.64\", ns = lab.h1})[1])   -- asks hub"},
			{Name: "lab", Args: "{name=, pin=, outer=, ipv6=, dir=, helpers=, userns=, holders=}", Fn: s.netLab,
				Doc: "Makes a lab: an outer network namespace (the hub, named after the lab) where bridges live, and nodes added with " +
					"lab:node(name, {...}) and joined with lab:link(node, bridge, {...}). pin (default \"auto\") pins every namespace under " +
					"/run/netns (NAME and NAME-NODE) for ip netns exec and nsenter; \"auto\" skips pinning with a one-line message where /run/netns " +
					"is not writable (as an ordinary user inside nsh's user namespace), also when the name is taken there already (EEXIST, e.g. root's lab of that name). outer=false puts the hub in the current namespace. " +
					"IPv6 is on in the lab's namespaces, as in any new one, and the lab's addresses are nodad (usable at once: Samba's " +
					"fd00::5357:5fXX/112 beside 10.53.57.XX); ipv6=false turns it off (net.ipv6.conf.{all,default}.disable_ipv6=1: an " +
					"IPv6 address is then EACCES), which keeps a big lab quieter (no DAD, MLD or router solicitations flooded by the bridges). " +
					"Every node gets an nsenter.sh helper under dir (default: a directory of its own in your state directory, which only you can write: /run/nsh/labs as root, $XDG_RUNTIME_DIR/nsh/labs or TMPDIR/nsh-UID/labs otherwise), also used by `nsh --enter NODE` (which runs only helpers of your own labs) " +
					"(helpers=false skips them, for big labs). " +
					"holders=false gives plain nodes (no namespace but their network one) no first process: nsh holds each by a " +
					"descriptor instead (view.namespaces() shows it) until node:stop() or the end, and they have no pid; a big lab saves " +
					"a process start per node. " +
					"userns=true puts the lab in a user namespace of its own, as Samba's selftest does with unshare --user --map-root-user: " +
					"the hub's and every node's namespaces are owned by it (lab.userns), and what runs in a node is root there with every " +
					"capability over the lab's namespaces and none over the machine's; root inside is nobody (65534) outside when nsh runs as " +
					"root (mapping root to root would leave the nodes uid 0 for every file of the machine: /etc, /proc/sys/kernel), nsh's own " +
					"user otherwise. Its nodes may have uts, mnt, ipc and cgroup namespaces besides their network one. " +
					"Everything is torn down at exit (or lab:close()) by dropping the namespaces.",
				Example: "local lab = net.lab{name = \"selftest\"}\nlab:bridge(\"selftest0\", \"10.53.57.11/24\")\nlocal dc = lab:node(\"ad_dc\")\nlab:link(dc, \"selftest0\", {ifname = \"veth21\", brname = \"veth21-br\", addr = \"10.53.57.21/24\"})\nlab:wait()\nprint(lab.ad_dc:run(\"ip -br a\"))"},
		}, s.netKindFuncs()...), s.labTopoFuncs()...),
	}
}

// openNode opens a running node's network namespace for one call (nsh
// holds nothing of a node between calls).
func openNode(L *glua.LState, argn int, n *netlab.Node) (*netlab.NS, func()) {
	ns, err := n.Open()
	if err != nil {
		raiseErr(L, err)
	}
	return ns, func() { ns.Close() }
}

// netOpen resolves a where value to an open namespace; done releases what
// this call opened.
func (s *Session) netOpen(L *glua.LState, v glua.LValue, argn int) (*netlab.NS, func()) {
	keep := func() {}
	var t netlab.Target
	switch v := v.(type) {
	case *glua.LNilType:
		t = netlab.Self()
	case glua.LNumber:
		if float64(v) < 1 || float64(v) != float64(int(v)) {
			argErr(L, argn, "a pid must be a positive whole number")
		}
		t = netlab.PID(int(v))
	case glua.LString:
		str := string(v)
		if str == "" {
			argErr(L, argn, "empty namespace name: "+whereDoc)
		}
		if n := s.findNode(str); n != nil {
			return openNode(L, argn, n)
		}
		if l := s.findLab(str); l != nil {
			return l.l.Outer(), keep
		}
		t = netlab.Named(str)
	case *glua.LUserData:
		switch h := v.Value.(type) {
		case *procHandle:
			t = netlab.PID(h.p.Pid)
		case *luaLab:
			if h.l.Closed() {
				argErr(L, argn, "the lab is closed")
			}
			return h.l.Outer(), keep
		case *netlab.Node:
			if h.Lab().Closed() {
				argErr(L, argn, "the node's lab is closed")
			}
			return openNode(L, argn, h)
		default:
			argErr(L, argn, "unknown userdata: "+whereDoc)
		}
	default:
		argErr(L, argn, typeName(v)+" is not a namespace: "+whereDoc)
	}
	ns, err := netlab.Open(t)
	if err != nil {
		raiseErr(L, err)
	}
	return ns, func() { ns.Close() }
}

// inNS binds a call in the namespace argument n names: a where value or,
// when the call takes options (valid), the ns= of an options table there.
// fn reads the other arguments, calls runtime and returns the result (nil
// for none).
func (s *Session) inNS(n int, valid []string, fn func(L *glua.LState, ns *netlab.NS, o options) (glua.LValue, error)) glua.LGFunction {
	return func(L *glua.LState) int {
		o, where := options{L: L, n: n, t: L.NewTable()}, L.Get(n)
		if valid != nil {
			o, where = optsOrWhere(L, n, valid...)
		}
		ns, done := s.netOpen(L, where, n)
		defer done()
		v, err := fn(L, ns, o)
		if err != nil {
			return raiseErr(L, err, hint(L, err))
		}
		if v == nil {
			return 0
		}
		L.Push(v)
		return 1
	}
}

// onLink binds a call on one link: (name, [where]).
func (s *Session) onLink(call func(ns *netlab.NS, name string) error) glua.LGFunction {
	return s.inNS(2, nil, func(L *glua.LState, ns *netlab.NS, _ options) (glua.LValue, error) {
		return nil, call(ns, argLinkName(L, 1))
	})
}

// argNames reads a link name or a list of them.
func argNames(L *glua.LState, n int) []string {
	names, err := stringList(L, L.Get(n), "names")
	if err != nil || len(names) == 0 {
		argErr(L, n, "a link name or a list of names expected")
	}
	return names
}

// argRoute reads a route: dst (argument 1) and the options via= and dev=
// (a new route needs one of them).
func argRoute(L *glua.LState, o options, add bool) (dst, via, dev string) {
	dst = argString(L, 1, "destination (\"default\", a CIDR like \"10.0.0.0/8\" or an IP)")
	if err := netlab.CheckRouteDst(dst); err != nil {
		argErr(L, 1, err.Error())
	}
	via, dev = o.String("via", ""), o.String("dev", "")
	if via != "" && net.ParseIP(via) == nil {
		argErr(L, 2, fmt.Sprintf("option via %q: want an IP address", via))
	}
	if add && via == "" && dev == "" {
		argErr(L, 2, "a route needs via= (gateway) or dev= (link)")
	}
	return dst, via, dev
}

func routesTable(L *glua.LState, rs []netlab.RouteInfo) *glua.LTable {
	t := L.CreateTable(len(rs), 0)
	for _, r := range rs {
		e := L.NewTable()
		for k, v := range map[string]string{"dst": r.Dst, "via": r.Via, "dev": r.Dev, "src": r.Src, "scope": r.Scope, "proto": r.Proto, "family": r.FamilyName()} {
			e.RawSetString(k, glua.LString(v))
		}
		t.Append(e)
	}
	return t
}

// optsOrWhere reads argument n as an options table with keys valid and ns
// (returning it and its ns) or as a where value (and empty options).
func optsOrWhere(L *glua.LState, n int, valid ...string) (options, glua.LValue) {
	if _, ok := L.Get(n).(*glua.LTable); ok {
		o := argOptions(L, n, append(valid, "ns")...)
		return o, o.Value("ns")
	}
	return options{L: L, n: n, t: L.NewTable()}, L.Get(n)
}

// argLinkName reads a link name (the kernel's rule, netlab.CheckIfName).
func argLinkName(L *glua.LState, n int) string {
	name := argString(L, n, "link name (a string like \"veth0\")")
	if err := netlab.CheckIfName(name); err != nil {
		argErr(L, n, err.Error())
	}
	return name
}

// argCIDR reads an address in CIDR form.
func argCIDR(L *glua.LState, n int) string {
	cidr := argString(L, n, "address in CIDR form (\"10.53.57.21/24\" or \"fd00::1/64\")")
	if err := netlab.CheckCIDR(cidr); err != nil {
		argErr(L, n, err.Error())
	}
	return cidr
}

func linkTable(L *glua.LState, l netlab.LinkInfo) *glua.LTable {
	t := L.NewTable()
	for k, v := range map[string]string{"name": l.Name, "type": l.Type, "state": l.State, "mac": l.MAC} {
		t.RawSetString(k, glua.LString(v))
	}
	for k, v := range map[string]string{"master": l.Master, "port_state": l.PortState, "peer": l.Peer} {
		if v != "" {
			t.RawSetString(k, glua.LString(v))
		}
	}
	t.RawSetString("index", glua.LNumber(l.Index))
	t.RawSetString("mtu", glua.LNumber(l.MTU))
	t.RawSetString("flags", strList(L, l.Flags))
	t.RawSetString("addrs", strList(L, l.Addrs))
	if l.Type == "veth" {
		t.RawSetString("peer_index", glua.LNumber(l.PeerIndex))
		t.RawSetString("peer_nsid", glua.LNumber(l.PeerNSID))
	}
	return t
}

func linksTable(L *glua.LState, ls []netlab.LinkInfo) *glua.LTable {
	t := L.CreateTable(len(ls), 0)
	for _, l := range ls {
		t.Append(linkTable(L, l))
	}
	return t
}

func (s *Session) netPing(L *glua.LState) int {
	var dst string
	if v, ok := L.Get(1).(glua.LString); ok && net.ParseIP(string(v)) != nil {
		dst = string(v)
	} else if ud, ok := L.Get(1).(*glua.LUserData); ok {
		if n, ok := ud.Value.(*netlab.Node); ok {
			dst = n.IP()
		}
	}
	if dst == "" {
		return argErr(L, 1, fmt.Sprintf("destination must be an IPv4 or IPv6 literal (\"10.53.57.22\") or a lab node with an address, got %s", L.Get(1).String()))
	}
	o, where := optsOrWhere(L, 2, "count", "timeout")
	count := o.Int("count", 1, 1, 1000)
	timeout := o.Number("timeout", 1, 0.001, 3600)
	ns, done := s.netOpen(L, where, 2)
	defer done()
	rtts, err := ns.Ping(dst, count, seconds(timeout))
	return pushPing(L, rtts, err)
}

// pushPing returns the round-trip times in milliseconds, and the error
// (lost replies, unreachable) as a second value.
func pushPing(L *glua.LState, rtts []time.Duration, err error) int {
	t := L.NewTable()
	for _, r := range rtts {
		t.Append(glua.LNumber(float64(r.Microseconds()) / 1000))
	}
	L.Push(t)
	if err != nil {
		L.Push(glua.LString(err.Error()))
		return 2
	}
	return 1
}

// ---- DNS ----

const dnsType = "nsh.dnshub"

// dnsHubMethods are a DNS hub's methods.
var dnsHubMethods = []Func{
	{Name: "stop", Args: "()", Method: (*Session).hubStop,
		Doc: "Stops the responder and closes its socket (also done when nsh ends).", Example: "hub:stop()"},
	{Name: "set", Args: "(records)", Method: (*Session).hubSet,
		Doc:     "Replaces the records it answers: {name = \"10.53.57.21\"} or {name = {\"addr\", ...}}.",
		Example: "hub:set{dc1 = \"10.53.57.21\", dc2 = \"10.53.57.22\"}"},
}

type dnsHub struct {
	srv  *netlab.DNSServer
	item *cleanup.Item
}

func (s *Session) installDNSHubType() {
	s.typeMetatable(dnsType, s.lazyMethods("hub", "hub:", func() []Func { return dnsHubMethods }), func(L *glua.LState, key string) glua.LValue {
		if h := checkHub(L, 1); key == "addr" {
			return glua.LString(h.srv.Addr().String())
		}
		return glua.LNil
	}, func(L *glua.LState) string { return "dns hub on " + checkHub(L, 1).srv.Addr().String() })
}

func checkHub(L *glua.LState, n int) *dnsHub {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if h, ok := ud.Value.(*dnsHub); ok {
			return h
		}
	}
	argErr(L, n, "DNS hub expected (call methods with a colon: hub:stop())")
	return nil
}

// argRecords reads records {name = "ip" or {"ip", ...}} from v (argument n).
func argRecords(L *glua.LState, n int, v glua.LValue) map[string][]net.IP {
	t, ok := v.(*glua.LTable)
	if !ok {
		argErr(L, n, "records must be a table {name = \"ip\" or {\"ip\", ...}}, got "+describe(v))
	}
	text := map[string][]string{}
	t.ForEach(func(k, val glua.LValue) {
		name, ok := k.(glua.LString)
		if !ok {
			argErr(L, n, "record names must be strings, got "+describe(k))
		}
		ips, err := stringList(L, val, "record "+string(name))
		if err != nil {
			argErr(L, n, err.Error())
		}
		text[string(name)] = ips
	})
	recs, err := netlab.ParseRecords(text)
	if err != nil {
		argErr(L, n, err.Error())
	}
	return recs
}

func (s *Session) netDNSHub(L *glua.LState) int {
	o := argOptions(L, 1, "addr", "records", "ns")
	addr, err := netlab.DNSAddr(o.String("addr", ""))
	if !o.Has("addr") {
		return argErr(L, 1, "option addr expected (\"10.53.57.64\" or \"10.53.57.64:53\")")
	} else if err != nil {
		return argErr(L, 1, "option "+err.Error())
	}
	recs := argRecords(L, 1, o.Value("records"))
	ns, done := s.netOpen(L, o.Value("ns"), 1)
	defer done()
	srv, err := netlab.ServeDNSAt(ns, addr, recs)
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(newUD(L, dnsType, &dnsHub{srv: srv, item: s.Reg.Add("dns hub "+addr, srv.Stop)}))
	return 1
}

func (s *Session) hubStop(L *glua.LState) int {
	h := checkHub(L, 1)
	h.item.Forget()
	if err := h.srv.Stop(); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) hubSet(L *glua.LState) int {
	h := checkHub(L, 1)
	h.srv.SetRecords(argRecords(L, 2, L.Get(2)))
	return 0
}

func (s *Session) netResolve(L *glua.LState) int {
	name := argString(L, 1, "name to resolve")
	o := argOptions(L, 2, "server", "ns")
	server := o.String("server", "")
	if server == "" {
		return argErr(L, 2, "option server expected (the DNS server's IP or IP:PORT)")
	}
	ns, done := s.netOpen(L, o.Value("ns"), 2)
	defer done()
	ips, err := netlab.Resolve(ns, server, name)
	if err != nil {
		return raiseErr(L, err)
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	L.Push(strList(L, out))
	return 1
}
