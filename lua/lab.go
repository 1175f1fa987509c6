package lua

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"nsh/runtime/cleanup"
	"nsh/runtime/netlab"
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// Labs: net.lab{...} returns a lab userdata; its nodes are userdata too
// (lab_node.go; views in lab_view.go). Indexing a lab by a node's name
// gives the node (lab.h1), so lab.h1:run"ip a" reads as it does in Mininet.

const (
	labType  = "nsh.lab"
	nodeType = "nsh.labnode"
)

type luaLab struct {
	s         *Session
	l         *netlab.Lab
	name      string
	item      *cleanup.Item
	nodes     map[string]*luaNode
	order     []*luaNode
	bridges   []netlab.BridgeDesc
	links     []netlab.LinkDesc
	dir       string
	ownDir    bool
	pinned    bool
	pinMsg    string
	userns    string // /proc/PID/ns/user of nsh, for the helpers
	hostsSet  bool   // some node has its own /etc/hosts: keep DIR/hosts current
	noHelpers bool   // helpers=false: no nsenter.sh per node (big labs, benchmarks)
	closed    bool
}

var labsBySession = map[*Session][]*luaLab{}

func (s *Session) findNode(name string) *luaNode {
	for _, l := range labsBySession[s] {
		if l.closed {
			continue
		}
		if n := l.nodes[name]; n != nil {
			return n
		}
		for _, sep := range []string{"-", "/"} {
			if rest, ok := strings.CutPrefix(name, l.name+sep); ok && l.nodes[rest] != nil {
				return l.nodes[rest]
			}
		}
	}
	return nil
}

func (s *Session) findLab(name string) *luaLab {
	for _, l := range labsBySession[s] {
		if !l.closed && l.name == name {
			return l
		}
	}
	return nil
}

var labMethods = []Func{
	{Name: "node", Args: "(name, [{ns=, hostname=, hosts=, resolv=, env=}])",
		Doc: "Adds a node: a new network namespace with lo up (pinned as LAB-NAME when the lab pins). ns asks for more namespaces " +
			"(\"uts,mnt,pid,user\"), held by a sleeping process; hostname (needs uts, added automatically); hosts=true gives the node its " +
			"own /etc/hosts listing every lab node (or a string: its content); resolv gives it its own /etc/resolv.conf (an IP: " +
			"\"nameserver IP\"; or the content) — both through its mount namespace (added automatically). env: variables set by " +
			"node:run, node:shell and the nsenter.sh helper (SERVER, SERVER_IP, NSH_LAB and NSH_NODE are always set). Returns the node.",
		Example: "local dc = lab:node(\"ad_dc\", {hostname = \"addc\", resolv = \"10.53.57.64\", env = {REALM = \"SAMBA.EXAMPLE.COM\"}})"},
	{Name: "bridge", Args: "(name, [cidr])", Doc: "Adds a bridge in the lab's outer namespace, forward delay 0, with an address if given, up.",
		Example: "lab:bridge(\"selftest0\", \"10.53.57.11/24\")"},
	{Name: "link", Args: "(node, bridge, [{ifname=, brname=, addr=}])",
		Doc: "Joins a node to a bridge with a veth pair: ifname (default eth0) inside the node, holding addr (CIDR), and brname " +
			"(default NODE-br, at most 15 bytes) in the outer namespace, enslaved to the bridge; both up. node is a node or its name.",
		Example: "lab:link(\"ad_dc\", \"selftest0\", {ifname = \"veth21\", brname = \"veth21-br\", addr = \"10.53.57.21/24\"})"},
	{Name: "wait", Args: "([timeout])", Doc: "Waits (default 10 s) until every link is up with a carrier and every bridge port forwards, by listening to netlink; never sleeps.",
		Example: "lab:wait()"},
	{Name: "pingall", Args: "([{timeout=}])", Doc: "Pings every node's address from every other node (one echo each, timeout default 1 s). Returns {sent=, ok=, failed={\"a -> b: why\"}} that prints as a matrix.",
		Example: "local r = lab:pingall()\nassert(#r.failed == 0)"},
	{Name: "nodes", Args: "()", Doc: "The nodes, in creation order.", Example: "for _, n in ipairs(lab:nodes()) do print(n.name) end"},
	{Name: "view", Args: "()", Doc: "Same as view.lab(lab).", Example: "print(lab:view())"},
	{Name: "dot", Args: "()", Doc: "The lab as a Graphviz graph (DOT text): nodes, bridges, veth pairs with their names and addresses. Render with dot -Tsvg.",
		Example: "io.open(\"lab.dot\", \"w\"):write(lab:dot())"},
	{Name: "close", Args: "()", Doc: "Tears the lab down now: stops node processes, removes pins and helpers, drops the namespaces (the kernel deletes their links).",
		Example: "lab:close()"},
}

