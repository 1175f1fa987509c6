package netlab

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

	"golang.org/x/sys/unix"

	"nsh/runtime/nsproc"
)

// NodeOptions describes a node for Lab.AddNode.
type NodeOptions struct {
	Name string
	// Types are the namespaces the node has besides its network namespace
	// ("uts", "mnt", "pid", "user", ...; "net" is ignored), held by a
	// sleeping holder process for the life of the lab.
	Types nsproc.Set
	// Hostname is the node's hostname (adds "uts").
	Hostname string
	// Hosts gives the node its own /etc/hosts: the lab's shared hosts
	// file listing every node, kept current, or HostsText when that is set
	// (adds "mnt").
	Hosts     bool
	HostsText string
	// Resolv gives the node its own /etc/resolv.conf: "nameserver IP" for
	// an IP, else the content itself (adds "mnt").
	Resolv string
	// Env are variables for commands run in the node (Command, the
	// helper); NSH_LAB, NSH_NODE, SERVER and SERVER_IP are always set.
	Env map[string]string
	// Router turns IP forwarding on inside the node (NS.SetForwarding):
	// it forwards packets between its links, as a router does.
	Router bool
}

// Check checks the options (the name is CheckName's).
func (o NodeOptions) Check() error {
	if len(o.Hostname) > 64 {
		return errors.New("hostname: at most 64 bytes")
	}
	return nil
}

// Node is one network namespace of a lab, with the other namespaces its
// holder keeps, its files and its variables.
type Node struct {
	Name     string
	lab      *Lab
	ns       *NS
	links    []string // interfaces made by Lab.Link
	addrs    []string // their addresses, CIDR
	types    nsproc.Set
	hostname string
	env      map[string]string
	holder   *nsproc.Process
	dir      string
	router   bool // forwarding on (NodeOptions.Router)
}

// NS is the node's namespace, for any *NS operation.
func (n *Node) NS() *NS { return n.ns }

// Lab is the lab the node belongs to.
func (n *Node) Lab() *Lab { return n.lab }

// Addrs are the node's addresses (CIDR), in the order linked.
func (n *Node) Addrs() []string { return append([]string(nil), n.addrs...) }

// IP is the node's first address without its prefix, "" if none.
func (n *Node) IP() string { return FirstIP(n.addrs) }

// Router says whether the node was made a router (NodeOptions.Router).
func (n *Node) Router() bool { return n.router }

// Hostname is the hostname the node was given, "" if none.
func (n *Node) Hostname() string { return n.hostname }

// Env is a copy of the node's variables.
func (n *Node) Env() map[string]string {
	m := make(map[string]string, len(n.env))
	for k, v := range n.env {
		m[k] = v
	}
	return m
}

// TypeNames are the names of the extra namespaces the holder has.
func (n *Node) TypeNames() []string {
	return n.types.Names()
}

// HolderPID is the pid of the process holding the node's other
// namespaces, 0 if the node has none.
func (n *Node) HolderPID() int {
	if n.holder == nil {
		return 0
	}
	return n.holder.Pid
}

// Path is a file naming the node's network namespace that other processes
// can open: its pin, else this process's fd for it.
func (n *Node) Path() string {
	if n.lab.pin {
		return filepath.Join(runNetns, n.lab.name+"-"+n.Name)
	}
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.ns.Fd())
}

// String is "node NAME of lab LAB (ADDRS)".
func (n *Node) String() string {
	return fmt.Sprintf("node %s of lab %s (%s)", n.Name, n.lab.name, dash(strings.Join(n.addrs, " ")))
}

// HelperPath is the node's nsenter.sh (written when the lab has helpers).
func (n *Node) HelperPath() string { return filepath.Join(n.dir, HelperName) }

// AddNode makes a node: a new network namespace with lo up, pinned as
// LAB-NAME when the lab pins, its directory with its helper, and, when it
// has more namespaces, their holder with its /etc files mounted.
func (l *Lab) AddNode(o NodeOptions) (*Node, error) {
	if l.closed {
		return nil, errors.New("netlab: lab is closed")
	}
	if err := CheckName(o.Name); err != nil {
		return nil, fmt.Errorf("netlab: bad node name %v", err)
	}
	if l.nodes[o.Name] != nil {
		return nil, fmt.Errorf("netlab: lab %s already has a node %q", l.name, o.Name)
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	ns, err := newNetNS(l.name+"/"+o.Name, true, l.sysctls...)
	if err != nil {
		return nil, err
	}
	if l.pin {
		if err := l.pinNS(ns, l.name+"-"+o.Name); err != nil {
			ns.Close()
			return nil, err
		}
	}
	n := &Node{Name: o.Name, lab: l, ns: ns, types: nodeTypes(o), hostname: o.Hostname, env: map[string]string{},
		dir: filepath.Join(l.dir, o.Name)}
	for k, v := range o.Env {
		n.env[k] = v
	}
	// From here on the node is the lab's: Close undoes what was made.
	l.nodes[n.Name] = n
	l.order = append(l.order, n)
	if !n.types.Empty() || l.helpers {
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return nil, err
		}
	}
	if !n.types.Empty() {
		if err := n.startHolder(o); err != nil {
			return nil, err
		}
	}
	if o.Router {
		if err := ns.SetForwarding(true); err != nil {
			return nil, err
		}
		n.router = true
	}
	n.setEnv()
	if err := n.writeHelper(); err != nil {
		return nil, err
	}
	return n, nil
}

// nodeTypes are the namespaces a node's holder makes: those asked for but
// net, plus uts for a hostname and mnt for /etc files.
func nodeTypes(o NodeOptions) nsproc.Set {
	ts := o.Types.Without(nsproc.Net)
	if o.Hostname != "" {
		ts = ts.Add(nsproc.UTS)
	}
	if o.Hosts || o.HostsText != "" || o.Resolv != "" {
		ts = ts.Add(nsproc.Mnt)
	}
	return ts
}

