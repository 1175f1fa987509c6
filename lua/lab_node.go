package lua

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"nsh/runtime/netlab"
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
)

// Lab nodes (*netlab.Node as userdata): the node type of the lab module,
// its fields and its methods. lab.go has the lab type and net.lab.

var nodeBaseMethods = []Func{
	{Name: "run", Args: "(cmd, [{stdin=}])", Method: (*Session).nodeRun,
		Doc:     "Runs a command inside the node (its network namespace and the others it has), output captured. cmd is a shell line or an argv list. Returns stdout, exit code, stderr.",
		Example: "local out, code = lab.h1:run\"ip -br a\""},
	{Name: "shell", Args: "([argv])", Method: (*Session).nodeShell,
		Doc:     "Opens an interactive shell ($SHELL or /bin/sh; or argv) inside the node with its variables set, and waits for it. Returns the exit code.",
		Example: "lab.h1:shell()"},
	{Name: "ping", Args: "(other, [{count=, timeout=}])", Method: (*Session).nodePing,
		Doc:     "Pings another node (a node or its name: its first address) or an IP from inside this node. Returns RTTs in ms and a message when replies were lost.",
		Example: "assert(#lab.h1:ping(\"h2\") == 1)"},
	{Name: "traceroute", Args: "(other, [{max_hops=, timeout=}])", Method: (*Session).nodeTraceroute,
		Doc: "Finds the routers between this node and another (a node, its name, or an IP) as traceroute -I does: echo requests " +
			"with TTL 1, 2, ... (raw ICMP socket, written in Go); each router on the way drops the one whose TTL it takes to 0 and " +
			"answers ICMP time exceeded. Returns hops {ttl=, addr=, rtt= (ms), reply_ttl=, reached=} (no addr: no answer within " +
			"timeout, default 1 s), printing as a table; reply_ttl is the TTL the answer arrived with (64 less the routers crossed " +
			"back, from a Linux sender; IPv4 only). max_hops defaults to 16.",
		Example: "print(lab.h1:traceroute(\"h2\"))   -- one hop on one bridge"},
	{Name: "links", Args: "()", Method: (*Session).nodeLinks, Doc: "The node's links, as net.links(node).", Example: "print(#lab.h1:links())"},
	{Name: "stop", Args: "()", Method: (*Session).nodeStop,
		Doc: "Ends the node as the end of its processes would: kills every process in its network namespace (its holder too), ends the captures " +
			"node:capture_start runs on its links (their sockets hold the namespace, as a tcpdump there would; c:stop() still returns their frames), " +
			"removes its pin and nsh's keep descriptor, and returns once the kernel has freed the namespace, which it shows by deleting the node's veths and " +
			"so their ends on the lab's bridges. node.running is then false; node:start() makes it again.",
		Example: "lab.h1:stop()\nassert(not lab.h1.running)\nlab.h1:start()"},
	{Name: "start", Args: "()", Method: (*Session).nodeStart,
		Doc: "Makes a stopped node (or one whose processes all ended) again: new namespaces and holder, the same name, hostname, /etc files " +
			"and variables, its veths made again with the same names and addresses, its pin and helper written anew; as Samba's selftest " +
			"restarts a testenv. Call lab:wait() before sending packets.",
		Example: "lab.h1:stop()\nlab.h1:start()\nlab:wait()\nprint(lab.h1.pid)"},
	{Name: "helper", Args: "()", Method: (*Session).nodeHelper,
		Doc:     "The path of the node's generated nsenter.sh: run it (with a command or none for a shell) from any terminal to enter the node with its variables, as Samba's st/ENV/nsenter.sh.",
		Example: "print(lab.h1:helper())"},
}

func (s *Session) installNodeType() {
	s.typeMetatable(nodeType, s.lazyMethods("node", "node:", nodeMethods), func(L *glua.LState, key string) glua.LValue {
		n := nodeOf(L, 1)
		switch key {
		case "name":
			return glua.LString(n.Name)
		case "ip":
			return glua.LString(n.IP())
		case "addrs":
			return strList(L, n.Addrs())
		case "path":
			return optLString(n.Path())
		case "pid":
			if pid := n.HolderPID(); pid != 0 {
				return glua.LNumber(pid)
			}
		case "running":
			return glua.LBool(n.Running())
		case "hostname":
			return glua.LString(n.Hostname())
		case "router":
			return glua.LBool(n.Router())
		case "env":
			t := L.NewTable()
			s.markObject(t) // a map: {} in JSON when empty
			for k, v := range n.Env() {
				t.RawSetString(k, glua.LString(v))
			}
			return t
		}
		return glua.LNil
	}, func(L *glua.LState) string { return nodeOf(L, 1).String() })
	s.L.SetField(s.L.GetTypeMetatable(nodeType), "__eq", s.L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LBool(nodeOf(L, 1) == nodeOf(L, 2)))
		return 1
	}))
}

func (s *Session) nodeUD(n *netlab.Node) *glua.LUserData { return newUD(s.L, nodeType, n) }

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
	spec, done, err := n.Command(argv)
	if err != nil {
		return raiseErr(L, err)
	}
	defer done()
	out, code, errOut, err := s.runCaptured(spec, stdin)
	if err != nil {
		return raiseErr(L, err)
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
	spec, done, err := n.Command(argv)
	if err != nil {
		return raiseErr(L, err)
	}
	s.Flush()
	p, err := nsproc.Start(spec)
	done()
	if err != nil {
		return raiseErr(L, err)
	}
	it := s.Reg.Add("child "+strconv.Itoa(p.Pid), func() error { return stopChild(p) }, childRec(p.Pid))
	st, err := p.Wait(s.Context())
	if err != nil {
		stopChild(p) // before it leaves the journal
		it.Forget()
		return raiseErr(L, err)
	}
	it.Forget()
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
	ns, err := n.Open()
	if err != nil {
		return raiseErr(L, err)
	}
	defer ns.Close()
	rtts, err := ns.Ping(dst, count, seconds(timeout))
	return pushPing(L, rtts, err)
}

func (s *Session) nodeLinks(L *glua.LState) int {
	n := checkNode(L, 1)
	ns, err := n.Open()
	if err != nil {
		return raiseErr(L, err)
	}
	defer ns.Close()
	ls, err := ns.Links()
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(withText(L, linksTable(L, ls), netlab.LinksText("links of node "+n.Name, ls)))
	return 1
}

func (s *Session) nodeHelper(L *glua.LState) int {
	L.Push(glua.LString(checkNode(L, 1).HelperPath()))
	return 1
}

func (s *Session) nodeStop(L *glua.LState) int {
	n := checkNode(L, 1)
	s.endCaptures(n)
	if err := n.Stop(); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) nodeStart(L *glua.LState) int {
	n := checkNode(L, 1)
	s.Flush()
	if err := n.Start(); err != nil {
		return raiseErr(L, err)
	}
	return 0
}
