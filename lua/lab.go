package lua

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
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

var labMethods = []Func{
	{Name: "node", Args: "(name, [{ns=, hostname=, hosts=, resolv=, env=}])", Method: (*Session).labNode,
		Doc: "Adds a node: a new network namespace with lo up (pinned as LAB-NAME when the lab pins). ns asks for more namespaces " +
			"(\"uts,mnt,pid,user\"), held by a sleeping process; hostname (needs uts, added automatically); hosts=true gives the node its " +
			"own /etc/hosts listing every lab node (or a string: its content); resolv gives it its own /etc/resolv.conf (an IP: " +
			"\"nameserver IP\"; or the content) — both through its mount namespace (added automatically). env: variables set by " +
			"node:run, node:shell and the nsenter.sh helper (SERVER, SERVER_IP, NSH_LAB and NSH_NODE are always set). Returns the node.",
		Example: "local dc = lab:node(\"ad_dc\", {hostname = \"addc\", resolv = \"10.53.57.64\", env = {REALM = \"SAMBA.EXAMPLE.COM\"}})"},
	{Name: "bridge", Args: "(name, [cidr])", Method: (*Session).labBridge,
		Doc:     "Adds a bridge in the lab's outer namespace, forward delay 0, with an address if given, up.",
		Example: "lab:bridge(\"selftest0\", \"10.53.57.11/24\")"},
	{Name: "link", Args: "(node, bridge, [{ifname=, brname=, addr=}])", Method: (*Session).labLink,
		Doc: "Joins a node to a bridge with a veth pair: ifname (default eth0) inside the node, holding addr (CIDR), and brname " +
			"(default NODE-br, at most 15 bytes) in the outer namespace, enslaved to the bridge; both up. node is a node or its name.",
		Example: "lab:link(\"ad_dc\", \"selftest0\", {ifname = \"veth21\", brname = \"veth21-br\", addr = \"10.53.57.21/24\"})"},
	{Name: "wait", Args: "([timeout])", Method: (*Session).labWait,
		Doc:     "Waits (default 10 s) until every link is up with a carrier and every bridge port forwards, by listening to netlink; never sleeps.",
		Example: "lab:wait()"},
	{Name: "pingall", Args: "([{timeout=}])", Method: (*Session).labPingall,
		Doc:     "Pings every node's address from every other node (one echo each, timeout default 1 s). Returns {sent=, ok=, failed={\"a -> b: why\"}} that prints as a matrix.",
		Example: "local r = lab:pingall()\nassert(#r.failed == 0)"},
	{Name: "nodes", Args: "()", Method: (*Session).labNodes,
		Doc: "The nodes, in creation order.", Example: "for _, n in ipairs(lab:nodes()) do print(n.name) end"},
	{Name: "view", Args: "()", Method: (*Session).viewLab, Doc: "Same as view.lab(lab).", Example: "print(lab:view())"},
	{Name: "dot", Args: "()", Method: (*Session).labDot,
		Doc:     "The lab as a Graphviz graph (DOT text): nodes, bridges, veth pairs with their names and addresses. Render with dot -Tsvg.",
		Example: "io.open(\"lab.dot\", \"w\"):write(lab:dot())"},
	{Name: "close", Args: "()", Method: (*Session).labClose,
		Doc:     "Tears the lab down now: stops node processes, removes pins and helpers, drops the namespaces (the kernel deletes their links).",
		Example: "lab:close()"},
}

var nodeMethods = []Func{
	{Name: "run", Args: "(cmd, [{stdin=}])", Method: (*Session).nodeRun,
		Doc:     "Runs a command inside the node (its network namespace and the others it has), output captured. cmd is a shell line or an argv list. Returns stdout, exit code, stderr.",
		Example: "local out, code = lab.h1:run\"ip -br a\""},
	{Name: "shell", Args: "([argv])", Method: (*Session).nodeShell,
		Doc:     "Opens an interactive shell ($SHELL or /bin/sh; or argv) inside the node with its variables set, and waits for it. Returns the exit code.",
		Example: "lab.ad_dc:shell()"},
	{Name: "ping", Args: "(other, [{count=, timeout=}])", Method: (*Session).nodePing,
		Doc:     "Pings another node (a node or its name: its first address) or an IP from inside this node. Returns RTTs in ms and a message when replies were lost.",
		Example: "assert(#lab.h1:ping(\"h2\") == 1)"},
	{Name: "links", Args: "()", Method: (*Session).nodeLinks, Doc: "The node's links, as net.links(node).", Example: "print(#lab.h1:links())"},
	{Name: "helper", Args: "()", Method: (*Session).nodeHelper,
		Doc:     "The path of the node's generated nsenter.sh: run it (with a command or none for a shell) from any terminal to enter the node with its variables, as Samba's st/ENV/nsenter.sh.",
		Example: "print(lab.ad_dc:helper())"},
}

