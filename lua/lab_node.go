package lua

import (
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
)

// Lab nodes: the node userdata, its fields and its methods.

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
func (n *luaNode) ip() string { return netlab.FirstIP(n.addrs) }

// typeNames are the names of the extra namespaces the holder has.
func (n *luaNode) typeNames() []string {
	names := make([]string, 0, len(n.types))
	for _, t := range n.types {
		names = append(names, t.Name)
	}
	return names
}

// holderPid is the holder's pid, 0 if the node has none.
func (n *luaNode) holderPid() int {
	if n.holder == nil {
		return 0
	}
	return n.holder.Pid
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
			args = append(args, netlab.NsenterJoinArgs(n.holder.Pid, n.typeNames())...)
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

func (n *luaNode) environ() []string { return netlab.Environ(os.Environ(), n.env) }

func (n *luaNode) setEnv() { netlab.SetNodeEnv(n.env, n.lab.name, n.name, n.ip(), n.hostname) }

// writeHelper generates DIR/NODE/nsenter.sh (netlab.Helper).
func (n *luaNode) writeHelper() error {
	if n.lab.noHelpers {
		return nil
	}
	h := netlab.Helper{Lab: n.lab.name, Node: n.name, NshPID: os.Getpid(), UserNS: n.lab.userns, NetNS: n.netPath(),
		HolderPID: n.holderPid(), Namespaces: n.typeNames(), Env: n.env}
	return h.Write(filepath.Join(n.dir, netlab.HelperName))
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

func (s *Session) installNodeType() {
	L := s.L
	nbind := map[string]glua.LGFunction{"run": s.nodeRun, "shell": s.nodeShell, "ping": s.nodePing, "links": s.nodeLinks, "helper": s.nodeHelper}
	nmeth := s.methodTable("node", "node:", nodeMethods, nbind)
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
				raiseErr(L, fmt.Errorf("the lab of node %s is closed", nd.name))
			}
			return nd
		}
	}
	argErr(L, n, "lab node expected (call methods with a colon: lab.h1:run\"ip a\")")
	return nil
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
	L.Push(glua.LString(filepath.Join(n.dir, netlab.HelperName)))
	return 1
}
