package lua

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"nsh/runtime/netlab"

	glua "github.com/yuin/gopher-lua"
)

// Labs in one call: net.topo (the canned topologies of Mininet's --topo)
// and net.lab_from (a lab described in a table or a file), both turned into
// a netlab.LabSpec here and built by netlab's Lab.Build. A description's
// entries are the arguments of the calls that would make them by hand:
// a bridge is lab:bridge's (name, [cidr]), a node lab:node's (name, {...})
// plus its links (lab:link's (bridge, {...})) and routes (net.route_add's
// (dst, {via=, dev=})), a patch lab:patch's (a, b). What one learns by
// hand reads the same in a file.

// descKeys are the top-level keys of a lab description besides the options
// of net.lab.
var descKeys = []string{"topo", "n", "hosts", "depth", "fanout", "bridges", "patches", "nodes"}

// argTopo reads a topology: kind (argument n, "tree" or Mininet's
// "tree,2,3") and its sizes from o, which are checked against the kind.
func argTopo(L *glua.LState, n int, spec string, o options) (string, netlab.TopoParams) {
	kind, p, err := netlab.ParseTopo(spec)
	if err != nil {
		argErr(L, n, err.Error())
	}
	for _, k := range []string{"n", "hosts", "depth", "fanout"} {
		if o.Has(k) && !contains(netlab.TopoSizes(kind), k) {
			argErr(L, o.n, fmt.Sprintf("%soption %s is not a size of %s (its sizes: %s)", o.at, k, kind, strings.Join(netlab.TopoSizes(kind), ", ")))
		}
	}
	if o.Has("n") || o.Has("hosts") || o.Has("depth") || o.Has("fanout") {
		if strings.Contains(spec, ",") {
			argErr(L, n, fmt.Sprintf("%q already gives the sizes: drop n=, hosts=, depth=, fanout= or write %q", spec, kind))
		}
		p.N = o.Int("n", p.N, 1, netlab.MaxTopoHosts)
		p.Hosts = o.Int("hosts", p.Hosts, 1, netlab.MaxTopoHosts)
		p.Depth = o.Int("depth", p.Depth, 1, 20)
		p.Fanout = o.Int("fanout", p.Fanout, 1, netlab.MaxTopoHosts)
	}
	return kind, p
}

func (s *Session) netTopo(L *glua.LState) int {
	spec := argString(L, 1, "topology (\"single\", \"linear\", \"tree\", \"star\", or Mininet's \"tree,2,3\")")
	o := argOptions(L, 2, append(append([]string{}, labOptionKeys...), "n", "hosts", "depth", "fanout")...)
	kind, p := argTopo(L, 1, spec, o)
	ls, err := netlab.Topology(kind, p)
	if err != nil {
		return argErr(L, 2, err.Error())
	}
	L.Push(s.buildLab(L, 2, s.openLab(o, kind), ls))
	return 1
}

// buildLab builds ls in the new lab ll and waits until it carries packets;
// on failure it closes the lab and raises (argument n named for wrong input).
func (s *Session) buildLab(L *glua.LState, n int, ll *luaLab, ls netlab.LabSpec) *glua.LUserData {
	s.Flush()
	err := ll.l.Build(ls)
	if err == nil {
		err = ll.l.Wait(10 * time.Second)
	}
	if err != nil {
		ll.item.Run() // the build's error is the one to report
		inputErr(L, n, err)
	}
	return newUD(L, labType, ll)
}

func (s *Session) netLabFrom(L *glua.LState) int {
	var t *glua.LTable
	name := "lab"
	switch v := L.Get(1).(type) {
	case *glua.LTable:
		t = v
	case glua.LString:
		t = s.loadDesc(L, string(v))
		if base := strings.TrimSuffix(filepath.Base(string(v)), ".lua"); netlab.CheckName(base) == nil {
			name = base // routed.lua makes lab "routed"
		}
	default:
		return argErr(L, 1, "a lab description (a table) or the path of a Lua file returning one expected, got "+describe(v))
	}
	o := optionsAt(L, 1, "", t, append(append([]string{}, labOptionKeys...), descKeys...)...)
	ls := s.argDesc(L, o)
	L.Push(s.buildLab(L, 1, s.openLab(o, name), ls))
	return 1
}

// loadDesc runs the Lua file path (in the session, as dofile does) and
// returns the table it returns.
func (s *Session) loadDesc(L *glua.LState, path string) *glua.LTable {
	b, err := os.ReadFile(path)
	if err != nil {
		raiseErr(L, err)
	}
	fn, err := s.Chunks.Compile(L, stripShebang(string(b)), path)
	if err != nil {
		raiseLua(L, err)
	}
	L.Push(fn)
	L.Call(0, 1)
	v := L.Get(-1)
	L.Pop(1)
	t, ok := v.(*glua.LTable)
	if !ok {
		argErr(L, 1, fmt.Sprintf("%s must return a lab description (a table: return {nodes = {...}}), returned %s", path, describe(v)))
	}
	return t
}

