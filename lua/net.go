package lua

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

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
	s.installLabTypes()
	return &Module{
		Name: "net",
		Doc: "Networking through netlink (never by running ip): links, veth pairs, bridges, addresses, routes, an ICMP ping and a " +
			"tiny DNS responder, in the shell's current network namespace or in one named explicitly without moving the shell. " +
			whereDoc + " And net.lab{...}: topologies of nodes and bridges inside namespaces of their own, torn down at exit.",
		Funcs: []Func{
			{Name: "links", Args: "([where])", Fn: s.netLinks,
				Doc: "Lists the links of a namespace: {name=, index=, type=, state=, flags=, mtu=, mac=, addrs={cidr...}, master=, " +
					"port_state=, peer=, peer_index=, peer_nsid=}. type is veth, bridge, loopback, ...; state is the operstate (UP, DOWN, ...).",
				Example: "for _, l in ipairs(net.links()) do print(l.name, l.type, l.state) end"},
			{Name: "link", Args: "(name, [where])", Fn: s.netLink,
				Doc: "One link, as a record of net.links; raises ENODEV if there is none of that name.", Example: "print(net.link(\"lo\").state)"},
			{Name: "up", Args: "(name, [where])", Fn: s.netSimple("up"),
				Doc: "Brings a link up (ip link set NAME up). Its operstate follows once it has a carrier (a veth needs its peer up too).", Example: "net.up(\"lo\")"},
			{Name: "down", Args: "(name, [where])", Fn: s.netSimple("down"),
				Doc: "Takes a link down (ip link set NAME down).", Example: "net.down(\"veth0\")"},
			{Name: "delete", Args: "(name, [where])", Fn: s.netSimple("delete"),
				Doc: "Deletes a link; deleting one end of a veth pair deletes both, wherever the peer is.", Example: "net.delete(\"veth0\")"},
			{Name: "nomaster", Args: "(name, [where])", Fn: s.netSimple("nomaster"),
				Doc: "Releases a link from its bridge (ip link set NAME nomaster).", Example: "net.nomaster(\"veth21-br\", lab)"},
			{Name: "master", Args: "(name, bridge, [where])", Fn: s.netMaster,
				Doc:     "Makes a link a port of a bridge (ip link set NAME master BRIDGE). EXFULL when the bridge has 1023 ports already.",
				Example: "net.master(\"testenv-veth1\", \"selftest0\", lab)"},
			{Name: "mtu", Args: "(name, mtu, [where])", Fn: s.netMTU,
				Doc: "Sets a link's MTU (68..65535 for IPv4 links; the kernel checks the device's range).", Example: "net.mtu(\"veth0\", 1400)"},
			{Name: "addr", Args: "(name, cidr, [{nodad=, ns=}])", Fn: s.netAddr,
				Doc: "Adds an IPv4 or IPv6 address in CIDR form (\"10.53.57.21/24\", \"fd00::21/64\"). nodad=true skips IPv6 duplicate " +
					"address detection, so the address is usable at once instead of tentative for about a second. The third argument may also be a where value.",
				Example: "net.addr(\"veth21\", \"10.53.57.21/24\", {ns = lab.ad_dc})\nnet.addr(\"veth0\", \"fd00::1/64\", {nodad = true})"},
			{Name: "deladdr", Args: "(name, cidr, [where])", Fn: s.netDelAddr,
				Doc: "Removes an address (CIDR form) from a link.", Example: "net.deladdr(\"veth0\", \"10.53.57.1/24\")"},
			{Name: "setns", Args: "(name, to, [where])", Fn: s.netSetns,
				Doc: "Moves a link into another network namespace (ip link set NAME netns TO). to: a pid, process handle, pinned name, path, " +
					"lab or lab node. The kernel takes the link down and drops its addresses on the way.",
				Example: "net.setns(\"testenv-veth1\", lab, lab.pc)"},
			{Name: "veth", Args: "(name, peer, [{ns=, peer_ns=, up=}])", Fn: s.netVeth,
				Doc: "Creates a veth pair: name in ns (default: current), peer in peer_ns (default: the same namespace). The peer is created " +
					"directly in its namespace, so nothing moves afterwards. up=true brings both ends up.",
				Example: "net.veth(\"veth0\", \"veth1\", {peer_ns = h, up = true})"},
			{Name: "bridge", Args: "(name, [{ns=, addr=, up=, forward_delay=}])", Fn: s.netBridge,
				Doc: "Creates a bridge (STP off). forward_delay defaults to 0, so a new port forwards at once instead of spending 15 s " +
					"listening and learning (any other value keeps the kernel default of 15 s); addr gives it an address; up (default true) brings it up.",
				Example: "net.bridge(\"br0\", {addr = \"10.53.57.11/24\"})"},
			{Name: "wait_up", Args: "(names, [{ns=, timeout=}])", Fn: s.netWaitUp,
				Doc: "Waits (default 5 s) until every named link is up with operstate UP, by listening to netlink link " +
					"notifications (never sleeping). A link set up is not at once UP: the kernel's link watcher first checks the carrier " +
					"(a veth has one when its peer is up too). names: a name or a list.",
				Example: "net.up(\"veth0\", a); net.up(\"veth1\", b)\nnet.wait_up(\"veth0\", {ns = a})"},
			{Name: "routes", Args: "([where])", Fn: s.netRoutes,
				Doc:     "The main routing table: {dst=, via=, dev=, src=, scope=, proto=, family=} (dst \"default\" for the default route).",
				Example: "for _, r in ipairs(net.routes()) do print(r.dst, r.via, r.dev) end"},
			{Name: "route_add", Args: "(dst, [{via=, dev=, ns=}])", Fn: s.netRoute("add"),
				Doc: "Adds a route: dst is \"default\", a CIDR or an IP; via a gateway; dev a link. ENETUNREACH: the gateway is not on " +
					"any connected network.", Example: "net.route_add(\"default\", {via = \"10.53.57.63\", ns = lab})"},
			{Name: "route_del", Args: "(dst, [{via=, dev=, ns=}])", Fn: s.netRoute("del"),
				Doc: "Deletes a route given as for route_add.", Example: "net.route_del(\"default\", {ns = lab})"},
			{Name: "ping", Args: "(dst, [{count=, timeout=, ns=}])", Fn: s.netPing,
				Doc: "Sends ICMP echo requests (written in Go) to an IPv4/IPv6 literal, one after the other, each waiting up to timeout " +
					"seconds (default 1) for its reply; count defaults to 1. Returns the round-trip times in milliseconds, and a message " +
					"as second value when replies were lost (never raises for lost replies).",
				Example: "local rtts, err = net.ping(\"10.53.57.22\", {count = 3, ns = lab.ad_dc})\nassert(#rtts == 3, err)"},
			{Name: "dns_hub", Args: "{addr=, records=, ns=}", Fn: s.netDNSHub,
				Doc: "Starts a tiny authoritative UDP DNS responder (like Samba's dns_hub) on addr (\"10.53.57.64\" or IP:PORT, port 53) " +
					"inside ns, answering A/AAAA records from records = {name = \"ip\" or {ips}} and NXDOMAIN for every other name. " +
					"Returns a handle with :stop() and :set(records); stopped at exit.",
				Example: "local hub = net.dns_hub{addr = \"10.53.57.64\", ns = lab.dns_hub, records = {[\"dc1.samba.example.com\"] = \"10.53.57.21\"}}"},
			{Name: "resolve", Args: "(name, {server=, ns=})", Fn: s.netResolve,
				Doc: "Asks a DNS server (IP or IP:PORT) for the A and AAAA records of name from namespace ns; returns the addresses " +
					"as strings. NXDOMAIN raises.", Example: "print(net.resolve(\"dc1.samba.example.com\", {server = \"10.53.57.64\", ns = lab.ad_dc})[1])"},
			{Name: "lab", Args: "{name=, pin=, outer=, ipv6=, dir=, helpers=}", Fn: s.netLab,
				Doc: "Makes a lab: an outer network namespace (the hub, named after the lab) where bridges live, and nodes added with " +
					"lab:node(name, {...}) and joined with lab:link(node, bridge, {...}). pin (default \"auto\") pins every namespace under " +
					"/run/netns (NAME and NAME-NODE) for ip netns exec and nsenter; \"auto\" skips pinning with a message where /run/netns " +
					"is not writable (as an ordinary user inside nsh's user namespace). outer=false puts the hub in the current namespace. " +
					"Every node gets an nsenter.sh helper under dir (default: a directory of its own in your state directory, which only you can write: /run/nsh/labs as root, $XDG_RUNTIME_DIR/nsh/labs or TMPDIR/nsh-UID/labs otherwise), also used by `nsh --enter NODE` (which runs only helpers of your own labs) " +
					"(helpers=false skips them, for big labs). " +
					"Everything is torn down at exit (or lab:close()) by dropping the namespaces.",
				Example: "local lab = net.lab{name = \"selftest\"}\nlab:bridge(\"selftest0\", \"10.53.57.11/24\")\nlocal dc = lab:node(\"ad_dc\")\nlab:link(dc, \"selftest0\", {ifname = \"veth21\", brname = \"veth21-br\", addr = \"10.53.57.21/24\"})\nlab:wait()\nprint(lab.ad_dc:run(\"ip -br a\"))"},
		},
	}
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
			return n.ns(), keep
		}
		if l := s.findLab(str); l != nil {
			return l.l.Outer(), keep
		}
		if strings.Contains(str, "/") {
			t = netlab.Path(str)
		} else {
			t = netlab.Path("/run/netns/" + str)
		}
	case *glua.LUserData:
		switch h := v.Value.(type) {
		case *procHandle:
			t = netlab.PID(h.p.Pid)
		case *luaLab:
			if h.closed {
				argErr(L, argn, "the lab is closed")
			}
			return h.l.Outer(), keep
		case *luaNode:
			if h.lab.closed {
				argErr(L, argn, "the node's lab is closed")
			}
			return h.ns(), keep
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

// optsOrWhere reads argument n as an options table (returning its ns= and
// the table) or as a where value.
func (s *Session) optsOrWhere(L *glua.LState, n int, allowed ...string) (*glua.LTable, glua.LValue) {
	v := L.Get(n)
	t, ok := v.(*glua.LTable)
	if !ok {
		return nil, v
	}
	ok2 := map[string]bool{"ns": true}
	for _, a := range allowed {
		ok2[a] = true
	}
	var bad string
	t.ForEach(func(k, _ glua.LValue) {
		if ks, ok := k.(glua.LString); !ok || !ok2[string(ks)] {
			bad = k.String()
		}
	})
	if bad != "" {
		var names []string
		for k := range ok2 {
			names = append(names, k)
		}
		sort.Strings(names)
		argErr(L, n, fmt.Sprintf("unknown option %q (valid options: %s)", bad, strings.Join(names, ", ")))
	}
	return t, t.RawGetString("ns")
}

func checkName(L *glua.LState, n int) string {
	v, ok := L.Get(n).(glua.LString)
	if !ok || v == "" {
		argErr(L, n, "link name expected (a string like \"veth0\"), got "+typeName(L.Get(n)))
	}
	if len(v) > 15 || strings.ContainsAny(string(v), "/ \t\n") {
		argErr(L, n, fmt.Sprintf("bad link name %q: at most 15 bytes (IFNAMSIZ-1), no '/' or spaces", string(v)))
	}
	return string(v)
}

func checkCIDR(L *glua.LState, n int) string {
	v, ok := L.Get(n).(glua.LString)
	if !ok {
		argErr(L, n, "address in CIDR form expected (\"10.53.57.21/24\" or \"fd00::1/64\"), got "+typeName(L.Get(n)))
	}
	if _, _, err := net.ParseCIDR(string(v)); err != nil {
		argErr(L, n, fmt.Sprintf("bad address %q: want CIDR form like \"10.53.57.21/24\" or \"fd00::1/64\"", string(v)))
	}
	return string(v)
}

func optString(L *glua.LState, t *glua.LTable, key string, n int) string {
	if t == nil {
		return ""
	}
	v := t.RawGetString(key)
	switch v := v.(type) {
	case *glua.LNilType:
		return ""
	case glua.LString:
		return string(v)
	}
	argErr(L, n, fmt.Sprintf("option %s must be a string, got %s", key, typeName(v)))
	return ""
}

func optBool(L *glua.LState, t *glua.LTable, key string, n int, def bool) bool {
	if t == nil {
		return def
	}
	switch v := t.RawGetString(key).(type) {
	case *glua.LNilType:
		return def
	case glua.LBool:
		return bool(v)
	default:
		argErr(L, n, fmt.Sprintf("option %s must be true or false, got %s", key, typeName(v)))
	}
	return def
}

func optNumber(L *glua.LState, t *glua.LTable, key string, n int, def, lo, hi float64) float64 {
	if t == nil {
		return def
	}
	switch v := t.RawGetString(key).(type) {
	case *glua.LNilType:
		return def
	case glua.LNumber:
		if float64(v) < lo || float64(v) > hi {
			argErr(L, n, fmt.Sprintf("option %s must be from %g to %g, got %g", key, lo, hi, float64(v)))
		}
		return float64(v)
	default:
		argErr(L, n, fmt.Sprintf("option %s must be a number, got %s", key, typeName(v)))
	}
	return def
}

func linkTable(L *glua.LState, l netlab.LinkInfo) *glua.LTable {
	t := L.NewTable()
	t.RawSetString("name", glua.LString(l.Name))
	t.RawSetString("index", glua.LNumber(l.Index))
	t.RawSetString("type", glua.LString(l.Type))
	t.RawSetString("state", glua.LString(l.State))
	t.RawSetString("flags", strList(L, l.Flags))
	t.RawSetString("mtu", glua.LNumber(l.MTU))
	t.RawSetString("mac", glua.LString(l.MAC))
	t.RawSetString("addrs", strList(L, l.Addrs))
	if l.Master != "" {
		t.RawSetString("master", glua.LString(l.Master))
	}
	if l.PortState != "" {
		t.RawSetString("port_state", glua.LString(l.PortState))
	}
	if l.Type == "veth" {
		t.RawSetString("peer_index", glua.LNumber(l.PeerIndex))
		t.RawSetString("peer_nsid", glua.LNumber(l.PeerNSID))
		if l.Peer != "" {
			t.RawSetString("peer", glua.LString(l.Peer))
		}
	}
	return t
}

func (s *Session) netLinks(L *glua.LState) int {
	ns, done := s.netOpen(L, L.Get(1), 1)
	defer done()
	ls, err := ns.Links()
	if err != nil {
		return raise(L, "net.links", err)
	}
	t := L.NewTable()
	for _, l := range ls {
		t.Append(linkTable(L, l))
	}
	L.Push(t)
	return 1
}

func (s *Session) netLink(L *glua.LState) int {
	name := checkName(L, 1)
	ns, done := s.netOpen(L, L.Get(2), 2)
	defer done()
	l, err := ns.Link(name)
	if err != nil {
		return raise(L, "net.link", err)
	}
	L.Push(linkTable(L, l))
	return 1
}

func (s *Session) netSimple(op string) glua.LGFunction {
	return func(L *glua.LState) int {
		name := checkName(L, 1)
		ns, done := s.netOpen(L, L.Get(2), 2)
		defer done()
		var err error
		switch op {
		case "up":
			err = ns.SetUp(name)
		case "down":
			err = ns.SetDown(name)
		case "delete":
			err = ns.DelLink(name)
		case "nomaster":
			err = ns.NoMaster(name)
		}
		if err != nil {
			return raise(L, "net."+op, err)
		}
		return 0
	}
}

func (s *Session) netMaster(L *glua.LState) int {
	name := checkName(L, 1)
	br := checkName(L, 2)
	ns, done := s.netOpen(L, L.Get(3), 3)
	defer done()
	if err := ns.SetMaster(name, br); err != nil {
		return raise(L, "net.master", err)
	}
	return 0
}

func (s *Session) netMTU(L *glua.LState) int {
	name := checkName(L, 1)
	mtu := checkInt(L, 2, "mtu", 68, 65535)
	ns, done := s.netOpen(L, L.Get(3), 3)
	defer done()
	if err := ns.SetMTU(name, mtu); err != nil {
		return raise(L, "net.mtu", err)
	}
	return 0
}

func (s *Session) netAddr(L *glua.LState) int {
	name := checkName(L, 1)
	cidr := checkCIDR(L, 2)
	opts, where := s.optsOrWhere(L, 3, "nodad")
	nodad := optBool(L, opts, "nodad", 3, false)
	ns, done := s.netOpen(L, where, 3)
	defer done()
	if err := ns.AddAddr(name, cidr, nodad); err != nil {
		return raise(L, "net.addr", err)
	}
	return 0
}

func (s *Session) netDelAddr(L *glua.LState) int {
	name := checkName(L, 1)
	cidr := checkCIDR(L, 2)
	ns, done := s.netOpen(L, L.Get(3), 3)
	defer done()
	if err := ns.DelAddr(name, cidr); err != nil {
		return raise(L, "net.deladdr", err)
	}
	return 0
}

func (s *Session) netSetns(L *glua.LState) int {
	name := checkName(L, 1)
	if L.Get(2) == glua.LNil {
		return argErr(L, 2, "target namespace expected: "+whereDoc)
	}
	to, done1 := s.netOpen(L, L.Get(2), 2)
	defer done1()
	from, done2 := s.netOpen(L, L.Get(3), 3)
	defer done2()
	if err := from.MoveTo(name, to); err != nil {
		return raise(L, "net.setns", err)
	}
	return 0
}

func (s *Session) netVeth(L *glua.LState) int {
	name := checkName(L, 1)
	peer := checkName(L, 2)
	opts, where := s.optsOrWhere(L, 3, "peer_ns", "up")
	ns, done := s.netOpen(L, where, 3)
	defer done()
	var pns *netlab.NS
	if opts != nil && opts.RawGetString("peer_ns") != glua.LNil {
		p, d := s.netOpen(L, opts.RawGetString("peer_ns"), 3)
		defer d()
		pns = p
	}
	up := optBool(L, opts, "up", 3, false)
	if err := ns.AddVeth(name, peer, pns); err != nil {
		return raise(L, "net.veth", err)
	}
	if up {
		if err := ns.SetUp(name); err != nil {
			return raise(L, "net.veth", err)
		}
		pn := pns
		if pn == nil {
			pn = ns
		}
		if err := pn.SetUp(peer); err != nil {
			return raise(L, "net.veth", err)
		}
	}
	return 0
}

func (s *Session) netBridge(L *glua.LState) int {
	name := checkName(L, 1)
	opts, where := s.optsOrWhere(L, 2, "addr", "up", "forward_delay")
	addr := optString(L, opts, "addr", 2)
	if addr != "" {
		if _, _, err := net.ParseCIDR(addr); err != nil {
			return argErr(L, 2, fmt.Sprintf("option addr %q: want CIDR form like \"10.53.57.11/24\"", addr))
		}
	}
	fd := optNumber(L, opts, "forward_delay", 2, 0, 0, 30)
	up := optBool(L, opts, "up", 2, true)
	ns, done := s.netOpen(L, where, 2)
	defer done()
	if err := ns.AddBridge(name, fd == 0); err != nil {
		return raise(L, "net.bridge", err)
	}
	if addr != "" {
		if err := ns.AddAddr(name, addr, true); err != nil {
			return raise(L, "net.bridge", err)
		}
	}
	if up {
		if err := ns.SetUp(name); err != nil {
			return raise(L, "net.bridge", err)
		}
	}
	return 0
}

func (s *Session) netWaitUp(L *glua.LState) int {
	names, err := stringList(L, L.Get(1), "names")
	if err != nil || len(names) == 0 {
		return argErr(L, 1, "a link name or a list of names expected")
	}
	opts, where := s.optsOrWhere(L, 2, "timeout")
	timeout := optNumber(L, opts, "timeout", 2, 5, 0.001, 3600)
	ns, done := s.netOpen(L, where, 2)
	defer done()
	if err := ns.WaitUp(time.Duration(timeout*float64(time.Second)), names...); err != nil {
		return raise(L, "net.wait_up", err)
	}
	return 0
}

func (s *Session) netRoutes(L *glua.LState) int {
	ns, done := s.netOpen(L, L.Get(1), 1)
	defer done()
	rs, err := ns.Routes()
	if err != nil {
		return raise(L, "net.routes", err)
	}
	t := L.NewTable()
	for _, r := range rs {
		e := L.NewTable()
		e.RawSetString("dst", glua.LString(r.Dst))
		e.RawSetString("via", glua.LString(r.Via))
		e.RawSetString("dev", glua.LString(r.Dev))
		e.RawSetString("src", glua.LString(r.Src))
		e.RawSetString("scope", glua.LString(r.Scope))
		e.RawSetString("proto", glua.LString(r.Proto))
		fam := "inet"
		if r.Family == 10 {
			fam = "inet6"
		}
		e.RawSetString("family", glua.LString(fam))
		t.Append(e)
	}
	L.Push(t)
	return 1
}

func (s *Session) netRoute(op string) glua.LGFunction {
	return func(L *glua.LState) int {
		dst, ok := L.Get(1).(glua.LString)
		if !ok || dst == "" {
			return argErr(L, 1, "destination expected: \"default\", a CIDR (\"10.0.0.0/8\") or an IP")
		}
		if dst != "default" && net.ParseIP(string(dst)) == nil {
			if _, _, err := net.ParseCIDR(string(dst)); err != nil {
				return argErr(L, 1, fmt.Sprintf("bad destination %q: want \"default\", a CIDR or an IP", string(dst)))
			}
		}
		opts, where := s.optsOrWhere(L, 2, "via", "dev")
		via := optString(L, opts, "via", 2)
		if via != "" && net.ParseIP(via) == nil {
			return argErr(L, 2, fmt.Sprintf("option via %q: want an IP address", via))
		}
		dev := optString(L, opts, "dev", 2)
		if op == "add" && via == "" && dev == "" {
			return argErr(L, 2, "a route needs via= (gateway) or dev= (link)")
		}
		ns, done := s.netOpen(L, where, 2)
		defer done()
		var err error
		if op == "add" {
			err = ns.AddRoute(string(dst), via, dev)
		} else {
			err = ns.DelRoute(string(dst), via, dev)
		}
		if err != nil {
			return raise(L, "net.route_"+op, err)
		}
		return 0
	}
}

func (s *Session) netPing(L *glua.LState) int {
	dst, ok := L.Get(1).(glua.LString)
	if !ok || net.ParseIP(string(dst)) == nil {
		if ln, ok := L.Get(1).(*glua.LUserData); ok {
			if n, ok := ln.Value.(*luaNode); ok && n.ip() != "" {
				dst = glua.LString(n.ip())
				goto ok
			}
		}
		return argErr(L, 1, fmt.Sprintf("destination must be an IPv4 or IPv6 literal (\"10.53.57.22\") or a lab node, got %s", L.Get(1).String()))
	}
ok:
	opts, where := s.optsOrWhere(L, 2, "count", "timeout")
	count := int(optNumber(L, opts, "count", 2, 1, 1, 1000))
	timeout := optNumber(L, opts, "timeout", 2, 1, 0.001, 3600)
	ns, done := s.netOpen(L, where, 2)
	defer done()
	rtts, err := ns.Ping(string(dst), count, time.Duration(timeout*float64(time.Second)))
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

// dnsHubMethods documents a DNS hub's methods (see methods.go).
var dnsHubMethods = []Func{
	{Name: "stop", Args: "()", Doc: "Stops the responder and closes its socket (also done when nsh ends).", Example: "hub:stop()"},
	{Name: "set", Args: "(records)", Doc: "Replaces the records it answers: {name = \"10.53.57.21\"} or {name = {\"addr\", ...}}.",
		Example: "hub:set{dc1 = \"10.53.57.21\", dc2 = \"10.53.57.22\"}"},
}

type dnsHub struct {
	srv  *netlab.DNSServer
	stop func() error
	item interface{ Forget() }
}

func parseRecords(L *glua.LState, v glua.LValue, n int) map[string][]net.IP {
	t, ok := v.(*glua.LTable)
	if !ok {
		argErr(L, n, "records must be a table {name = \"ip\" or {\"ip\", ...}}")
	}
	recs := map[string][]net.IP{}
	var bad string
	t.ForEach(func(k, val glua.LValue) {
		if bad != "" {
			return
		}
		name, ok := k.(glua.LString)
		if !ok {
			bad = "record names must be strings"
			return
		}
		var ips []string
		switch val := val.(type) {
		case glua.LString:
			ips = []string{string(val)}
		case *glua.LTable:
			l, err := stringList(L, val, "addresses")
			if err != nil {
				bad = err.Error()
				return
			}
			ips = l
		default:
			bad = fmt.Sprintf("record %s: an IP string or a list of them expected", string(name))
			return
		}
		for _, s := range ips {
			ip := net.ParseIP(s)
			if ip == nil {
				bad = fmt.Sprintf("record %s: %q is not an IP address", string(name), s)
				return
			}
			recs[string(name)] = append(recs[string(name)], ip)
		}
	})
	if bad != "" {
		argErr(L, n, bad)
	}
	return recs
}

func (s *Session) netDNSHub(L *glua.LState) int {
	t, ok := L.Get(1).(*glua.LTable)
	if !ok {
		return argErr(L, 1, "table expected: net.dns_hub{addr = \"10.53.57.64\", records = {...}, ns = node}")
	}
	addr := optString(L, t, "addr", 1)
	if addr == "" {
		return argErr(L, 1, "option addr expected (\"10.53.57.64\" or \"10.53.57.64:53\")")
	}
	if net.ParseIP(addr) != nil {
		addr = net.JoinHostPort(addr, "53")
	} else if _, _, err := net.SplitHostPort(addr); err != nil {
		return argErr(L, 1, fmt.Sprintf("option addr %q: want an IP or IP:PORT", addr))
	}
	recs := parseRecords(L, t.RawGetString("records"), 1)
	ns, done := s.netOpen(L, t.RawGetString("ns"), 1)
	defer done()
	srv, err := netlab.ServeDNSAt(ns, addr, recs)
	if err != nil {
		return raise(L, "net.dns_hub", err)
	}
	h := &dnsHub{srv: srv}
	it := s.Reg.Add("dns hub "+addr, srv.Stop)
	h.item = it
	ud := L.NewUserData()
	ud.Value = h
	mt := L.NewTable()
	methods := L.NewTable()
	methods.RawSetString("stop", L.NewFunction(named("hub:stop", func(L *glua.LState) int {
		it.Forget()
		if err := srv.Stop(); err != nil {
			return raise(L, "hub:stop", err)
		}
		return 0
	})))
	methods.RawSetString("set", L.NewFunction(named("hub:set", func(L *glua.LState) int {
		srv.SetRecords(parseRecords(L, L.Get(2), 2))
		return 0
	})))
	methods.RawSetString("addr", glua.LString(srv.Addr().String()))
	mt.RawSetString("__index", methods)
	mt.RawSetString("__name", glua.LString(dnsType))
	mt.RawSetString("__tostring", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString("dns hub on " + srv.Addr().String()))
		return 1
	}))
	L.SetMetatable(ud, mt)
	L.Push(ud)
	return 1
}