func (s *Session) installLabTypes() {
	L := s.L
	lmeth := s.methodTable("lab", "lab:", labMethods, nil)
	mt := L.NewTypeMetatable(labType)
	L.SetField(mt, "__index", L.NewFunction(func(L *glua.LState) int {
		l := checkLab(L, 1).l
		key := L.CheckString(2)
		if m := lmeth.RawGetString(key); m != glua.LNil {
			L.Push(m)
			return 1
		}
		switch key {
		case "name":
			L.Push(glua.LString(l.Name()))
		case "dir":
			L.Push(glua.LString(l.Dir()))
		case "pinned":
			L.Push(glua.LBool(l.Pinned()))
		case "pin_message":
			L.Push(glua.LString(pinMessage(l)))
		case "path":
			if p := l.Path(); p != "" {
				L.Push(glua.LString(p))
			} else {
				L.Push(glua.LNil)
			}
		default:
			if n := l.Node(key); n != nil {
				L.Push(s.nodeUD(n))
			} else {
				L.Push(glua.LNil)
			}
		}
		return 1
	}))
	L.SetField(mt, "__tostring", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(checkLab(L, 1).l.String()))
		return 1
	}))

	nmeth := s.methodTable("node", "node:", nodeMethods, nil)
	nmt := L.NewTypeMetatable(nodeType)
	L.SetField(nmt, "__index", L.NewFunction(func(L *glua.LState) int {
		n := nodeOf(L, 1)
		key := L.CheckString(2)
		if m := nmeth.RawGetString(key); m != glua.LNil {
			L.Push(m)
			return 1
		}
		switch key {
		case "name":
			L.Push(glua.LString(n.Name))
		case "ip":
			L.Push(glua.LString(n.IP()))
		case "addrs":
			L.Push(strList(L, n.Addrs()))
		case "path":
			L.Push(glua.LString(n.Path()))
		case "pid":
			if pid := n.HolderPID(); pid != 0 {
				L.Push(glua.LNumber(pid))
			} else {
				L.Push(glua.LNil)
			}
		case "hostname":
			L.Push(glua.LString(n.Hostname()))
		case "env":
			t := L.NewTable()
			for k, v := range n.Env() {
				t.RawSetString(k, glua.LString(v))
			}
			L.Push(t)
		default:
			L.Push(glua.LNil)
		}
		return 1
	}))
	L.SetField(nmt, "__tostring", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(nodeOf(L, 1).String()))
		return 1
	}))
	L.SetField(nmt, "__eq", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LBool(nodeOf(L, 1) == nodeOf(L, 2)))
		return 1
	}))
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

func (s *Session) nodeUD(n *netlab.Node) *glua.LUserData {
	ud := s.L.NewUserData()
	ud.Value = n
	s.L.SetMetatable(ud, s.L.GetTypeMetatable(nodeType))
	return ud
}

// nodeOf is the node in argument n, closed lab or not (for __index).
func nodeOf(L *glua.LState, n int) *netlab.Node {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if nd, ok := ud.Value.(*netlab.Node); ok {
			return nd
		}
	}
	argErr(L, n, "lab node expected")
	return nil
}

func checkNode(L *glua.LState, n int) *netlab.Node {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if nd, ok := ud.Value.(*netlab.Node); ok {
			if nd.Lab().Closed() {
				raiseErr(L, fmt.Errorf("the lab of node %s is closed", nd.Name))
			}
			return nd
		}
	}
	argErr(L, n, "lab node expected (call methods with a colon: lab.h1:run\"ip a\")")
	return nil
}

// ---- net.lab and the lab's methods ----

