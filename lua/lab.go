package lua

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"nsh/runtime/cleanup"
	"nsh/runtime/netlab"
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// Labs: net.lab{...} returns a lab userdata, its nodes are userdata too
// (*netlab.Node); runtime/netlab builds and tears them down. Indexing a lab
// by a node's name gives the node (lab.h1), so lab.h1:run"ip a" reads as it
// does in Mininet.

const (
	labType  = "nsh.lab"
	nodeType = "nsh.labnode"
)

// luaLab is a lab of the session and its cleanup item.
type luaLab struct {
	l    *netlab.Lab
	item *cleanup.Item
}

// findNode finds a node of an open lab by NODE, LAB-NODE or LAB/NODE.
func (s *Session) findNode(name string) *netlab.Node {
	for _, ll := range s.labs {
		l := ll.l
		if n := l.Node(name); n != nil {
			return n
		}
		for _, sep := range []string{"-", "/"} {
			if rest, ok := strings.CutPrefix(name, l.Name()+sep); ok && l.Node(rest) != nil {
				return l.Node(rest)
			}
		}
	}
	return nil
}

func (s *Session) findLab(name string) *luaLab {
	for _, l := range s.labs {
		if l.l.Name() == name {
			return l
		}
	}
	return nil
}

var labBaseMethods = []Func{
	{Name: "node", Args: "(name, [{ns=, hostname=, hosts=, resolv=, env=, keep=, router=}])", Method: (*Session).labNode,
		Doc: "Adds a node: a new network namespace with lo up (pinned as LAB-NAME when the lab pins) and its first process, the holder " +
			"(sleep infinity, node.pid), which holds it from the start: a node lives as long as its processes, as a namespace does, and " +
			"nsh keeps no descriptor of it (view.namespaces() shows what holds it); when its last process ends the kernel frees it and " +
			"deletes its veths, and their ends leave the bridge. Only a pin or keep=true (nsh then holds a descriptor of it until " +
			"node:stop()) keeps it beyond its processes. ns asks for more namespaces (\"uts,mnt,pid,user\"), made with the holder; " +
			"hostname (needs uts, added automatically); hosts=true gives the node its " +
			"own /etc/hosts listing every lab node (or a string: its content); resolv gives it its own /etc/resolv.conf (an IP: " +
			"\"nameserver IP\"; or the content) — both through its mount namespace (added automatically). env: variables set by " +
			"node:run, node:shell and the nsenter.sh helper (SERVER, SERVER_IP, NSH_LAB and NSH_NODE are always set). router=true " +
			"makes it a router: net.ipv4.ip_forward and net.ipv6.conf.all.forwarding are 1 in its network namespace (only there); it " +
			"forwards IPv6 once the kernel's fe80:: addresses of its links have left DAD (lab:wait waits for that). Returns the node.",
		Example: "local dc = lab:node(\"ad_dc\", {hostname = \"addc\", resolv = \"10.53.57.64\", env = {REALM = \"SAMBA.EXAMPLE.COM\"}})"},
	{Name: "bridge", Args: "(name, [cidr or {cidr, ...}])", Method: (*Session).labBridge,
		Doc: "Adds a bridge in the lab's outer namespace, forward delay 0, with the address (or addresses: IPv6 ones nodad, usable at once) " +
			"given, up.",
		Example: "lab:bridge(\"selftest0\", {\"10.53.57.11/24\", \"fd00::5357:5f0b/112\"})"},
	{Name: "link", Args: "(node, bridge, [{ifname=, brname=, addr=, type=, mode=, shape=}])", Method: (*Session).labLink,
		Doc: "Joins a node to a bridge with a veth pair: ifname (default eth0) inside the node, holding addr (CIDR, or a list: " +
			"{\"10.53.57.21/24\", \"fd00::5357:5f15/112\"}; IPv6 ones nodad, usable at once; the first is node.ip), and brname " +
			"(default NODE-br, at most 15 bytes) in the outer namespace, enslaved to the bridge; both up. node is a node or its name. " +
			"type=\"macvlan\" or \"ipvlan\" (where the kernel has it) makes instead a link of that type whose parent is the bridge " +
			"itself, created directly inside the node (no hub end, no brname), with mode= as for net.macvlan or net.ipvlan. " +
			"shape = {qdisc=, rate=, burst=, latency=, limit=, delay=, jitter=, loss=, direction=} shapes the link as node:shape " +
			"does, in both directions unless it says direction= (as Mininet's TCLink bw=; a macvlan or ipvlan link has only the node's end); " +
			"its options are checked before the link is made, the kernel's answer (netem missing) comes after.",
		Example: "lab:node(\"ad_dc\")\nlab:link(\"ad_dc\", \"ex0\", {ifname = \"veth21\", brname = \"veth21-br\", addr = \"10.53.57.21/24\"})"},
	{Name: "patch", Args: "(bridge, other, [{names=}])", Method: (*Session).labPatch,
		Doc: "Joins two bridges of the lab with a veth pair (a patch cable between two switches): end BRIDGE-OTHER a port of bridge, " +
			"OTHER-BRIDGE of other (names = {a, b} to name them), both up; the bridges then forward between each other's ports. " +
			"STP is off: a loop of patches floods for ever.",
		Example: "lab:bridge(\"ex1\")\nlab:patch(\"ex0\", \"ex1\")   -- veth ex0-ex1 in ex0, ex1-ex0 in ex1\nprint(net.link(\"ex1-ex0\", lab).master)"},
	{Name: "wait", Args: "([timeout])", Method: (*Session).labWait,
		Doc: "Waits (default 10 s) until every link is up with a carrier and every bridge port forwards, and no router node has an " +
			"IPv6 address in duplicate address detection (it cannot forward IPv6 before), by listening to netlink; never sleeps.",
		Example: "lab:wait()"},
	{Name: "pingall", Args: "([{timeout=, sample=, seed=, neigh=}])", Method: (*Session).labPingall,
		Doc: "Pings every node's address from every other node (one echo each, timeout default 1 s), a window of pings at a time; " +
			"sample=k: every node pings k others chosen at random (seed= repeats a sample); neigh=\"kernel\" (ARP/NDP resolve, the " +
			"default up to 128 nodes) or \"static\" (pingall writes each pair's neighbour entries from the nodes' MACs: no broadcast; " +
			"the default above). Returns {sent=, ok=, failed={\"a -> b (IP): why\"}, seed=} that prints as a matrix (a summary past " +
			"64 nodes or when sampled); on a terminal a progress line runs on stderr. The kernel's neighbour (ARP) table is one table " +
			"for every namespace, full at 1024 entries host-wide (gc_thresh3), and past that drops packets silently: pingall deletes " +
			"the entries its pings made as soon as no ping needs them (those there before stay) and keeps at most 128 at a time " +
			"(docs/pingall.md).",
		Example: "local r = lab:pingall()\nassert(#r.failed == 0)\nprint(lab:pingall{sample = 10})"},
	{Name: "nodes", Args: "()", Method: (*Session).labNodes,
		Doc: "The nodes, in creation order.", Example: "for _, n in ipairs(lab:nodes()) do print(n.name) end"},
	{Name: "view", Args: "()", Method: (*Session).viewLab, Doc: "Same as view.lab(lab).", Example: "print(lab:view())"},
	{Name: "dot", Args: "()", Method: (*Session).labDot,
		Doc:     "The lab as a Graphviz graph (DOT text): nodes, bridges, veth pairs with their names and addresses. Render with dot -Tsvg.",
		Example: "io.open(\"lab.dot\", \"w\"):write(lab:dot())"},
	{Name: "peer", Args: "{remote=, vni=, [src=, port=, bridge=, name=, mtu=, underlay=]}", Method: (*Session).labPeer,
		Doc: labPeerDoc, Example: labPeerExample}, // labpeer.go
	{Name: "close", Args: "()", Method: (*Session).labClose,
		Doc:     "Tears the lab down now: stops node processes, removes pins and helpers, drops the namespaces (the kernel deletes their links).",
		Example: "lab:close()"},
}