// argDesc reads a lab description (a topology to start from, bridges,
// patches, nodes) into a LabSpec; each error names its entry.
func (s *Session) argDesc(L *glua.LState, o options) netlab.LabSpec {
	var ls netlab.LabSpec
	if o.Has("topo") {
		kind, p := argTopo(L, o.n, o.String("topo", ""), o)
		var err error
		if ls, err = netlab.Topology(kind, p); err != nil {
			argErr(L, o.n, "topo: "+err.Error())
		}
	} else if o.Has("n") || o.Has("hosts") || o.Has("depth") || o.Has("fanout") {
		argErr(L, o.n, "n, hosts, depth and fanout are the sizes of a topo= (\"single\", \"linear\", \"tree\", \"star\")")
	}
	eachEntry(o, "bridges", func(at string, e options, pos []glua.LValue) {
		name, cidr := posString(e, pos, 0, "the bridge's name"), posOptString(e, pos, 1)
		if err := netlab.CheckIfName(name); err != nil {
			argErr(L, o.n, at+err.Error())
		}
		if cidr != "" {
			if err := netlab.CheckCIDR(cidr); err != nil {
				argErr(L, o.n, at+err.Error())
			}
		}
		ls.Bridges = append(ls.Bridges, netlab.BridgeDesc{Name: name, CIDR: cidr})
	}, 2)
	eachEntry(o, "patches", func(at string, e options, pos []glua.LValue) {
		ls.Patches = append(ls.Patches, netlab.PatchDesc{A: posString(e, pos, 0, "the first bridge"), B: posString(e, pos, 1, "the second bridge")})
	}, 2)
	eachEntry(o, "nodes", func(at string, e options, pos []glua.LValue) {
		name := posString(e, pos, 0, "the node's name")
		if err := netlab.CheckName(name); err != nil {
			argErr(L, o.n, at+"bad node name "+err.Error())
		}
		if isLabMember(name) {
			argErr(L, o.n, fmt.Sprintf("%s%q names a lab method or field (lab.%s would not be the node); pick another node name", at, name, name))
		}
		at = strings.TrimSuffix(at, ": ") + " (" + name + "): "
		e = optionsAt(L, o.n, at, e.Table(), append([]string{"[argv]", "links", "routes"}, nodeOptionKeys...)...)
		ns := netlab.NodeSpec{NodeOptions: argNodeOptions(e, name)}
		eachEntry(e, "links", func(lat string, le options, lpos []glua.LValue) {
			bridge := posString(le, lpos, 0, "the bridge it joins")
			le = optionsAt(L, o.n, lat, le.Table(), append([]string{"[argv]"}, linkOptionKeys...)...)
			ns.Links = append(ns.Links, argLinkSpec(le, name, bridge))
		}, 1)
		eachEntry(e, "routes", func(rat string, re options, rpos []glua.LValue) {
			dst := posString(re, rpos, 0, "the destination (\"default\", a CIDR or an IP)")
			re = optionsAt(L, o.n, rat, re.Table(), "[argv]", "via", "dev")
			ns.Routes = append(ns.Routes, netlab.RouteSpec{Dst: dst, Via: re.String("via", ""), Dev: re.String("dev", "")})
		}, 1)
		ls.Nodes = append(ls.Nodes, ns)
	}, 1)
	// what only the whole description can tell (a link to a bridge it
	// lacks, a name twice) is Build's Check: an argument error too
	return ls
}