func (s *Session) installLabTypes() {
	L := s.L
	lbind := map[string]glua.LGFunction{"node": s.labNode, "bridge": s.labBridge, "link": s.labLink, "wait": s.labWait,
		"pingall": s.labPingall, "nodes": s.labNodes, "view": s.viewLab, "dot": s.labDot, "close": s.labClose}
	lmeth := s.methodTable("lab", "lab:", labMethods, lbind)
	mt := L.NewTypeMetatable(labType)
	L.SetField(mt, "__index", L.NewFunction(func(L *glua.LState) int {
		l := checkLab(L, 1)
		key := L.CheckString(2)
		if m := lmeth.RawGetString(key); m != glua.LNil {
			L.Push(m)
			return 1
		}
		switch key {
		case "name":
			L.Push(glua.LString(l.name))
		case "dir":
			L.Push(glua.LString(l.dir))
		case "pinned":
			L.Push(glua.LBool(l.pinned))
		case "pin_message":
			L.Push(glua.LString(l.pinMsg))
		case "path":
			if l.pinned {
				L.Push(glua.LString(filepath.Join(nsproc.NetnsDir, l.name)))
			} else if !l.closed {
				L.Push(glua.LString(fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), l.l.Outer().Fd())))
			} else {
				L.Push(glua.LNil)
			}
		default:
			if n := l.nodes[key]; n != nil {
				L.Push(s.nodeUD(n))
			} else {
				L.Push(glua.LNil)
			}
		}
		return 1
	}))
	L.SetField(mt, "__tostring", L.NewFunction(func(L *glua.LState) int {
		l := checkLab(L, 1)
		state := fmt.Sprintf("%d nodes, %d bridges", len(l.order), len(l.bridges))
		if l.closed {
			state = "closed"
		}
		L.Push(glua.LString(fmt.Sprintf("lab %s (%s)", l.name, state)))
		return 1
	}))
	s.installNodeType()
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
	if l.closed {
		raiseErr(L, fmt.Errorf("lab %s is closed", l.name))
	}
	return l
}

// ---- net.lab ----

var labNameOK = func(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return n != "." && n != ".."
}