func (s *Session) netLab(L *glua.LState) int {
	o := argOptions(L, 1, "name", "pin", "outer", "ipv6", "dir", "helpers")
	name := o.String("name", "")
	if name == "" {
		name = "lab"
	}
	if err := netlab.CheckName(name); err != nil {
		return argErr(L, 1, "bad lab name "+err.Error())
	}
	if s.findLab(name) != nil {
		return argErr(L, 1, fmt.Sprintf("a lab named %q is already open in this session", name))
	}
	pin := "auto"
	switch v := o.Value("pin").(type) {
	case *glua.LNilType:
	case glua.LBool:
		pin = map[bool]string{true: "yes", false: "no"}[bool(v)]
	default:
		if v != glua.LString("auto") {
			return argErr(L, 1, "option pin must be true, false or \"auto\"")
		}
	}
	l, err := netlab.NewLab(netlab.LabOptions{Name: name, NoOuter: !o.Bool("outer", true), Pin: pin != "no", PinAuto: pin == "auto",
		IPv6: o.Bool("ipv6", false), Dir: o.String("dir", ""), Helpers: o.Bool("helpers", true)})
	if err != nil {
		return raise(L, "net.lab", err)
	}
	ll := &luaLab{l: l}
	ll.item = s.Reg.Add("lab "+name, func() error { return s.closeLab(ll) })
	s.labs = append(s.labs, ll)
	if msg := pinMessage(l); msg != "" {
		fmt.Fprintf(os.Stderr, "nsh: lab %s: %s\n", name, msg)
	}
	ud := L.NewUserData()
	ud.Value = ll
	L.SetMetatable(ud, L.GetTypeMetatable(labType))
	L.Push(ud)
	return 1
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
	l.item.Forget()
	if err := s.closeLab(l); err != nil {
		return raise(L, "lab:close", err)
	}
	return 0
}

