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
	// Keep has nsh hold the node's network namespace open (a descriptor,
	// listed by view.namespaces) until Stop or the lab's Close, so that it
	// outlives the node's processes, as a pin does.
	Keep bool
}

// Check checks the options (the name is CheckName's).
func (o NodeOptions) Check() error {
	if len(o.Hostname) > 64 {
		return errors.New("hostname: at most 64 bytes")
	}
	return nil
}

// Node is one network namespace of a lab, with the other namespaces its
// holder has, its files and its variables.
//
// A node lives as long as its processes, as a namespace does for the
// kernel: its first process, the holder (a sleep(1) started in the node's
// namespaces as the node is made), keeps it alive until the first process
// of the user's and after; nsh keeps no descriptor or socket of the node's
// namespaces (it reaches them through the holder's /proc/PID/ns files,
// checked against the holder's pidfd, for each operation). When the last
// process in the node ends the kernel frees its network namespace and
// deletes its veths, and with them their ends on the lab's bridges. Only a
// pin (the lab's pin option) or Keep holds it beyond that, on purpose.
type Node struct {
	Name     string
	lab      *Lab
	opts     NodeOptions
	linkOpts []LinkOptions // what Lab.Link made, to make again on Start
	links    []string      // interfaces made by Lab.Link
	addrs    []string      // their addresses, CIDR
	types    nsproc.Set
	hostname string
	env      map[string]string
	dir      string
	router   bool // forwarding on (NodeOptions.Router)

	// the current incarnation (since AddNode or the last Start)
	holder  *nsproc.Process
	netIno  uint64 // the network namespace's inode and cookie (never reused)
	cookie  uint64
	pinPath string // its pin under /run/netns, "" if none
	kept    *NS    // Keep: nsh's descriptor of it
}

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

// TypeNames are the names of the namespaces the holder has besides the
// node's network namespace.
func (n *Node) TypeNames() []string {
	return n.types.Names()
}

// HolderPID is the pid of the node's holder, its first process, while it
// runs; 0 once it has ended.
func (n *Node) HolderPID() int {
	if n.holder == nil || !n.Running() {
		return 0
	}
	return n.holder.Pid
}

// Path is a file naming the node's network namespace that other processes
// can open: its pin, else the holder's /proc/PID/ns/net ("" once the node
// has ended).
func (n *Node) Path() string {
	if n.pinPath != "" {
		return n.pinPath
	}
	if !n.Running() {
		return ""
	}
	if n.holder == nil {
		return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.kept.Fd())
	}
	return nsproc.NSPath(n.holder.Pid, "net")
}

// String is "node NAME of lab LAB (ADDRS)".
func (n *Node) String() string {
	return fmt.Sprintf("node %s of lab %s (%s)", n.Name, n.lab.name, dash(strings.Join(n.addrs, " ")))
}

// HelperPath is the node's nsenter.sh (written when the lab has helpers).
func (n *Node) HelperPath() string { return filepath.Join(n.dir, HelperName) }

// AddNode makes a node: a new network namespace with lo up, pinned as
// LAB-NAME when the lab pins, its holder (with the node's other namespaces
// and /etc files), and its directory with its helper.
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
	n := &Node{Name: o.Name, lab: l, opts: o, types: nodeTypes(o), hostname: o.Hostname, env: map[string]string{},
		dir: filepath.Join(l.dir, o.Name)}
	for k, v := range o.Env {
		n.env[k] = v
	}
	// From here on the node is the lab's: Close undoes what was made.
	l.nodes[n.Name] = n
	l.order = append(l.order, n)
	if err := os.MkdirAll(n.dir, 0o755); err != nil {
		return nil, err
	}
	n.router = o.Router
	if err := n.boot(); err != nil {
		return nil, err
	}
	return n, nil
}