func (s *Session) netLab(L *glua.LState) int {
	var opts *glua.LTable
	switch v := L.Get(1).(type) {
	case *glua.LNilType:
	case *glua.LTable:
		opts = v
	default:
		return argErr(L, 1, "options table expected: net.lab{name = \"selftest\"}")
	}
	_, _ = s.optsOrWhere(L, 1, "name", "pin", "outer", "ipv6", "dir", "helpers")
	name := optString(L, opts, "name", 1)
	if name == "" {
		name = "lab"
	}
	if !labNameOK(name) {
		return argErr(L, 1, fmt.Sprintf("bad lab name %q: letters, digits, '_', '-', '.', at most 64", name))
	}
	if s.findLab(name) != nil {
		return argErr(L, 1, fmt.Sprintf("a lab named %q is already open in this session", name))
	}
	pin := "auto"
	if opts != nil {
		switch v := opts.RawGetString("pin").(type) {
		case *glua.LNilType:
		case glua.LBool:
			pin = map[bool]string{true: "yes", false: "no"}[bool(v)]
		case glua.LString:
			if v != "auto" {
				return argErr(L, 1, "option pin must be true, false or \"auto\"")
			}
		default:
			return argErr(L, 1, "option pin must be true, false or \"auto\"")
		}
	}
	outer := optBool(L, opts, "outer", 1, true)
	ipv6 := optBool(L, opts, "ipv6", 1, false)
	dir := optString(L, opts, "dir", 1)
	helpers := optBool(L, opts, "helpers", 1, true)

	lo := netlab.LabOptions{Name: name, NoOuter: !outer, Pin: pin != "no", IPv6: ipv6}
	l, err := netlab.NewLab(lo)
	pinMsg := ""
	if err != nil && pin == "auto" && (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS)) {
		pinMsg = fmt.Sprintf("not pinned under /run/netns (%v); enter nodes with nsh --enter NODE or their nsenter.sh", errnoName(err))
		lo.Pin = false
		l, err = netlab.NewLab(lo)
	}
	if err != nil {
		return raise(L, "net.lab", err)
	}
	ll := &luaLab{s: s, l: l, name: name, nodes: map[string]*luaNode{}, pinned: lo.Pin, pinMsg: pinMsg, noHelpers: !helpers,
		userns: fmt.Sprintf("/proc/%d/ns/user", os.Getpid())}
	if dir == "" {
		labs, err := netlab.LabsDir()
		if err != nil {
			l.Close()
			return raise(L, "net.lab", err)
		}
		d, err := os.MkdirTemp(labs, name+".")
		if err != nil {
			l.Close()
			return raise(L, "net.lab", err)
		}
		dir, ll.ownDir = d, true
	} else {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			l.Close()
			return raise(L, "net.lab", err)
		}
	}
	ll.dir = dir
	// The marker lets `nsh --enter` find this lab's helpers.
	if err := netlab.WriteLabMarker(dir, name, os.Getpid()); err != nil {
		l.Close()
		return raise(L, "net.lab", err)
	}
	ll.item = s.Reg.Add("lab "+name, ll.close)
	labsBySession[s] = append(labsBySession[s], ll)
	if pinMsg != "" {
		fmt.Fprintf(os.Stderr, "nsh: lab %s: %s\n", name, pinMsg)
	}
	ud := L.NewUserData()
	ud.Value = ll
	L.SetMetatable(ud, L.GetTypeMetatable(labType))
	L.Push(ud)
	return 1
}

func errnoName(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		return unix.ErrnoName(en)
	}
	return err.Error()
}

// close tears the lab down: holders first, then namespaces and pins, then
// the helper directory.
func (l *luaLab) close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	for _, n := range l.order {
		if n.holder != nil {
			if err := stopChild(n.holder); err != nil {
				errs = append(errs, err)
			}
			n.hitem.Forget()
		}
	}
	if err := l.l.Close(); err != nil {
		errs = append(errs, err)
	}
	if l.ownDir {
		if err := os.RemoveAll(l.dir); err != nil {
			errs = append(errs, err)
		}
		netlab.TidyLabsDir()
	} else {
		for _, n := range l.order {
			os.RemoveAll(n.dir)
		}
		os.Remove(filepath.Join(l.dir, "hosts"))
		os.Remove(filepath.Join(l.dir, netlab.LabMarker))
	}
	ls := labsBySession[l.s]
	for i, x := range ls {
		if x == l {
			labsBySession[l.s] = append(ls[:i:i], ls[i+1:]...)
			break
		}
	}
	return errors.Join(errs...)
}