func (s *Session) labBridge(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	name := argLinkName(L, 2)
	cidr := argOptString(L, 3, "address", "")
	if cidr != "" {
		argCIDR(L, 3)
	}
	if err := l.l.AddBridge(name, cidr); err != nil {
		return raise(L, "lab:bridge", err)
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
	if L.GetField(L.Get(1), name) != glua.LNil {
		return argErr(L, 2, fmt.Sprintf("%q names a lab method or field; pick another node name", name))
	}
	o := argOptions(L, 3, "ns", "hostname", "hosts", "resolv", "env")
	no := netlab.NodeOptions{Name: name, Hostname: o.String("hostname", ""), Resolv: o.String("resolv", ""), Env: map[string]string{}}
	if o.Has("ns") {
		ts, err := nsproc.ParseSet(o.Strings("ns")...)
		if err != nil {
			return argErr(L, 3, "option ns: "+err.Error())
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
		return argErr(L, 3, "option hosts must be true or the file's content, got "+describe(v))
	}
	if env := o.Tbl("env"); env != nil {
		env.ForEach(func(k, v glua.LValue) {
			if ks, ok := k.(glua.LString); ok {
				no.Env[string(ks)] = v.String()
			}
		})
	}
	if err := no.Check(); err != nil {
		return argErr(L, 3, "option "+err.Error())
	}
	s.Flush()
	n, err := l.AddNode(no)
	if err != nil {
		return raise(L, "lab:node", err)
	}
	L.Push(s.nodeUD(n))
	return 1
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
		return argErr(L, 3, fmt.Sprintf("lab %s has no bridge %q (bridges: %s; make it first with lab:bridge)", l.Name(), bridge, dash(strings.Join(names, ", "))))
	}
	o := argOptions(L, 4, "ifname", "brname", "addr")
	addr := o.String("addr", "")
	if addr != "" {
		if err := netlab.CheckCIDR(addr); err != nil {
			return argErr(L, 4, "option addr: "+err.Error())
		}
	}
	lo, err := netlab.LinkOptions{Bridge: bridge, IfName: o.String("ifname", ""), BrName: o.String("brname", ""), CIDR: addr}.Complete(n.Name)
	if err != nil {
		return argErr(L, 4, err.Error()+"; give ifname= and brname=")
	}
	if err := l.Link(n, lo); err != nil {
		return raise(L, "lab:link", err)
	}
	return 0
}

func nodeNames(l *netlab.Lab) string {
	var ns []string
	for _, n := range l.Nodes() {
		ns = append(ns, n.Name)
	}
	if len(ns) == 0 {
		return "none yet"
	}
	return strings.Join(ns, ", ")
}

func (s *Session) labWait(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	if err := l.l.Wait(argOptSeconds(L, 2, 10)); err != nil {
		return raise(L, "lab:wait", err)
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
	o := argOptions(L, 2, "timeout")
	r := l.l.PingAll(seconds(o.Number("timeout", 1, 0.001, 60)))
	t := L.NewTable()
	t.RawSetString("sent", glua.LNumber(r.Sent))
	t.RawSetString("ok", glua.LNumber(r.OK))
	t.RawSetString("failed", strList(L, r.Failed))
	L.Push(withText(L, t, r.Text))
	return 1
}

// ---- node methods ----

// argArgv reads argument n as a shell line (run through /bin/sh -c) or an
// argv list.
func argArgv(L *glua.LState, n int) []string {
	if v, ok := L.Get(n).(glua.LString); ok {
		return []string{"/bin/sh", "-c", string(v)}
	}
	list, err := stringList(L, L.Get(n), "argv")
	if _, isTable := L.Get(n).(*glua.LTable); !isTable || err != nil || len(list) == 0 {
		argErr(L, n, "a command string (\"ip a\") or a non-empty argv list expected, got "+describe(L.Get(n)))
	}
	return list
}

func (s *Session) nodeRun(L *glua.LState) int {
	n := checkNode(L, 1)
	argv := argArgv(L, 2)
	stdin := argOptions(L, 3, "stdin").String("stdin", "")
	spec, err := n.Command(argv)
	if err != nil {
		return raise(L, "node:run", err)
	}
	out, code, errOut, err := s.runCaptured(spec, stdin)
	if err != nil {
		return raise(L, "node:run", err)
	}
	L.Push(glua.LString(out))
	L.Push(glua.LNumber(code))
	L.Push(glua.LString(errOut))
	return 3
}

func (s *Session) nodeShell(L *glua.LState) int {
	n := checkNode(L, 1)
	argv := []string{os.Getenv("SHELL")}
	if argv[0] == "" {
		argv[0] = "/bin/sh"
	}
	if L.Get(2) != glua.LNil {
		list, err := stringList(L, L.Get(2), "argv")
		if err != nil || len(list) == 0 {
			return argErr(L, 2, "argv list expected ({\"/bin/bash\", \"--norc\"})")
		}
		argv = list
	}
	fmt.Fprintf(os.Stderr, "nsh: entering node %s of lab %s (exit the shell to come back)\n", n.Name, n.Lab().Name())
	spec, err := n.Command(argv)
	if err != nil {
		return raise(L, "node:shell", err)
	}
	s.Flush()
	p, err := nsproc.Start(spec)
	if err != nil {
		return raise(L, "node:shell", err)
	}
	it := s.Reg.Add("child "+strconv.Itoa(p.Pid), func() error { return stopChild(p) })
	st, err := p.Wait(s.Context())
	it.Forget()
	if err != nil {
		stopChild(p)
		return raise(L, "node:shell", err)
	}
	L.Push(glua.LNumber(st.Code))
	return 1
}

func (s *Session) nodePing(L *glua.LState) int {
	n := checkNode(L, 1)
	var dst string
	switch v := L.Get(2).(type) {
	case glua.LString:
		if o := n.Lab().Node(string(v)); o != nil {
			if dst = o.IP(); dst == "" {
				return argErr(L, 2, fmt.Sprintf("node %s has no address yet (lab:link it with addr=)", o.Name))
			}
		} else if net.ParseIP(string(v)) != nil {
			dst = string(v)
		} else {
			return argErr(L, 2, fmt.Sprintf("%q is neither a node of lab %s (%s) nor an IP address", string(v), n.Lab().Name(), nodeNames(n.Lab())))
		}
	case *glua.LUserData:
		o := checkNode(L, 2)
		if dst = o.IP(); dst == "" {
			return argErr(L, 2, fmt.Sprintf("node %s has no address yet", o.Name))
		}
	default:
		return argErr(L, 2, "a node, a node name or an IP address expected, got "+describe(L.Get(2)))
	}
	o := argOptions(L, 3, "count", "timeout")
	count := o.Int("count", 1, 1, 1000)
	timeout := o.Number("timeout", 1, 0.001, 3600)
	rtts, err := n.NS().Ping(dst, count, seconds(timeout))
	return pushPing(L, rtts, err)
}

func (s *Session) nodeLinks(L *glua.LState) int {
	n := checkNode(L, 1)
	ls, err := n.NS().Links()
	if err != nil {
		return raise(L, "node:links", err)
	}
	L.Push(withText(L, linksTable(L, ls), netlab.LinksText("links of node "+n.Name, ls)))
	return 1
}

func (s *Session) nodeHelper(L *glua.LState) int {
	L.Push(glua.LString(checkNode(L, 1).HelperPath()))
	return 1
}

func (s *Session) labDot(L *glua.LState) int {
	L.Push(glua.LString(checkLab(L, 1).l.Desc().Dot()))
	return 1
}

// seconds converts a Lua number of seconds.
func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
