package lua

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"nsh/runtime/cleanup"
	"nsh/runtime/netlab"
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// Labs: net.lab{...} returns a lab userdata; its nodes are userdata too.
// Indexing a lab by a node's name gives the node (lab.h1), so
// lab.h1:run"ip a" reads as it does in Mininet.

const (
	labType  = "nsh.lab"
	nodeType = "nsh.labnode"
)

type labLink struct {
	node, bridge, ifname, brname, cidr string
}

type luaLab struct {
	s         *Session
	l         *netlab.Lab
	name      string
	item      *cleanup.Item
	nodes     map[string]*luaNode
	order     []*luaNode
	bridges   []labLink // node "" ; bridge name and cidr
	links     []labLink
	dir       string
	ownDir    bool
	pinned    bool
	pinMsg    string
	userns    string // /proc/PID/ns/user of nsh, for the helpers
	hostsSet  bool   // some node has its own /etc/hosts: keep DIR/hosts current
	noHelpers bool   // helpers=false: no nsenter.sh per node (big labs, benchmarks)
	closed    bool
}

type luaNode struct {
	lab      *luaLab
	n        *netlab.Node
	name     string
	holder   *nsproc.Process
	hitem    *cleanup.Item
	types    []nsproc.Type // extra namespaces held by holder
	hostname string
	env      map[string]string
	addrs    []string // CIDR
	dir      string
}

func (n *luaNode) ns() *netlab.NS { return n.n.NS() }

// ip is the node's first address (without prefix), "" if none.
func (n *luaNode) ip() string {
	for _, a := range n.addrs {
		if ip, _, err := net.ParseCIDR(a); err == nil {
			return ip.String()
		}
	}
	return ""
}

// netPath is a file naming the node's network namespace that other
// processes can open: its pin, else nsh's fd for it.
func (n *luaNode) netPath() string {
	if n.lab.pinned {
		return filepath.Join(nsproc.NetnsDir, n.lab.name+"-"+n.name)
	}
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.ns().Fd())
}

// joinPaths is what a program started inside the node joins.
func (n *luaNode) joinPaths() map[string]string {
	m := map[string]string{"net": fmt.Sprintf("/proc/thread-self/fd/%d", n.ns().Fd())}
	if n.holder != nil {
		for _, t := range n.types {
			if t.Name != "user" {
				m[t.Name] = nsproc.NSPath(n.holder.Pid, t.Name)
			}
		}
	}
	return m
}

// spec starts argv inside the node. Joining a PID namespace turns off the
// parent-death signal: Go's fork checks getppid() after setting it, and a
// child in a joined PID namespace sees 0 there and kills itself. The child
// still ends with the lab: killing the holder (PID 1 there) kills it.
func (n *luaNode) spec(argv []string) (nsproc.Spec, error) {
	if !netlab.CanReturn() {
		// The interpreter's thread could enter the node but never come
		// back (ordinary user: nsh is root only in its own user namespace,
		// the machine's namespaces belong to the initial one). nsenter(1),
		// a process of its own, enters instead and never needs to return.
		nsenter, err := exec.LookPath("nsenter")
		if err != nil {
			return nsproc.Spec{}, fmt.Errorf("entering a node from the machine's namespaces as an ordinary user needs nsenter(1): %v", err)
		}
		args := []string{nsenter, "--net=" + fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.ns().Fd())}
		if n.holder != nil {
			for _, t := range n.types {
				if t.Name != "user" {
					args = append(args, fmt.Sprintf("--%s=%s", nsenterFlag(t.Name), nsproc.NSPath(n.holder.Pid, t.Name)))
				}
			}
		}
		args = append(append(args, "--"), argv...)
		return nsproc.Spec{Argv: args, Env: n.environ()}, nil
	}
	sp := nsproc.Spec{Argv: argv, Join: n.joinPaths(), Env: n.environ()}
	if _, ok := sp.Join["pid"]; ok {
		sp.NoPdeath = true
	}
	return sp, nil
}