func (s *Session) labClose(L *glua.LState) int {
	l := checkLab(L, 1)
	if l.closed {
		return 0
	}
	l.item.Forget()
	if err := l.close(); err != nil {
		return raise(L, "lab:close", err)
	}
	return 0
}

func (s *Session) labBridge(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	name := checkName(L, 2)
	cidr := ""
	if L.Get(3) != glua.LNil {
		cidr = checkCIDR(L, 3)
	}
	if err := l.l.AddBridge(name, cidr); err != nil {
		return raise(L, "lab:bridge", err)
	}
	l.bridges = append(l.bridges, netlab.BridgeDesc{Name: name, CIDR: cidr})
	return 0
}

func (s *Session) labNode(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	name, ok := L.Get(2).(glua.LString)
	if !ok || !labNameOK(string(name)) {
		return argErr(L, 2, "node name expected: letters, digits, '_', '-', '.' (e.g. \"ad_dc\")")
	}
	if l.nodes[string(name)] != nil {
		return argErr(L, 2, fmt.Sprintf("lab %s already has a node %q", l.name, string(name)))
	}
	if _, isMethod := map[string]bool{"node": true, "bridge": true, "link": true, "wait": true, "pingall": true, "nodes": true,
		"view": true, "dot": true, "close": true, "name": true, "dir": true, "pinned": true, "pin_message": true, "path": true}[string(name)]; isMethod {
		return argErr(L, 2, fmt.Sprintf("%q names a lab method or field; pick another node name", string(name)))
	}
	var opts *glua.LTable
	if v, ok := L.Get(3).(*glua.LTable); ok {
		opts = v
		s.optsOrWhere(L, 3, "hostname", "hosts", "resolv", "env")
	} else if L.Get(3) != glua.LNil {
		return argErr(L, 3, "options table expected: {ns=, hostname=, hosts=, resolv=, env=}")
	}
	var types []nsproc.Type
	if opts != nil && opts.RawGetString("ns") != glua.LNil {
		words, err := stringList(L, opts.RawGetString("ns"), "ns")
		if err != nil {
			return argErr(L, 3, "option ns: "+err.Error())
		}
		ts, err := nsproc.ParseTypes(words...)
		if err != nil {
			return argErr(L, 3, "option ns: "+err.Error())
		}
		for _, t := range ts {
			if t.Name != "net" {
				types = append(types, t)
			}
		}
	}
	hostname := optString(L, opts, "hostname", 3)
	if len(hostname) > 64 {
		return argErr(L, 3, "option hostname: at most 64 bytes")
	}
	resolv := optString(L, opts, "resolv", 3)
	hosts := ""
	wantHosts := false
	if opts != nil {
		switch v := opts.RawGetString("hosts").(type) {
		case *glua.LNilType:
		case glua.LBool:
			wantHosts = bool(v)
		case glua.LString:
			wantHosts, hosts = true, string(v)
		default:
			return argErr(L, 3, "option hosts must be true or the file's content")
		}
	}
	env := map[string]string{}
	if opts != nil {
		if ev, ok := opts.RawGetString("env").(*glua.LTable); ok {
			ev.ForEach(func(k, v glua.LValue) {
				if ks, ok := k.(glua.LString); ok {
					env[string(ks)] = v.String()
				}
			})
		} else if opts.RawGetString("env") != glua.LNil {
			return argErr(L, 3, "option env must be a table {NAME = \"value\"}")
		}
	}
	if hostname != "" && !hasType(types, "uts") {
		types = append(types, mustType("uts"))
	}
	if (wantHosts || resolv != "") && !hasType(types, "mnt") {
		types = append(types, mustType("mnt"))
	}

	nd, err := l.l.AddNode(string(name))
	if err != nil {
		return raise(L, "lab:node", err)
	}
	n := &luaNode{lab: l, n: nd, name: string(name), types: types, hostname: hostname, env: env,
		dir: filepath.Join(l.dir, string(name))}
	l.nodes[n.name] = n
	l.order = append(l.order, n)
	if len(types) > 0 || !l.noHelpers {
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return raise(L, "lab:node", err)
		}
	}
	if len(types) > 0 {
		files := netlab.EtcFiles{}
		if wantHosts {
			p := filepath.Join(l.dir, "hosts")
			if hosts != "" {
				p = filepath.Join(n.dir, "hosts")
				os.WriteFile(p, []byte(hosts), 0o644)
			} else {
				l.hostsSet = true
				l.writeHosts()
			}
			files["/etc/hosts"] = p
		}
		if resolv != "" {
			content := resolv
			if net.ParseIP(resolv) != nil {
				content = "nameserver " + resolv + "\n"
			}
			p := filepath.Join(n.dir, "resolv.conf")
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return raise(L, "lab:node", err)
			}
			files["/etc/resolv.conf"] = p
		}
		shell, err := exec.LookPath("sh")
		if err != nil {
			return raise(L, "lab:node", fmt.Errorf("a node with more namespaces is held by a sleeping sh(1): %v", err))
		}
		// The holder says "ready" once its set-up steps ran (they run
		// before the exec), then sleeps for the life of the lab.
		spec := nsproc.Spec{Argv: []string{shell, "-c", "echo ready; exec sleep infinity"}, Types: nsproc.SetOf(types...),
			Join:  map[string]string{"net": fmt.Sprintf("/proc/thread-self/fd/%d", nd.NS().Fd())},
			Setup: nsproc.Setup{Hostname: hostname}}
		if len(files) > 0 {
			spec.Setup.Steps = append(spec.Setup.Steps, nsproc.Step{Name: netlab.EtcStep, Args: netlab.EtcArgs(files)})
		}
		if hasType(types, "user") {
			spec.UIDMap = []nsproc.IDMap{{Inside: 0, Outside: os.Geteuid(), Count: 1}}
			spec.GIDMap = []nsproc.IDMap{{Inside: 0, Outside: os.Getegid(), Count: 1}}
		}
		p, err := startHolder(s, spec)
		if err != nil {
			return raise(L, "lab:node", err)
		}
		n.holder = p
		n.hitem = s.Reg.Add("child "+strconv.Itoa(p.Pid), func() error { return stopChild(p) })
	}
	n.setEnv()
	if err := n.writeHelper(); err != nil {
		return raise(L, "lab:node", err)
	}
	L.Push(s.nodeUD(n))
	return 1
}