func (s *Session) installLabTypes() {
	s.typeMetatable(labType, s.lazyMethods("lab", "lab:", labMethods), func(L *glua.LState, key string) glua.LValue {
		l := checkLab(L, 1).l
		switch key {
		case "name":
			return glua.LString(l.Name())
		case "dir":
			return glua.LString(l.Dir())
		case "pinned":
			return glua.LBool(l.Pinned())
		case "pin_message":
			return glua.LString(pinMessage(l))
		case "path":
			return optLString(l.Path())
		case "userns":
			return optLString(l.UserNS())
		}
		if n := l.Node(key); n != nil {
			return s.nodeUD(n)
		}
		return glua.LNil
	}, func(L *glua.LState) string { return checkLab(L, 1).l.String() })
	s.installNodeType()
	s.installCaptureType()
	s.labReservedInit = s.installLabReserved // on first use (labReserved)
}

// typeMetatable makes the metatable of a userdata type: obj.KEY is a
// method of meth, else what field says (nil for none); text is tostring(obj).
func (s *Session) typeMetatable(typ string, meth func() *glua.LTable, field func(L *glua.LState, key string) glua.LValue, text func(L *glua.LState) string) {
	L := s.L
	mt := L.NewTypeMetatable(typ)
	L.SetField(mt, "__index", L.NewFunction(func(L *glua.LState) int {
		key := L.CheckString(2)
		if m := meth().RawGetString(key); m != glua.LNil {
			L.Push(m)
		} else if v := field(L, key); v != glua.LNil || isMember(typ, L.Get(1), key) {
			L.Push(v)
		} else {
			return noSuchMember(L, typ, L.Get(1), key)
		}
		return 1
	}))
	L.SetField(mt, "__tostring", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(text(L)))
		return 1
	}))
}