// eachEntry calls fn for every entry of the list o[key]: each a table
// (its positional values, at most maxPos, in pos) or a plain string (one
// positional value), with at naming it ("nodes[2] ").
func eachEntry(o options, key string, fn func(at string, e options, pos []glua.LValue), maxPos int) {
	list := o.Tbl(key)
	if list == nil {
		return
	}
	L := o.L
	list.ForEach(func(k, _ glua.LValue) {
		if i, ok := k.(glua.LNumber); !ok || float64(i) < 1 || int(i) > list.Len() || float64(i) != float64(int(i)) {
			argErr(L, o.n, fmt.Sprintf("%s%s must be a list ({{\"name\", ...}, ...}), but has the key %s", o.at, key, k.String()))
		}
	})
	for i := 1; i <= list.Len(); i++ {
		at := fmt.Sprintf("%s%s[%d]: ", o.at, key, i)
		v := list.RawGetInt(i)
		var e options
		var pos []glua.LValue
		switch v := v.(type) {
		case glua.LString:
			e, pos = options{L: L, n: o.n, t: L.NewTable(), at: at}, []glua.LValue{v}
		case *glua.LTable:
			e = options{L: L, n: o.n, t: v, at: at}
			for j := 1; j <= v.Len(); j++ {
				pos = append(pos, v.RawGetInt(j))
			}
			if len(pos) > maxPos {
				argErr(L, o.n, fmt.Sprintf("%s%d values before the options, at most %d", at, len(pos), maxPos))
			}
		default:
			argErr(L, o.n, fmt.Sprintf("%s%s must be a list of tables ({{\"name\", ...}, ...}), got %s at %d", o.at, key, describe(v), i))
		}
		fn(at, e, pos)
	}
}

// isLabMember says whether lab.NAME is a method or field of a lab.
func isLabMember(name string) bool {
	for _, set := range methodSets() {
		if set.Type != labType {
			continue
		}
		if contains(set.Fields, name) {
			return true
		}
		for _, f := range set.Funcs {
			if f.Name == name {
				return true
			}
		}
	}
	return false
}

func posString(e options, pos []glua.LValue, i int, what string) string {
	if i < len(pos) {
		if s, ok := pos[i].(glua.LString); ok && s != "" {
			return string(s)
		}
	}
	got := "nothing"
	if i < len(pos) {
		got = describe(pos[i])
	}
	argErr(e.L, e.n, fmt.Sprintf("%s[%d] must be %s (a string), got %s", strings.TrimSuffix(e.at, ": "), i+1, what, got))
	return ""
}

func posOptString(e options, pos []glua.LValue, i int) string {
	if i >= len(pos) {
		return ""
	}
	return posString(e, pos, i, "an address in CIDR form")
}

func (s *Session) labPatch(L *glua.LState) int {
	l := checkOpenLab(L, 1).l
	a, b := argLinkName(L, 2), argLinkName(L, 3)
	for i, br := range []string{a, b} {
		if !l.HasBridge(br) {
			return argErr(L, 2+i, fmt.Sprintf("lab %s has no bridge %q (make it first with lab:bridge)", l.Name(), br))
		}
	}
	o := argOptions(L, 4, "names")
	p := netlab.PatchDesc{A: a, B: b}
	if o.Has("names") {
		names := o.Strings("names")
		if len(names) != 2 {
			return argErr(L, 4, "option names: the two ends' names, {\"s1-s2\", \"s2-s1\"}")
		}
		p.AName, p.BName = names[0], names[1]
	}
	if _, err := p.Complete(); err != nil {
		return argErr(L, 4, err.Error())
	}
	if err := l.Patch(p); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) nodeTraceroute(L *glua.LState) int {
	n := checkNode(L, 1)
	var dst string
	switch v := L.Get(2).(type) {
	case glua.LString:
		if o := n.Lab().Node(string(v)); o != nil {
			dst = o.IP()
		} else if net.ParseIP(string(v)) != nil {
			dst = string(v)
		} else {
			return argErr(L, 2, fmt.Sprintf("%q is neither a node of lab %s (%s) nor an IP address", string(v), n.Lab().Name(), nodeNames(n.Lab())))
		}
	case *glua.LUserData:
		dst = checkNode(L, 2).IP()
	default:
		return argErr(L, 2, "a node, a node name or an IP address expected, got "+describe(L.Get(2)))
	}
	if dst == "" {
		return argErr(L, 2, "that node has no address yet")
	}
	o := argOptions(L, 3, "max_hops", "timeout")
	ns, done := openNode(L, 1, n)
	defer done()
	hops, err := ns.Trace(dst, o.Int("max_hops", 16, 1, 255), seconds(o.Number("timeout", 1, 0.001, 60)))
	if err != nil && len(hops) == 0 {
		return raiseErr(L, err)
	}
	t := L.CreateTable(len(hops), 0)
	var b strings.Builder
	fmt.Fprintf(&b, "traceroute from %s to %s", n.Name, dst)
	if name, ok := L.Get(2).(glua.LString); ok && string(name) != dst {
		fmt.Fprintf(&b, " (%s)", string(name))
	} else if ud, ok := L.Get(2).(*glua.LUserData); ok {
		fmt.Fprintf(&b, " (%s)", ud.Value.(*netlab.Node).Name)
	}
	for _, h := range hops {
		e := L.NewTable()
		e.RawSetString("ttl", glua.LNumber(h.TTL))
		e.RawSetString("reached", glua.LBool(h.Reached))
		addr := "*"
		if h.Addr != "" {
			addr = h.Addr
			e.RawSetString("addr", glua.LString(h.Addr))
			e.RawSetString("rtt", glua.LNumber(float64(h.RTT.Microseconds())/1000))
			if h.ReplyTTL > 0 {
				e.RawSetString("reply_ttl", glua.LNumber(h.ReplyTTL))
			}
		}
		t.Append(e)
		fmt.Fprintf(&b, "\n  %2d  %-16s", h.TTL, addr)
		if h.Addr != "" {
			fmt.Fprintf(&b, " %.3f ms  reply ttl %d", float64(h.RTT.Microseconds())/1000, h.ReplyTTL)
		}
	}
	L.Push(withText(L, t, b.String()))
	if err != nil {
		L.Push(glua.LString(err.Error()))
		return 2
	}
	return 1
}