func (n *luaNode) environ() []string {
	env := os.Environ()
	keys := make([]string, 0, len(n.env))
	for k := range n.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+n.env[k])
	}
	return env
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

var nodeMethods = []Func{
	{Name: "run", Args: "(cmd, [{stdin=}])", Doc: "Runs a command inside the node (its network namespace and the others it has), output captured. cmd is a shell line or an argv list. Returns stdout, exit code, stderr.",
		Example: "local out, code = lab.h1:run\"ip -br a\""},
	{Name: "shell", Args: "([argv])", Doc: "Opens an interactive shell ($SHELL or /bin/sh; or argv) inside the node with its variables set, and waits for it. Returns the exit code.",
		Example: "lab.ad_dc:shell()"},
	{Name: "ping", Args: "(other, [{count=, timeout=}])", Doc: "Pings another node (a node or its name: its first address) or an IP from inside this node. Returns RTTs in ms and a message when replies were lost.",
		Example: "assert(#lab.h1:ping(\"h2\") == 1)"},
	{Name: "links", Args: "()", Doc: "The node's links, as net.links(node).", Example: "print(#lab.h1:links())"},
	{Name: "helper", Args: "()", Doc: "The path of the node's generated nsenter.sh: run it (with a command or none for a shell) from any terminal to enter the node with its variables, as Samba's st/ENV/nsenter.sh.",
		Example: "print(lab.ad_dc:helper())"},
}

func (s *Session) installLabTypes() {
	L := s.L
	lmeth := L.NewTable()
	lbind := map[string]glua.LGFunction{"node": s.labNode, "bridge": s.labBridge, "link": s.labLink, "wait": s.labWait,
		"pingall": s.labPingall, "nodes": s.labNodes, "view": s.viewLab, "dot": s.labDot, "close": s.labClose}
	for i := range labMethods {
		f := &labMethods[i]
		fn := L.NewFunction(named("lab:"+f.Name, lbind[f.Name]))
		lmeth.RawSetString(f.Name, fn)
		s.docs[fn] = &Doc{Module: "lab", Func: f}
	}
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

	nmeth := L.NewTable()
	nbind := map[string]glua.LGFunction{"run": s.nodeRun, "shell": s.nodeShell, "ping": s.nodePing, "links": s.nodeLinks, "helper": s.nodeHelper}
	for i := range nodeMethods {
		f := &nodeMethods[i]
		fn := L.NewFunction(named("node:"+f.Name, nbind[f.Name]))
		nmeth.RawSetString(f.Name, fn)
		s.docs[fn] = &Doc{Module: "node", Func: f}
	}
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
			L.Push(glua.LString(n.name))
		case "ip":
			L.Push(glua.LString(n.ip()))
		case "addrs":
			L.Push(strList(L, n.addrs))
		case "path":
			L.Push(glua.LString(n.netPath()))
		case "pid":
			if n.holder != nil {
				L.Push(glua.LNumber(n.holder.Pid))
			} else {
				L.Push(glua.LNil)
			}
		case "hostname":
			L.Push(glua.LString(n.hostname))
		case "env":
			t := L.NewTable()
			for k, v := range n.env {
				t.RawSetString(k, glua.LString(v))
			}
			L.Push(t)
		default:
			L.Push(glua.LNil)
		}
		return 1
	}))
	L.SetField(nmt, "__tostring", L.NewFunction(func(L *glua.LState) int {
		n := nodeOf(L, 1)
		L.Push(glua.LString(fmt.Sprintf("node %s of lab %s (%s)", n.name, n.lab.name, dash(strings.Join(n.addrs, " ")))))
		return 1
	}))
	L.SetField(nmt, "__eq", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LBool(nodeOf(L, 1) == nodeOf(L, 2)))
		return 1
	}))
}