// optLString is s as a Lua string, nil when empty.
func optLString(s string) glua.LValue {
	if s == "" {
		return glua.LNil
	}
	return glua.LString(s)
}

// pinMessage says why a lab that would pin is not pinned, with what to do.
func pinMessage(l *netlab.Lab) string {
	err := l.PinError()
	if err == nil {
		return ""
	}
	name := err.Error()
	var en unix.Errno
	if errors.As(err, &en) {
		name = unix.ErrnoName(en)
		if en == unix.EEXIST {
			name += ": the name is taken there, and this user may not write /run/netns anyway"
		}
	}
	return fmt.Sprintf("not pinned under /run/netns (%s); enter nodes with nsh --enter NODE or their nsenter.sh", name)
}

func checkLab(L *glua.LState, n int) *luaLab {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if l, ok := ud.Value.(*luaLab); ok {
			return l
		}
	}
	argErr(L, n, "lab expected (call methods with a colon: lab:node(\"h1\"))")
	return nil
}

func checkOpenLab(L *glua.LState, n int) *luaLab {
	l := checkLab(L, n)
	if l.l.Closed() {
		raiseErr(L, fmt.Errorf("lab %s is closed", l.l.Name()))
	}
	return l
}

// newUD wraps v as a userdata of type typ.
func newUD(L *glua.LState, typ string, v any) *glua.LUserData {
	ud := L.NewUserData()
	ud.Value = v
	L.SetMetatable(ud, L.GetTypeMetatable(typ))
	return ud
}

// ---- net.lab and the lab's methods ----

// labOptionKeys are the options of net.lab, also read from a lab
// description (net.lab_from) and by net.topo.
var labOptionKeys = []string{"name", "pin", "outer", "ipv6", "dir", "helpers", "userns", "holders"}