func (s *Session) labTopoFuncs() []Func {
	return []Func{
		{Name: "topo", Args: "(kind, [{n=, hosts=, depth=, fanout=, name=, pin=, outer=, ipv6=, dir=, helpers=}])", Fn: s.netTopo,
			Doc: "Builds a canned topology in one call, as Mininet's --topo, and returns the lab (waited on: it carries packets). " +
				"kind: \"single\" (n hosts h1.. on one switch s1), \"linear\" (n switches s1-s2-... patched in a chain, host hI on sI; hosts=2 puts 2 on each, named hJsI as Mininet does), " +
				"\"tree\" (switches depth levels deep with fanout children each, fanout^depth hosts at the leaves, numbered depth first " +
				"as Mininet's TreeTopo), \"star\" (a router r1 at the centre, host hI on switch sI in a subnet of its own, " +
				"10.0.I.2/24 with a default route via r1's 10.0.I.1). Mininet's own spelling works too: \"tree,2,3\", " +
				"\"tree,depth=2,fanout=3\", \"linear,4\", \"linear,4,2\" (4 switches, 2 hosts each; linear,k=4,n=2). Hosts of single, linear and tree get Mininet's addresses 10.0.0.1/8, " +
				"10.0.0.2/8, ... in order. Defaults are Mininet's: 2 hosts or switches, depth 1, fanout 2. The other options are " +
				"net.lab's; name defaults to the kind. Switches are bridges of the lab's outer namespace, patches between them veth pairs.",
			Example: "local t = net.topo(\"tree\", {depth = 2, fanout = 2})\nprint(t:view())\nassert(#t:pingall().failed == 0)\nt:close()"},
		{Name: "lab_from", Args: "(description or path)", Fn: s.netLabFrom,
			Doc: "Builds a lab from a description, a table or a Lua file returning one (its name defaults to the file's: routed.lua " +
				"makes lab \"routed\"), and returns it, waited on. Each entry holds the arguments of the call that would make it by " +
				"hand: bridges = {\"lan1\", {\"lan2\", \"10.0.2.254/24\"}} (lab:bridge), patches = {{\"s1\", \"s2\"}} (lab:patch), " +
				"nodes = {{\"r1\", router = true, links = {{\"lan1\", addr = \"10.0.1.1/24\", ifname = \"eth0\", brname = \"r1-eth0\"}}, " +
				"routes = {{\"default\", via = \"10.0.1.254\"}}}} (lab:node with its options, lab:link per link, net.route_add per route, " +
				"added once every link exists). topo = \"tree\" with n=, depth=, fanout= starts from a canned topology (net.topo) that " +
				"the rest adds to; name, pin, outer, ipv6, dir, helpers are net.lab's. Errors name the entry (nodes[2] (h1): links[1] ...). " +
				"nsh --lab FILE builds one before the prompt or script, as the global lab.",
			Example: "local two = net.lab_from{name = \"two\", bridges = {\"lan1\", \"lan2\"}, nodes = {\n" +
				"  {\"h1\", links = {{\"lan1\", addr = \"10.0.1.10/24\"}}, routes = {{\"default\", via = \"10.0.1.1\"}}},\n" +
				"  {\"r1\", router = true, links = {{\"lan1\", addr = \"10.0.1.1/24\", ifname = \"eth0\", brname = \"r1-eth0\"},\n" +
				"                                  {\"lan2\", addr = \"10.0.2.1/24\", ifname = \"eth1\", brname = \"r1-eth1\"}}},\n" +
				"  {\"h2\", links = {{\"lan2\", addr = \"10.0.2.10/24\"}}, routes = {{\"default\", via = \"10.0.2.1\"}}}}}\n" +
				"print(two.h1:traceroute(\"h2\"))   -- r1, then h2\ntwo:close()"},
	}
}