func mustType(name string) nsproc.Type {
	t, _ := nsproc.LookupType(name)
	return t
}

// writeHosts refreshes the lab's shared hosts file in place (the nodes
// have it bind-mounted, so the inode must stay).
func (l *luaLab) writeHosts() {
	if !l.hostsSet {
		return
	}
	netlab.WriteHosts(filepath.Join(l.dir, "hosts"), l.desc().Nodes)
}

func (s *Session) labLink(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	var n *luaNode
	switch v := L.Get(2).(type) {
	case glua.LString:
		n = l.nodes[string(v)]
		if n == nil {
			return argErr(L, 2, fmt.Sprintf("lab %s has no node %q (nodes: %s)", l.name, string(v), l.nodeNames()))
		}
	default:
		n = checkNode(L, 2)
		if n.lab != l {
			return argErr(L, 2, "the node belongs to another lab")
		}
	}
	bridge := checkName(L, 3)
	opts, _ := s.optsOrWhere(L, 4, "ifname", "brname", "addr")
	ifname := optString(L, opts, "ifname", 4)
	if ifname == "" {
		ifname = "eth0"
	}
	brname := optString(L, opts, "brname", 4)
	if brname == "" {
		brname = n.name + "-br"
	}
	if len(ifname) > 15 || len(brname) > 15 {
		return argErr(L, 4, fmt.Sprintf("interface names have at most 15 bytes (IFNAMSIZ): %q, %q; give ifname= and brname=", ifname, brname))
	}
	addr := optString(L, opts, "addr", 4)
	if addr != "" {
		if _, _, err := net.ParseCIDR(addr); err != nil {
			return argErr(L, 4, fmt.Sprintf("option addr %q: want CIDR form like \"10.53.57.21/24\"", addr))
		}
	}
	if err := l.l.Link(n.n, bridge, ifname, brname, addr); err != nil {
		return raise(L, "lab:link", err)
	}
	l.links = append(l.links, netlab.LinkDesc{Node: n.name, Bridge: bridge, IfName: ifname, BrName: brname, CIDR: addr})
	if addr != "" {
		n.addrs = append(n.addrs, addr)
		l.writeHosts()
		n.setEnv()
		if err := n.writeHelper(); err != nil {
			return raise(L, "lab:link", err)
		}
	}
	return 0
}