func (s *Session) netLab(L *glua.LState) int {
	L.Push(newUD(L, labType, s.openLab(argOptions(L, 1, labOptionKeys...), "lab")))
	return 1
}

// openLab makes a lab of the session from the options of net.lab in o
// (named defName unless o says).
func (s *Session) openLab(o options, defName string) *luaLab {
	L := o.L
	name := o.String("name", "")
	if name == "" {
		name = defName
	}
	if err := netlab.CheckName(name); err != nil {
		argErr(L, o.n, o.at+"bad lab name "+err.Error())
	}
	if s.findLab(name) != nil {
		argErr(L, o.n, o.at+fmt.Sprintf("a lab named %q is already open in this session", name))
	}
	if o.Bool("userns", false) && !o.Bool("outer", true) {
		argErr(L, o.n, o.at+"option userns puts the lab's hub in its user namespace too: not with outer=false")
	}
	pin := "auto"
	switch v := o.Value("pin").(type) {
	case *glua.LNilType:
	case glua.LBool:
		pin = map[bool]string{true: "yes", false: "no"}[bool(v)]
	default:
		if v != glua.LString("auto") {
			argErr(L, o.n, o.at+"option pin must be true, false or \"auto\"")
		}
	}
	// What the lab makes goes into the journal as it is made: its item
	// exists before the first pin or link, so that a SIGKILL in the middle
	// of the build leaves nothing the journal does not name.
	ll := &luaLab{}
	ll.item = s.Reg.Add("lab "+name, func() error {
		if ll.l == nil {
			return nil
		}
		return s.closeLab(ll)
	})
	note := func(kind, what string) { ll.item.Note(labRec(kind, what)) }
	l, err := netlab.NewLab(netlab.LabOptions{Name: name, NoOuter: !o.Bool("outer", true), Pin: pin != "no", PinAuto: pin == "auto",
		NoIPv6: !o.Bool("ipv6", true), UserNS: o.Bool("userns", false), NoHolders: !o.Bool("holders", true), Dir: o.String("dir", ""), Helpers: o.Bool("helpers", true), Note: note})
	if err != nil {
		ll.item.Forget() // NewLab undid what it made
		raiseErr(L, err)
	}
	ll.l = l
	s.labs = append(s.labs, ll)
	if msg := pinMessage(l); msg != "" {
		fmt.Fprintf(os.Stderr, "nsh: lab %s: %s\n", name, msg)
	}
	return ll
}

// closeLab tears the lab down and forgets it.
func (s *Session) closeLab(ll *luaLab) error {
	for i, x := range s.labs {
		if x == ll {
			s.labs = append(s.labs[:i:i], s.labs[i+1:]...)
			break
		}
	}
	return ll.l.Close()
}

func (s *Session) labClose(L *glua.LState) int {
	l := checkLab(L, 1)
	if l.l.Closed() {
		return 0
	}
	// the lab's records leave the journal once it is closed: a SIGKILL
	// during the close leaves them for the sweep (its tmpfs, pins, links)
	if err := l.item.Run(); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) labBridge(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	name := argLinkName(L, 2)
	var cidrs []string
	switch v := L.Get(3).(type) {
	case *glua.LNilType:
	case *glua.LTable:
		list, err := stringList(L, v, "address")
		if err != nil {
			return argErr(L, 3, "addresses in CIDR form expected ({\"10.53.57.11/24\", \"fd00::5357:5f0b/112\"})")
		}
		cidrs = list
	default:
		cidrs = []string{argString(L, 3, "address")}
	}
	for _, c := range cidrs {
		if err := netlab.CheckCIDR(c); err != nil {
			return argErr(L, 3, err.Error())
		}
	}
	first := ""
	if len(cidrs) > 0 {
		first = cidrs[0]
	}
	if err := l.l.AddBridge(name, first); err != nil {
		return raiseErr(L, err, hint(L, err))
	}
	for _, c := range cidrs[min(1, len(cidrs)):] {
		if err := l.l.Outer().AddAddr(name, c, true); err != nil {
			return raiseErr(L, err, hint(L, err))
		}
	}
	return 0
}