// boot makes the node's namespaces and everything in them: the network
// namespace (made on nsh's thread, so nsh holds it until the holder is in
// it), its pin, the holder, the links Lab.Link made before, the helper.
// At the end nsh lets go of the namespace (unless Keep): the holder holds
// it. On failure what was made is undone.
func (n *Node) boot() (err error) {
	l := n.lab
	n.holder = nil // the last incarnation's, if any, has ended
	var ns *NS
	if l.userNS != nil {
		ns, err = n.startUserNSHolder()
	} else if n.heldByNsh() {
		ns, err = newNetNS(l.name+"/"+n.Name, true, l.sysctls...)
	} else {
		// the holder is forked on nsh's own thread while it is in the new
		// namespace (no thread of its own to follow nsh's namespaces and
		// join the node's); where that thread cannot come back, below
		ns, err = newNetNSInside(l.name+"/"+n.Name, true, func(ns *NS) error { return n.startHolder(ns, false) }, l.sysctls...)
	}
	if err != nil {
		n.end()
		return err
	}
	defer func() {
		if err != nil {
			ns.Close()
			n.end()
		}
	}()
	if n.netIno, err = ns.Inode(); err != nil {
		return err
	}
	if n.cookie, err = netnsCookie(ns.fd); err != nil {
		return err
	}
	if l.pin {
		p := l.name + "-" + n.Name
		if err := l.pinNS(ns, p); err != nil {
			if !l.pinAuto || !pinRefused(err) || len(l.pins) > 0 {
				return err
			}
			// the lab's first pin (NoOuter has no hub pin): go on unpinned
			l.pin, l.pinErr = false, err
		} else {
			n.pinPath = filepath.Join(runNetns, p)
		}
	}
	if l.userNS == nil && n.holder == nil && !n.heldByNsh() {
		if err := n.startHolder(ns, true); err != nil {
			return err
		}
	}
	for i := range n.linkOpts {
		o := &n.linkOpts[i]
		if err := n.link(ns, o); err != nil {
			return err
		}
		if err := l.fitPeerMTU(n, ns, o.IfName, o.BrName, o.Bridge); err != nil {
			return err
		}
	}
	if n.router {
		if err := ns.SetForwarding(true); err != nil {
			return err
		}
	}
	if n.opts.Keep || n.heldByNsh() {
		n.kept = ns
	} else if err := ns.Close(); err != nil {
		return err
	}
	n.setEnv()
	return n.writeHelper()
}

// heldByNsh: a plain node of a lab with NoHolders has no first process;
// nsh's descriptor holds it.
func (n *Node) heldByNsh() bool {
	return n.lab.noHolder && n.types.Empty() && n.lab.userNS == nil
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

// holderReady is what a holder with set-up steps prints once they ran
// (they run before the exec); it then sleeps for the life of the node.
const holderReady = "ready\n"

// startHolder starts the node's first process, "sleep infinity", inside
// its network namespace (ns: joined, or, join false, the calling thread's
// own now) and the node's other new namespaces, and opens its pidfd. A
// plain holder is nsh's own sleep (sleeper.go) where it can be, else
// sleep(1). A holder with set-up steps (a hostname, /etc files) is a
// re-executed nsh that runs them, says ready on a pipe read with a
// deadline, and executes sh -c "exec sleep infinity".
func (n *Node) startHolder(ns *NS, join bool) error {
	files, err := n.etcFiles(n.opts)
	if err != nil {
		return err
	}
	spec := nsproc.Spec{Argv: []string{"sleep", "infinity"}, Types: n.types, Setup: nsproc.Setup{Hostname: n.hostname}}
	ready := spec.Setup.Hostname != "" || len(files) > 0
	if !ready {
		spec.Path = sleeperPath()
	}
	if spec.Path == "" {
		sleep, err := exec.LookPath("sleep")
		if err != nil {
			return fmt.Errorf("a node's first process (its holder) is sleep(1): %v", err)
		}
		spec.Argv[0] = sleep
	}
	if join {
		spec.Join = map[string]string{"net": fmt.Sprintf("/proc/thread-self/fd/%d", ns.Fd())}
	}
	if len(files) > 0 {
		spec.Setup.Steps = append(spec.Setup.Steps, nsproc.Step{Name: EtcStep, Args: EtcArgs(files)})
	}
	if n.types.Has(nsproc.User) {
		spec.UIDMap = []nsproc.IDMap{{Inside: 0, Outside: os.Geteuid(), Count: 1}}
		spec.GIDMap = []nsproc.IDMap{{Inside: 0, Outside: os.Getegid(), Count: 1}}
	}
	var r, w *os.File
	if ready {
		shell, err := exec.LookPath("sh")
		if err != nil {
			return fmt.Errorf("a node with a hostname or /etc files is held by sh(1) then sleep(1): %v", err)
		}
		spec.Argv = []string{shell, "-c", "echo ready; exec " + spec.Argv[0] + " infinity"}
		if r, w, err = os.Pipe(); err != nil {
			return err
		}
		defer r.Close()
		spec.Stdout = w
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		if w != nil {
			w.Close()
		}
		return err
	}
	defer null.Close()
	spec.Stdin = null
	if spec.Stdout == nil {
		spec.Stdout = null
	}
	spec.Stderr = null
	p, err := nsproc.Start(spec)
	if err != nil && spec.Path != "" && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOEXEC)) {
		// nsh's sleep cannot be executed here: sleep(1) from now on
		sleeper.off.Store(true)
		sleep, lerr := exec.LookPath("sleep")
		if lerr != nil {
			return fmt.Errorf("%v; and a node's first process (its holder) is else sleep(1): %v", err, lerr)
		}
		spec.Path, spec.Argv[0] = "", sleep
		p, err = nsproc.Start(spec)
	}
	if w != nil {
		w.Close()
	}
	if err != nil {
		return err
	}
	n.holder = p
	n.lab.note("child", strconv.Itoa(p.Pid))
	// nsh reaches the node through the holder's pidfd (nsproc's, opened
	// before the holder could be reaped, so it names the holder)
	if err := p.UsePidfd(func(int) error { return nil }); err != nil {
		return fmt.Errorf("pidfd_open(%d) of node %s's holder: %w", p.Pid, n.Name, err)
	}
	if !ready {
		return nil
	}
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	nr, _ := r.Read(buf)
	if string(buf[:nr]) != holderReady {
		n.killHolder()
		st := p.Status()
		return fmt.Errorf("the node's holder did not start (exit code %d %s)", st.Code, st.ErrorMsg)
	}
	return nil
}