func (s *Session) netResolve(L *glua.LState) int {
	name, ok := L.Get(1).(glua.LString)
	if !ok || name == "" {
		return argErr(L, 1, "a name to resolve expected")
	}
	t, ok := L.Get(2).(*glua.LTable)
	if !ok {
		return argErr(L, 2, "options expected: {server = \"10.53.57.64\", ns = node}")
	}
	server := optString(L, t, "server", 2)
	if server == "" {
		return argErr(L, 2, "option server expected (the DNS server's IP or IP:PORT)")
	}
	ns, done := s.netOpen(L, t.RawGetString("ns"), 2)
	defer done()
	ips, err := netlab.Resolve(ns, server, string(name))
	if err != nil {
		return raise(L, "net.resolve", err)
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	L.Push(strList(L, out))
	return 1
}

// ---- views ----

func linksText(title string, ls []netlab.LinkInfo) string {
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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func describeWhere(v glua.LValue, def string) string {
	if ud, ok := v.(*glua.LUserData); ok {
		switch h := ud.Value.(type) {
		case *luaNode:
			return "lab " + h.lab.name + ", node " + h.name
		case *luaLab:
			return "lab " + h.name + ", outer namespace"
		}
	}
	if v == glua.LNil {
		return "the shell's current namespace"
	}
	return def
}