func (s *Session) nodeUD(n *luaNode) *glua.LUserData {
	ud := s.L.NewUserData()
	ud.Value = n
	s.L.SetMetatable(ud, s.L.GetTypeMetatable(nodeType))
	return ud
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
		L.RaiseError("%s: lab %s is closed", current, l.name)
	}
	return l
}

// nodeOf is the node in argument n, closed lab or not (for __index).
func nodeOf(L *glua.LState, n int) *luaNode {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if nd, ok := ud.Value.(*luaNode); ok {
			return nd
		}
	}
	argErr(L, n, "lab node expected")
	return nil
}

func checkNode(L *glua.LState, n int) *luaNode {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if nd, ok := ud.Value.(*luaNode); ok {
			if nd.lab.closed {
				L.RaiseError("%s: the lab of node %s is closed", current, nd.name)
			}
			return nd
		}
	}
	argErr(L, n, "lab node expected (call methods with a colon: lab.h1:run\"ip a\")")
	return nil
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
		d, err := os.MkdirTemp("", "nsh-lab-"+name+".")
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
	os.WriteFile(filepath.Join(dir, ".nsh-lab"), []byte(fmt.Sprintf("%s %d\n", name, os.Getpid())), 0o644)
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
	} else {
		for _, n := range l.order {
			os.RemoveAll(n.dir)
		}
		os.Remove(filepath.Join(l.dir, "hosts"))
		os.Remove(filepath.Join(l.dir, ".nsh-lab"))
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
	l.bridges = append(l.bridges, labLink{bridge: name, cidr: cidr})
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
		spec := nsproc.Spec{Argv: []string{shell, "-c", "echo ready; exec sleep infinity"}, Types: types,
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

func (n *luaNode) setEnv() {
	n.env["NSH_LAB"] = n.lab.name
	n.env["NSH_NODE"] = n.name
	if _, ok := n.env["SERVER"]; !ok {
		n.env["SERVER"] = n.name
	}
	if ip := n.ip(); ip != "" {
		n.env["SERVER_IP"] = ip
	}
	if n.hostname != "" {
		n.env["HOSTNAME"] = n.hostname
	}
}

// writeHosts refreshes the lab's shared hosts file in place (the nodes
// have it bind-mounted, so the inode must stay).
func (l *luaLab) writeHosts() {
	if !l.hostsSet {
		return
	}
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, n := range l.order {
		for _, a := range n.addrs {
			if ip, _, err := net.ParseCIDR(a); err == nil {
				fmt.Fprintf(&b, "%s\t%s\n", ip, n.name)
			}
		}
	}
	p := filepath.Join(l.dir, "hosts")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err == nil {
		f.WriteString(b.String())
		f.Close()
	}
}

// shellQuote quotes a value for sh.
func shellQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" }

// writeHelper generates DIR/NODE/nsenter.sh, Samba's st/ENV/nsenter.sh: it
// enters the node's namespaces (and nsh's user namespace when the caller is
// outside it) with the node's variables set, and runs a shell or the given
// command.
func (n *luaNode) writeHelper() error {
	if n.lab.noHelpers {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# nsenter.sh for node %s of nsh lab %s (generated by nsh pid %d; removed with the lab)\n", n.name, n.lab.name, os.Getpid())
	fmt.Fprintf(&b, "USERNS=%s\nNETNS=%s\n", shellQuote(n.lab.userns), shellQuote(n.netPath()))
	b.WriteString("[ -e \"$NETNS\" ] || { echo \"nsenter.sh: the lab is gone ($NETNS does not exist)\" >&2; exit 1; }\n")
	b.WriteString("U=\nif [ \"$(readlink /proc/self/ns/user)\" != \"$(readlink \"$USERNS\")\" ]; then U=\"--user=$USERNS --preserve-credentials\"; fi\n")
	extra := ""
	if n.holder != nil {
		for _, t := range n.types {
			switch t.Name {
			case "user":
				// entered through -t below when present
			default:
				extra += fmt.Sprintf(" --%s=/proc/%d/ns/%s", nsenterFlag(t.Name), n.holder.Pid, t.Name)
			}
		}
		if hasType(n.types, "user") {
			b.WriteString(fmt.Sprintf("U=\"--user=/proc/%d/ns/user --preserve-credentials\"\n", n.holder.Pid))
		}
	}
	b.WriteString("[ $# -gt 0 ] || set -- \"${SHELL:-/bin/sh}\"\n")
	keys := make([]string, 0, len(n.env))
	for k := range n.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("exec nsenter $U --net=\"$NETNS\"" + extra + " -- env")
	for _, k := range keys {
		b.WriteString(" " + shellQuote(k+"="+n.env[k]))
	}
	b.WriteString(" \"$@\"\n")
	return os.WriteFile(filepath.Join(n.dir, "nsenter.sh"), []byte(b.String()), 0o755)
}

func nsenterFlag(t string) string {
	switch t {
	case "mnt":
		return "mount"
	}
	return t
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
	l.links = append(l.links, labLink{node: n.name, bridge: bridge, ifname: ifname, brname: brname, cidr: addr})
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
	var nodes []*luaNode
	for _, n := range l.order {
		if n.ip() != "" {
			nodes = append(nodes, n)
		}
	}
	failed := L.NewTable()
	sent, ok := 0, 0
	var b strings.Builder
	fmt.Fprintf(&b, "pingall in lab %s (rows ping columns; . ok, X lost)\n  %-12s", l.name, "")
	for j := range nodes {
		fmt.Fprintf(&b, " %d", j%10)
	}
	b.WriteString("\n")
	for i, a := range nodes {
		fmt.Fprintf(&b, "%d %-12s", i%10, trunc(a.name, 12))
		for _, c := range nodes {
			if a == c {
				b.WriteString(" -")
				continue
			}
			sent++
			if _, err := a.ns().Ping(c.ip(), 1, time.Duration(timeout*float64(time.Second))); err != nil {
				failed.Append(glua.LString(fmt.Sprintf("%s -> %s (%s): %v", a.name, c.name, c.ip(), err)))
				b.WriteString(" X")
			} else {
				ok++
				b.WriteString(" .")
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d of %d pings answered", ok, sent)
	t := L.NewTable()
	t.RawSetString("sent", glua.LNumber(sent))
	t.RawSetString("ok", glua.LNumber(ok))
	t.RawSetString("failed", failed)
	L.Push(withText(L, t, b.String()))
	return 1
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ---- node methods ----

func (s *Session) nodeRun(L *glua.LState) int {
	n := checkNode(L, 1)
	var argv []string
	switch v := L.Get(2).(type) {
	case glua.LString:
		argv = []string{"/bin/sh", "-c", string(v)}
	case *glua.LTable:
		list, err := stringList(L, v, "argv")
		if err != nil || len(list) == 0 {
			return argErr(L, 2, "a command string or a non-empty list of strings expected")
		}
		argv = list
	default:
		return argErr(L, 2, "a command string (\"ip a\") or an argv list expected, got "+typeName(L.Get(2)))
	}
	stdin := ""
	if o, ok := L.Get(3).(*glua.LTable); ok {
		s.optsOrWhere(L, 3, "stdin")
		stdin = optString(L, o, "stdin", 3)
	}
	spec, err := n.spec(argv)
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
	fmt.Fprintf(os.Stderr, "nsh: entering node %s of lab %s (exit the shell to come back)\n", n.name, n.lab.name)
	spec, err := n.spec(argv)
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
	dst := ""
	switch v := L.Get(2).(type) {
	case glua.LString:
		if o := n.lab.nodes[string(v)]; o != nil {
			dst = o.ip()
			if dst == "" {
				return argErr(L, 2, fmt.Sprintf("node %s has no address yet (lab:link it with addr=)", o.name))
			}
		} else if net.ParseIP(string(v)) != nil {
			dst = string(v)
		} else {
			return argErr(L, 2, fmt.Sprintf("%q is neither a node of lab %s (%s) nor an IP address", string(v), n.lab.name, n.lab.nodeNames()))
		}
	case *glua.LUserData:
		o := checkNode(L, 2)
		dst = o.ip()
		if dst == "" {
			return argErr(L, 2, fmt.Sprintf("node %s has no address yet", o.name))
		}
	default:
		return argErr(L, 2, "a node, a node name or an IP address expected, got "+typeName(L.Get(2)))
	}
	opts, _ := s.optsOrWhere(L, 3, "count", "timeout")
	count := int(optNumber(L, opts, "count", 3, 1, 1, 1000))
	timeout := optNumber(L, opts, "timeout", 3, 1, 0.001, 3600)
	rtts, err := n.ns().Ping(dst, count, time.Duration(timeout*float64(time.Second)))
	return pushPing(L, rtts, err)
}

func (s *Session) nodeLinks(L *glua.LState) int {
	n := checkNode(L, 1)
	ls, err := n.ns().Links()
	if err != nil {
		return raise(L, "node:links", err)
	}
	t := L.NewTable()
	for _, l := range ls {
		t.Append(linkTable(L, l))
	}
	L.Push(withText(L, t, linksText("links of node "+n.name, ls)))
	return 1
}

func (s *Session) nodeHelper(L *glua.LState) int {
	n := checkNode(L, 1)
	L.Push(glua.LString(filepath.Join(n.dir, "nsenter.sh")))
	return 1
}

// ---- views ----

func (s *Session) viewLab(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	var b strings.Builder
	where := "outer namespace " + l.name
	if l.pinned {
		where += " (/run/netns/" + l.name + ")"
	}
	fmt.Fprintf(&b, "lab %s: %d nodes, %d bridges; hub in %s\n", l.name, len(l.order), len(l.bridges), where)
	res := L.NewTable()
	brs := L.NewTable()
	outer, err := l.l.Outer().Links()
	if err != nil {
		return raise(L, "view.lab", err)
	}
	if len(l.bridges) > 0 {
		fmt.Fprintf(&b, "\n  %-14s %-18s %-8s %s\n", "BRIDGE", "ADDRESSES", "STATE", "PORTS")
	}
	for _, br := range l.bridges {
		var ports []string
		pt := L.NewTable()
		var self netlab.LinkInfo
		for _, lk := range outer {
			if lk.Name == br.bridge {
				self = lk
			}
			if lk.Master == br.bridge {
				ports = append(ports, lk.Name+"("+lk.PortState+")")
				e := L.NewTable()
				e.RawSetString("name", glua.LString(lk.Name))
				e.RawSetString("state", glua.LString(lk.PortState))
				pt.Append(e)
			}
		}
		e := L.NewTable()
		e.RawSetString("name", glua.LString(br.bridge))
		e.RawSetString("addrs", strList(L, self.Addrs))
		e.RawSetString("state", glua.LString(self.State))
		e.RawSetString("ports", pt)
		brs.Append(e)
		fmt.Fprintf(&b, "  %-14s %-18s %-8s %s\n", br.bridge, dash(strings.Join(self.Addrs, " ")), self.State, dash(strings.Join(ports, " ")))
	}
	nodes := L.NewTable()
	fmt.Fprintf(&b, "\n  %-14s %-10s %-8s %-18s %-14s %s\n", "NODE", "IFACE", "STATE", "ADDRESSES", "HUB END", "BRIDGE")
	hubEnd := map[string]labLink{}
	for _, lk := range l.links {
		hubEnd[lk.node+"/"+lk.ifname] = lk
	}
	const maxRows = 60
	for i, n := range l.order {
		ls, err := n.ns().Links()
		if err != nil {
			return raise(L, "view.lab", err)
		}
		e := L.NewTable()
		e.RawSetString("name", glua.LString(n.name))
		lt := L.NewTable()
		for _, lk := range ls {
			lt.Append(linkTable(L, lk))
		}
		e.RawSetString("links", lt)
		nodes.Append(e)
		if i >= maxRows {
			continue
		}
		first := true
		for _, lk := range ls {
			if lk.Type == "loopback" {
				continue
			}
			he := hubEnd[n.name+"/"+lk.Name]
			label := ""
			if first {
				label = n.name
			}
			first = false
			fmt.Fprintf(&b, "  %-14s %-10s %-8s %-18s %-14s %s\n", label, lk.Name, lk.State, dash(strings.Join(lk.Addrs, " ")), dash(he.brname), dash(he.bridge))
		}
		if first {
			fmt.Fprintf(&b, "  %-14s %-10s\n", n.name, "(lo only)")
		}
	}
	if len(l.order) > maxRows {
		fmt.Fprintf(&b, "  ... and %d more nodes\n", len(l.order)-maxRows)
	}
	res.RawSetString("name", glua.LString(l.name))
	res.RawSetString("nodes", nodes)
	res.RawSetString("bridges", brs)
	L.Push(withText(L, res, strings.TrimRight(b.String(), "\n")))
	return 1
}

func (s *Session) labDot(L *glua.LState) int {
	l := checkLab(L, 1)
	var b strings.Builder
	fmt.Fprintf(&b, "graph %q {\n  graph [rankdir=LR, label=%q];\n  node [shape=box, fontname=\"monospace\"];\n", l.name, "nsh lab "+l.name)
	fmt.Fprintf(&b, "  subgraph %q {\n    label=%q; style=dashed;\n", "cluster_"+l.name, "namespace "+l.name+" (outer)")
	for _, br := range l.bridges {
		fmt.Fprintf(&b, "    %q [shape=ellipse, label=%q];\n", "br:"+br.bridge, br.bridge+"\n"+br.cidr)
	}
	for _, lk := range l.links {
		fmt.Fprintf(&b, "    %q [shape=point, xlabel=%q];\n", "hub:"+lk.brname, lk.brname)
	}
	b.WriteString("  }\n")
	for _, n := range l.order {
		label := n.name
		for _, lk := range l.links {
			if lk.node == n.name {
				label += "\n" + lk.ifname + " " + lk.cidr
			}
		}
		fmt.Fprintf(&b, "  %q [label=%q];\n", "node:"+n.name, label)
	}
	for _, lk := range l.links {
		fmt.Fprintf(&b, "  %q -- %q [label=%q];\n", "br:"+lk.bridge, "hub:"+lk.brname, "port")
		fmt.Fprintf(&b, "  %q -- %q [label=%q];\n", "hub:"+lk.brname, "node:"+lk.node, "veth "+lk.brname+" = "+lk.ifname)
	}
	b.WriteString("}\n")
	L.Push(glua.LString(b.String()))
	return 1
}

// LabHelpers lists the nsenter.sh helpers of running labs whose node (or
// LAB/NODE, LAB-NODE) is name, for `nsh --enter`. It reads the marker files
// in the temporary directory; labs whose nsh has ended are skipped.
func LabHelpers(name string, extraDirs ...string) []string {
	var dirs []string
	if d := os.Getenv("NSH_LAB_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, extraDirs...)
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), "nsh-lab-*"))
	dirs = append(dirs, m...)
	var out []string
	seen := map[string]bool{}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ".nsh-lab"))
		if err != nil {
			continue
		}
		var lab string
		var pid int
		fmt.Sscanf(string(b), "%s %d", &lab, &pid)
		if pid <= 0 || unix.Kill(pid, 0) == unix.ESRCH {
			continue
		}
		node := name
		for _, sep := range []string{"/", "-"} {
			if rest, ok := strings.CutPrefix(name, lab+sep); ok {
				if _, err := os.Stat(filepath.Join(d, rest, "nsenter.sh")); err == nil {
					node = rest
				}
			}
		}
		p := filepath.Join(d, node, "nsenter.sh")
		if _, err := os.Stat(p); err == nil && !seen[p] && !errors.Is(err, fs.ErrNotExist) {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
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