func (s *Session) labNode(L *glua.LState) int {
	l := checkOpenLab(L, 1).l
	name := argString(L, 2, "node name")
	if err := netlab.CheckName(name); err != nil {
		return argErr(L, 2, "bad node name "+err.Error()+" (e.g. \"ad_dc\")")
	}
	if l.Node(name) != nil {
		return argErr(L, 2, fmt.Sprintf("lab %s already has a node %q", l.Name(), name))
	}
	if labReserved(L, name) { // labscale.go
		return argErr(L, 2, fmt.Sprintf("%q names a lab method or field; pick another node name", name))
	}
	no := argNodeOptions(argOptions(L, 3, nodeOptionKeys...), name)
	s.Flush()
	n, err := l.AddNode(no)
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(s.nodeUD(n))
	return 1
}

// nodeOptionKeys are the options of lab:node, also read from a node of a
// lab description.
var nodeOptionKeys = []string{"ns", "hostname", "hosts", "resolv", "env", "keep", "router"}

// argNodeOptions reads the options of lab:node from o for node name.
func argNodeOptions(o options, name string) netlab.NodeOptions {
	L := o.L
	no := netlab.NodeOptions{Name: name, Hostname: o.String("hostname", ""), Resolv: o.String("resolv", ""), Env: map[string]string{},
		Router: o.Bool("router", false), Keep: o.Bool("keep", false)}
	if o.Has("ns") {
		ts, err := nsproc.ParseSet(o.Strings("ns")...)
		if err != nil {
			argErr(L, o.n, o.at+"option ns: "+err.Error())
		}
		no.Types = ts
	}
	switch v := o.Value("hosts").(type) {
	case *glua.LNilType:
	case glua.LBool:
		no.Hosts = bool(v)
	case glua.LString:
		no.Hosts, no.HostsText = true, string(v)
	default:
		argErr(L, o.n, o.at+"option hosts must be true or the file's content, got "+describe(v))
	}
	if env := o.Tbl("env"); env != nil {
		env.ForEach(func(k, v glua.LValue) {
			if ks, ok := k.(glua.LString); ok {
				no.Env[string(ks)] = v.String()
			}
		})
	}
	if err := no.Check(); err != nil {
		argErr(L, o.n, o.at+"option "+err.Error())
	}
	return no
}

func (s *Session) labLink(L *glua.LState) int {
	l := checkOpenLab(L, 1).l
	var n *netlab.Node
	if v, ok := L.Get(2).(glua.LString); ok {
		if n = l.Node(string(v)); n == nil {
			return argErr(L, 2, fmt.Sprintf("lab %s has no node %q (nodes: %s)", l.Name(), string(v), nodeNames(l)))
		}
	} else if n = checkNode(L, 2); n.Lab() != l {
		return argErr(L, 2, "the node belongs to another lab")
	}
	bridge := argLinkName(L, 3)
	if !l.HasBridge(bridge) {
		var names []string
		for _, b := range l.Bridges() {
			names = append(names, b.Name)
		}
		return argErr(L, 3, fmt.Sprintf("lab %s has no bridge %q (bridges: %s; make it first with lab:bridge)", l.Name(), bridge, orNone(names)))
	}
	o := argOptions(L, 4, append(append([]string(nil), linkOptionKeys...), "shape")...)
	sh, dir := argShape(L, 4, o.Value("shape"), "both")
	ls := argLinkSpec(o, n.Name, bridge)
	if err := l.LinkAs(n, ls); err != nil {
		return raiseErr(L, err, hint(L, err))
	}
	if sh != nil {
		if err := l.ShapeLink(n, ls.IfName, dir, sh); err != nil {
			return raiseErr(L, err)
		}
	}
	return 0
}