func (l *luaLab) nodeNames() string {
	var ns []string
	for _, n := range l.order {
		ns = append(ns, n.name)
	}
	if len(ns) == 0 {
		return "none yet"
	}
	return strings.Join(ns, ", ")
}

func (s *Session) labWait(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	secs := 10.0
	if v, ok := L.Get(2).(glua.LNumber); ok {
		secs = float64(v)
	} else if L.Get(2) != glua.LNil {
		return argErr(L, 2, "timeout in seconds expected")
	}
	if err := l.l.Wait(time.Duration(secs * float64(time.Second))); err != nil {
		return raise(L, "lab:wait", err)
	}
	return 0
}

func (s *Session) labNodes(L *glua.LState) int {
	l := checkLab(L, 1)
	t := L.NewTable()
	for _, n := range l.order {
		t.Append(s.nodeUD(n))
	}
	L.Push(t)
	return 1
}

func (s *Session) labPingall(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	opts, _ := s.optsOrWhere(L, 2, "timeout")
	timeout := optNumber(L, opts, "timeout", 2, 1, 0.001, 60)
	var nodes []netlab.PingTarget
	for _, n := range l.order {
		if ip := n.ip(); ip != "" {
			nodes = append(nodes, netlab.PingTarget{Name: n.name, IP: ip, NS: n.ns()})
		}
	}
	r := netlab.PingAll(l.name, nodes, time.Duration(timeout*float64(time.Second)))
	t := L.NewTable()
	t.RawSetString("sent", glua.LNumber(r.Sent))
	t.RawSetString("ok", glua.LNumber(r.OK))
	t.RawSetString("failed", strList(L, r.Failed))
	L.Push(withText(L, t, r.Text))
	return 1
}

// startHolder starts a node's holder process and waits for its "ready"
// line (its set-up is then done), reading a pipe with a deadline.
func startHolder(s *Session, spec nsproc.Spec) (*nsproc.Process, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	spec.Stdin, spec.Stdout = null, w
	s.Flush()
	p, err := nsproc.Start(spec)
	w.Close()
	if err != nil {
		return nil, err
	}
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	nr, _ := r.Read(buf)
	if string(buf[:nr]) != "ready\n" {
		stopChild(p)
		st := p.Status()
		return nil, fmt.Errorf("the node's namespace holder did not start (exit code %d %s)", st.Code, st.ErrorMsg)
	}
	return p, nil
}

// desc describes the lab for runtime/netlab (view.lab, lab:dot): names and
// addresses as given.
func (l *luaLab) desc() netlab.LabDesc {
	d := netlab.LabDesc{Name: l.name, Pinned: l.pinned, Bridges: l.bridges, Links: l.links}
	for _, n := range l.order {
		d.Nodes = append(d.Nodes, netlab.NodeDesc{Name: n.name, Addrs: n.addrs})
	}
	return d
}

func (s *Session) labDot(L *glua.LState) int {
	l := checkLab(L, 1)
	L.Push(glua.LString(l.desc().Dot()))
	return 1
}