// killHolder kills the holder and waits for it to be reaped.
func (n *Node) killHolder() error {
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
	if n.lab.userNS != nil && n.Running() {
		h.LabUserNS, h.LabUserNSKeepIDs = nsproc.NSPath(n.holder.Pid, "user"), n.lab.userNSRoot == os.Geteuid()
	}
	return h.Write(n.HelperPath())
}

// Command is how to start argv inside the node, with its variables added
// to this process's environment. It joins the node's namespaces, those of
// its holder, directly (nsproc puts no parent-death signal on a child
// joining a PID namespace; the child still ends with the node: killing the
// holder, PID 1 there, kills it), or, where this process could enter but
// never come back (CanReturn), through nsenter(1), a process of its own
// that never needs to return. done closes what Command opened; call it
// once the child has started.
func (n *Node) Command(argv []string) (spec nsproc.Spec, done func(), err error) {
	env := Environ(os.Environ(), n.env)
	if n.lab.userNS != nil || !CanReturn() {
		// An ordinary user: nsh is root only in its own user namespace,
		// and the machine's namespaces belong to the initial one.
		nsenter, err := exec.LookPath("nsenter")
		if err != nil {
			return nsproc.Spec{}, nil, fmt.Errorf("entering a node from the machine's namespaces as an ordinary user needs nsenter(1): %v", err)
		}
		if err := n.alive(); err != nil {
			return nsproc.Spec{}, nil, err
		}
		if n.holder == nil {
			return nsproc.Spec{Argv: append([]string{nsenter, "--net=" + n.Path(), "--"}, argv...), Env: env}, func() {}, nil
		}
		pid := n.holder.Pid
		args := []string{nsenter}
		if n.lab.userNS != nil {
			// into the lab's user namespace as root there: nsenter makes
			// itself root there, unless nsh's own root is that root
			args = append(args, "--user="+nsproc.NSPath(pid, "user"))
			if n.lab.userNSRoot == os.Geteuid() {
				args = append(args, "--preserve-credentials") // nsh's root is root there
			}
		}
		args = append(append(args, "--net="+nsproc.NSPath(pid, "net")), NsenterJoinArgs(pid, n.TypeNames())...)
		return nsproc.Spec{Argv: append(append(args, "--"), argv...), Env: env}, func() {}, nil
	}
	// Descriptors opened through the holder, checked against its pidfd
	// after opening, so a recycled pid cannot stand in for it.
	types := append([]string{"net"}, n.types.Without(nsproc.User).Names()...)
	fds, err := n.openNS(types...)
	if err != nil {
		return nsproc.Spec{}, nil, err
	}
	done = func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	join := map[string]string{}
	for i, t := range types {
		join[t] = fmt.Sprintf("/proc/thread-self/fd/%d", fds[i])
	}
	return nsproc.Spec{Argv: argv, Join: join, Env: env}, done, nil
}