// linkOptionKeys are the options of lab:link, also read from a link of a
// node in a lab description.
var linkOptionKeys = []string{"ifname", "brname", "addr", "type", "mode"}

// argLinkSpec reads the options of lab:link from o for a link of node to
// bridge, with the defaults filled in. addr is one CIDR or a list.
func argLinkSpec(o options, node, bridge string) netlab.LinkSpec {
	var addrs []string
	if _, isList := o.Value("addr").(*glua.LTable); isList {
		addrs = o.Strings("addr")
	} else if a := o.String("addr", ""); a != "" {
		addrs = []string{a}
	}
	for _, a := range addrs {
		if err := netlab.CheckCIDR(a); err != nil {
			argErr(o.L, o.n, o.at+"option addr: "+err.Error())
		}
	}
	ls := netlab.LinkSpec{LinkOptions: netlab.LinkOptions{Bridge: bridge, IfName: o.String("ifname", ""), BrName: o.String("brname", "")},
		Type: o.Choice("type", "veth", netlab.LinkTypes...), Mode: o.String("mode", "")}
	if len(addrs) > 0 {
		ls.CIDR, ls.Extra = addrs[0], addrs[1:]
	}
	done, err := ls.Complete(node)
	if err != nil {
		hint := ""
		if strings.Contains(err.Error(), "IFNAMSIZ") {
			hint = "; give ifname= and brname="
		}
		argErr(o.L, o.n, o.at+err.Error()+hint)
	}
	return done
}

func nodeNames(l *netlab.Lab) string {
	var ns []string
	for _, n := range l.Nodes() {
		ns = append(ns, n.Name)
	}
	return orNone(ns)
}

// orNone lists names, or says there are none yet.
func orNone(names []string) string {
	if len(names) == 0 {
		return "none yet"
	}
	return strings.Join(names, ", ")
}

func (s *Session) labWait(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	d, ok := argOptSeconds(L, 2, "timeout")
	if !ok {
		d = 10 * time.Second
	}
	if err := l.l.Wait(d); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) labNodes(L *glua.LState) int {
	l := checkLab(L, 1)
	t := L.NewTable()
	for _, n := range l.l.Nodes() {
		t.Append(s.nodeUD(n))
	}
	L.Push(t)
	return 1
}

func (s *Session) labPingall(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	o := argOptions(L, 2, "timeout", "sample", "seed", "neigh")
	po := netlab.PingAllOptions{Timeout: seconds(o.Number("timeout", 1, 0.001, 60)),
		Sample: o.Int("sample", 0, 1, 1<<20), Seed: uint64(o.Int("seed", 0, 1, 1<<53)),
		Neigh: o.Choice("neigh", "", netlab.NeighKernel, netlab.NeighStatic)}
	if o.Has("seed") && po.Sample == 0 {
		return argErr(L, 2, "option seed chooses a sample: give sample= too")
	}
	if _, err := unix.IoctlGetTermios(2, unix.TCGETS); err == nil {
		po.Progress = os.Stderr // a line updated in place, on a terminal only
	}
	s.Flush()
	r, err := l.l.PingAllContext(s.Context(), po)
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	t.RawSetString("sent", glua.LNumber(r.Sent))
	t.RawSetString("ok", glua.LNumber(r.OK))
	t.RawSetString("failed", strList(L, r.Failed))
	if r.Seed != 0 {
		t.RawSetString("seed", glua.LNumber(r.Seed))
	}
	L.Push(withText(L, t, r.Text))
	return 1
}

func (s *Session) labDot(L *glua.LState) int {
	L.Push(glua.LString(checkLab(L, 1).l.Desc().Dot()))
	return 1
}

// seconds converts a Lua number of seconds.
func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