// etcFiles writes the node's own /etc files and says what covers what.
func (n *Node) etcFiles(o NodeOptions) (EtcFiles, error) {
	files := EtcFiles{}
	switch {
	case o.HostsText != "":
		p := filepath.Join(n.dir, "hosts")
		if err := os.WriteFile(p, []byte(o.HostsText), 0o644); err != nil {
			return nil, err
		}
		files["/etc/hosts"] = p
	case o.Hosts:
		n.lab.hosts = true
		if err := n.lab.writeHosts(); err != nil {
			return nil, err
		}
		files["/etc/hosts"] = n.lab.hostsPath()
	}
	if o.Resolv != "" {
		content := o.Resolv
		if net.ParseIP(o.Resolv) != nil {
			content = "nameserver " + o.Resolv + "\n"
		}
		p := filepath.Join(n.dir, "resolv.conf")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
		files["/etc/resolv.conf"] = p
	}
	return files, nil
}

// holderReady is what the holder prints once its set-up steps ran (they run
// before the exec); it then sleeps for the life of the lab.
const holderReady = "ready\n"

// startHolder starts the process that holds the node's other namespaces,
// inside its network namespace, and waits for its ready line, reading a
// pipe with a deadline.
func (n *Node) startHolder(o NodeOptions) error {
	files, err := n.etcFiles(o)
	if err != nil {
		return err
	}
	shell, err := exec.LookPath("sh")
	if err != nil {
		return fmt.Errorf("a node with more namespaces is held by a sleeping sh(1): %v", err)
	}
	spec := nsproc.Spec{Argv: []string{shell, "-c", "echo ready; exec sleep infinity"}, Types: n.types,
		Join:  map[string]string{"net": fmt.Sprintf("/proc/thread-self/fd/%d", n.ns.Fd())},
		Setup: nsproc.Setup{Hostname: n.hostname}}
	if len(files) > 0 {
		spec.Setup.Steps = append(spec.Setup.Steps, nsproc.Step{Name: EtcStep, Args: EtcArgs(files)})
	}
	if n.types.Has(nsproc.User) {
		spec.UIDMap = []nsproc.IDMap{{Inside: 0, Outside: os.Geteuid(), Count: 1}}
		spec.GIDMap = []nsproc.IDMap{{Inside: 0, Outside: os.Getegid(), Count: 1}}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		return err
	}
	defer null.Close()
	spec.Stdin, spec.Stdout = null, w
	p, err := nsproc.Start(spec)
	w.Close()
	if err != nil {
		return err
	}
	n.holder = p
	n.lab.note("child", strconv.Itoa(p.Pid))
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	nr, _ := r.Read(buf)
	if string(buf[:nr]) != holderReady {
		n.stopHolder()
		st := p.Status()
		return fmt.Errorf("the node's namespace holder did not start (exit code %d %s)", st.Code, st.ErrorMsg)
	}
	return nil
}

// stopHolder kills the holder and waits for it to be reaped.
func (n *Node) stopHolder() error {
	p := n.holder
	if p == nil || !p.Alive() {
		return nil
	}
	p.Signal(unix.SIGKILL)
	select {
	case <-p.Done():
		return nil
	case <-time.After(3 * time.Second):
		return fmt.Errorf("holder %d of node %s did not die after SIGKILL", p.Pid, n.Name)
	}
}

func (n *Node) setEnv() { SetNodeEnv(n.env, n.lab.name, n.Name, n.IP(), n.hostname) }

// writeHelper writes DIR/NODE/nsenter.sh when the lab has helpers.
func (n *Node) writeHelper() error {
	if !n.lab.helpers {
		return nil
	}
	h := Helper{Lab: n.lab.name, Node: n.Name, NshPID: os.Getpid(), UserNS: n.lab.userns, NetNS: n.Path(),
		HolderPID: n.HolderPID(), Namespaces: n.TypeNames(), Env: n.env}
	return h.Write(n.HelperPath())
}

// Command is how to start argv inside the node, with its variables added
// to this process's environment. It joins the node's namespaces directly
// (nsproc puts no parent-death signal on a child joining a PID namespace;
// the child still ends with the lab: killing the holder, PID 1 there, kills
// it), or, where this process could enter but never come back (CanReturn),
// through nsenter(1), a process of its own that never needs to return.
func (n *Node) Command(argv []string) (nsproc.Spec, error) {
	env := Environ(os.Environ(), n.env)
	if !CanReturn() {
		// An ordinary user: nsh is root only in its own user namespace,
		// and the machine's namespaces belong to the initial one.
		nsenter, err := exec.LookPath("nsenter")
		if err != nil {
			return nsproc.Spec{}, fmt.Errorf("entering a node from the machine's namespaces as an ordinary user needs nsenter(1): %v", err)
		}
		args := []string{nsenter, "--net=" + fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.ns.Fd())}
		if n.holder != nil {
			args = append(args, NsenterJoinArgs(n.holder.Pid, n.TypeNames())...)
		}
		return nsproc.Spec{Argv: append(append(args, "--"), argv...), Env: env}, nil
	}
	join := map[string]string{"net": fmt.Sprintf("/proc/thread-self/fd/%d", n.ns.Fd())}
	if n.holder != nil {
		for _, t := range n.types.Without(nsproc.User).Types() {
			join[t.Name] = nsproc.NSPath(n.holder.Pid, t.Name)
		}
	}
	return nsproc.Spec{Argv: argv, Join: join, Env: env}, nil
}
