package netlab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
	"nsh/runtime/nsproc"
)

// LabOptions configures NewLab.
type LabOptions struct {
	// Name prefixes pinned names (/run/netns/NAME and NAME-NODE); default "lab".
	Name string
	// NoOuter puts the hub (bridges and the bridge ends of node links) in
	// the caller's current network namespace instead of a new outer one.
	// The default, an outer namespace, keeps the machine's network untouched.
	NoOuter bool
	// Pin bind-mounts every namespace of the lab under /run/netns so that
	// `ip netns exec NAME-NODE ...` reaches it while the lab lives.
	Pin bool
	// NoIPv6 turns IPv6 off in the lab's namespaces
	// (net.ipv6.conf.{all,default}.disable_ipv6=1; an IPv6 address is then
	// refused with EACCES). By default it is on, as in any new namespace,
	// and the addresses the lab gives are "nodad" (usable at once, never
	// tentative). Off, a big lab is quieter: every new link sends DAD, MLD
	// and router solicitations that the bridge floods to all ports.
	NoIPv6 bool
	// PinAuto, with Pin, goes on without pins where /run/netns refuses
	// them (EACCES, EPERM, EROFS: an ordinary user is root only in its own
	// user namespace, which does not own the machine's mounts; or EEXIST
	// where the name is taken and /run/netns is not writable anyway);
	// PinError then says why.
	PinAuto bool
	// Dir holds the lab's files: every node's nsenter.sh helper and its
	// own hosts and resolv.conf, the shared hosts file, and the marker
	// (LabMarker) that `nsh --enter` looks for. "" makes a directory of its
	// own under LabsDir(), which Close removes; a directory given is made
	// if need be, and Close removes only the lab's files from it.
	Dir string
	// Helpers writes DIR/NODE/nsenter.sh for every node (HelperName).
	Helpers bool
	// UserNS puts the lab in a user namespace of its own (labuserns.go):
	// the hub's and every node's namespaces are owned by it, and the
	// nodes' processes are root there, mapped to nobody outside (to nsh's
	// own root when nsh runs in a user namespace of its own). Not with
	// NoOuter.
	UserNS bool
	// NoHolders gives plain nodes (those with no other namespace) no first
	// process: nsh holds each one's network namespace by a descriptor
	// (view.namespaces shows it), as Keep does, until Stop or Close. A big
	// lab saves a process start per node; such a node has no pid.
	NoHolders bool
	// Note, when set, is told of each thing the lab makes that would
	// outlive a killed nsh, the moment it exists, for nsh's durable record:
	// "pin" and its path, "link" and its name in the caller's network
	// namespace (NoOuter), "dir" and the lab's own directory, "child" and
	// a holder's pid.
	Note func(kind, what string)
}

// Lab is a topology of nodes (network namespaces) joined by veth pairs to
// bridges in a hub namespace. Close tears all of it down by releasing the
// namespaces; the kernel then deletes them with their links.
type Lab struct {
	note       func(kind, what string)
	name       string
	dir        string
	ownDir     bool
	tmpfs      bool // a tmpfs of its own is mounted on dir (labtmpfs.go)
	helpers    bool
	pinErr     error  // why the lab is not pinned (PinAuto)
	userns     string // nsh's user namespace file, for the helpers
	hosts      bool   // a node has the shared hosts file: keep DIR/hosts current
	brDescs    []BridgeDesc
	lkDescs    []LinkDesc
	patches    []PatchDesc // veth pairs between bridges (topo.go)
	sysctls    []string
	outer      *NS
	ownOuter   bool
	userNS     *nsproc.Process // UserNS: its first process, holding it and the hub
	userNSRoot int
	pin        bool
	pinAuto    bool
	ipv6       bool
	noHolder   bool
	pins       []string
	nodes      map[string]*Node
	order      []*Node
	bridges    map[string]int // name -> ifindex in the hub
	hubLinks   []string       // bridge-side veth ends (deleted by hand only with NoOuter)
	peer       *peerState     // vxlan peers on other hosts (peer.go), nil if none
	closed     bool
}

// NewLab makes an empty lab: an outer namespace for the hub (unless
// NoOuter), pinned if asked, and its directory with the marker. It raises
// RLIMIT_NOFILE's soft limit to the hard one, since every node holds two
// fds (namespace and netlink socket).
func NewLab(opts LabOptions) (*Lab, error) {
	if opts.Name == "" {
		opts.Name = "lab"
	}
	if err := CheckName(opts.Name); err != nil {
		return nil, err
	}
	raiseNoFile()
	l, err := newLab(opts)
	if refused := err; err != nil && opts.Pin && opts.PinAuto && pinRefused(err) {
		opts.Pin = false
		if l, err = newLab(opts); err == nil {
			l.pinErr = refused
		}
	}
	if err != nil {
		return nil, err
	}
	if err := l.makeDir(opts.Dir); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func newLab(opts LabOptions) (*Lab, error) {
	l := &Lab{name: opts.Name, pin: opts.Pin, pinAuto: opts.PinAuto, noHolder: opts.NoHolders, helpers: opts.Helpers, nodes: map[string]*Node{}, bridges: map[string]int{},
		userns: fmt.Sprintf("/proc/%d/ns/user", os.Getpid()), note: opts.Note}
	if l.note == nil {
		l.note = func(string, string) {}
	}
	l.ipv6 = !opts.NoIPv6
	if opts.NoIPv6 {
		l.sysctls = []string{"net.ipv6.conf.all.disable_ipv6", "1", "net.ipv6.conf.default.disable_ipv6", "1"}
	}
	var err error
	switch {
	case opts.UserNS && opts.NoOuter:
		return nil, errors.New("netlab: a lab in a user namespace of its own has its hub there too (not with NoOuter)")
	case opts.UserNS:
		l.ownOuter = true
		if l.outer, err = l.startUserNS(); err != nil {
			l.Close()
			return nil, err
		}
	case opts.NoOuter:
		l.outer, err = Open(Self())
	default:
		l.outer, err = newNetNS(l.name+" (outer)", true, l.sysctls...)
		l.ownOuter = true
	}
	if err != nil {
		return nil, err
	}
	if l.pin && l.ownOuter {
		if err := l.pinNS(l.outer, l.name); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// CheckName checks a lab's or a node's name: it names pins, files and
// directories, so it is a plain word.
func CheckName(n string) error {
	ok := n != "" && len(n) <= 64 && n != "." && n != ".."
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%q: letters, digits, '_', '-', '.', at most 64", n)
	}
	return nil
}

// Outer is the hub namespace (the caller's own with NoOuter).
func (l *Lab) Outer() *NS { return l.outer }

// Node returns a node by name, nil if none.
func (l *Lab) Node(name string) *Node { return l.nodes[name] }

// Nodes lists the nodes in creation order.
func (l *Lab) Nodes() []*Node { return append([]*Node(nil), l.order...) }

// AddBridge makes a bridge in the hub with forward_delay 0, gives it cidr
// (if not ""), and brings it up.
func (l *Lab) AddBridge(name, cidr string) error {
	if l.closed {
		return errors.New("netlab: lab is closed")
	}
	if err := l.outer.AddBridge(name, true); err != nil {
		return err
	}
	br, err := l.outer.byName(name)
	if err != nil {
		return err
	}
	l.bridges[name] = br.Attrs().Index
	if !l.ownOuter {
		l.note("link", name)
	}
	if cidr != "" {
		ipn, err := parseCIDR(cidr)
		if err != nil {
			return err
		}
		if err := l.outer.addAddrIndex(br.Attrs().Index, name, ipn, true); err != nil {
			return err
		}
	}
	if err := l.outer.h.LinkSetUp(br); err != nil {
		return kerr.Newf(err, linkRules, "link set %s up", name)
	}
	l.brDescs = append(l.brDescs, BridgeDesc{Name: name, CIDR: cidr})
	return nil
}

// HasBridge says whether the lab has a bridge of that name.
func (l *Lab) HasBridge(name string) bool {
	_, ok := l.bridges[name]
	return ok
}

// LinkOptions says how Lab.Link joins a node to a bridge.
type LinkOptions struct {
	Bridge string // a bridge of the lab (AddBridge)
	IfName string // the end inside the node; default "eth0"
	BrName string // the end in the hub, enslaved to Bridge; default NODE-br
	CIDR   string // the address of IfName, "" for none
	// Extra are more addresses of IfName (an IPv6 one beside CIDR, say).
	Extra []string
	// the MACs the kernel gave both ends the first time, kept for Start
	// (a restarted node answers from the MAC its neighbours have cached)
	mac, brMAC net.HardwareAddr
	// kind and mode: a macvlan or ipvlan link on the bridge itself
	// (LinkAs), "" for a veth pair
	kind, mode string
}

// Complete fills in the defaults for a link of node and checks the names
// and the address.
func (o LinkOptions) Complete(node string) (LinkOptions, error) {
	if o.IfName == "" {
		o.IfName = "eth0"
	}
	if o.BrName == "" {
		o.BrName = node + "-br"
	}
	if len(o.IfName) >= unix.IFNAMSIZ || len(o.BrName) >= unix.IFNAMSIZ {
		return o, fmt.Errorf("interface names have at most 15 bytes (IFNAMSIZ): %q, %q", o.IfName, o.BrName)
	}
	for _, n := range []string{o.IfName, o.BrName} {
		if err := CheckIfName(n); err != nil {
			return o, err
		}
	}
	for _, c := range append([]string{o.CIDR}, o.Extra...) {
		if c == "" {
			continue
		}
		if _, err := parseCIDR(c); err != nil {
			return o, err
		}
	}
	if o.CIDR == "" && len(o.Extra) > 0 {
		return o, errors.New("Extra addresses need a first one (CIDR)")
	}
	return o, nil
}

// Link joins node to a bridge: a veth pair with o.IfName inside the node
// (holding o.CIDR, if given) and o.BrName in the hub, enslaved to the
// bridge; both ends up. The hub end is created enslaved and up in one
// request, with its peer created directly inside the node. An address
// updates the node's variables and helper and the shared hosts file. The
// node remembers the link: Start makes it again.
func (l *Lab) Link(node *Node, o LinkOptions) error {
	if l.closed {
		return errors.New("netlab: lab is closed")
	}
	if node == nil || node.lab != l {
		return errors.New("netlab: Link needs a node of this lab")
	}
	o, err := o.Complete(node.Name)
	if err != nil {
		return err
	}
	if o.kind != "" {
		o.BrName = "" // a macvlan or ipvlan has no hub end (LinkAs)
	}
	if _, ok := l.bridges[o.Bridge]; !ok {
		return fmt.Errorf("netlab: lab %s has no bridge %q (make it first with AddBridge)", l.name, o.Bridge)
	}
	ns, err := node.Open()
	if err != nil {
		return err
	}
	defer ns.Close()
	if err := node.link(ns, &o); err != nil {
		return err
	}
	if o.kind == "" {
		l.hubLinks = append(l.hubLinks, o.BrName)
	}
	node.linkOpts = append(node.linkOpts, o)
	node.links = append(node.links, o.IfName)
	l.lkDescs = append(l.lkDescs, LinkDesc{Node: node.Name, Bridge: o.Bridge, IfName: o.IfName, BrName: o.BrName, CIDR: o.CIDR, Type: o.kind})
	if err := l.fitPeerMTU(node, ns, o.IfName, o.BrName, o.Bridge); err != nil {
		return err
	}
	if o.CIDR == "" {
		return nil
	}
	node.addrs = append(append(node.addrs, o.CIDR), o.Extra...)
	node.setEnv()
	if err := l.writeHosts(); err != nil {
		return err
	}
	return node.writeHelper()
}

// link makes the veth pair of o between the hub and the node's network
// namespace ns, its address (nodad: usable at once) and both ends up.
func (n *Node) link(ns *NS, o *LinkOptions) (err error) {
	l := n.lab
	var ipns []*net.IPNet
	for _, c := range append([]string{o.CIDR}, o.Extra...) {
		if c == "" {
			continue
		}
		ipn, err := parseCIDR(c)
		if err != nil {
			return err
		}
		ipns = append(ipns, ipn)
	}
	if o.kind != "" {
		// a macvlan or ipvlan whose parent is the bridge, made inside the
		// node (no hub end); it goes with the node's namespace
		lo := LowerOptions{Mode: o.mode, NetNS: ns}
		if o.kind == "ipvlan" {
			err = l.outer.AddIPVlan(o.IfName, o.Bridge, lo)
		} else {
			err = l.outer.AddMacvlan(o.IfName, o.Bridge, lo)
		}
		if err != nil {
			return err
		}
	} else {
		if err := l.outer.addVeth(o.BrName, o.IfName, ns, l.bridges[o.Bridge], true, o.brMAC, o.mac); err != nil {
			return err
		}
		if !l.ownOuter {
			l.note("link", o.BrName)
		}
		defer func() {
			if err != nil { // half made: deleting the hub end deletes its peer too
				if lk, lerr := l.outer.h.LinkByName(o.BrName); lerr == nil {
					_ = l.outer.h.LinkDel(lk)
				}
			}
		}()
	}
	in, err := ns.byName(o.IfName)
	if err != nil {
		return err
	}
	if o.mac == nil {
		o.mac = in.Attrs().HardwareAddr
		if br, err := l.outer.byName(o.BrName); err == nil && o.kind == "" {
			o.brMAC = br.Attrs().HardwareAddr
		}
	}
	for _, ipn := range ipns {
		if err = ns.addAddrIndex(in.Attrs().Index, o.IfName, ipn, true); err != nil {
			return err
		}
	}
	if err := ns.h.LinkSetUp(in); err != nil {
		return kerr.Newf(err, linkRules, "link set %s up", o.IfName)
	}
	return nil
}

// Wait returns once the lab can carry packets: every bridge and link the
// lab made is up with operstate UP (the kernel's link watcher attaches a
// link's real qdisc only then, and drops what is sent before: a lost first
// ARP request costs a 1 s retry), every hub port is forwarding, and every
// router's IPv6 addresses have left DAD (dadwait.go). It listens to
// netlink notifications; it does not sleep.
func (l *Lab) Wait(timeout time.Duration) error {
	if l.closed {
		return errors.New("netlab: lab is closed")
	}
	deadline := time.Now().Add(timeout)
	ls, err := l.outer.h.LinkList()
	if err != nil {
		return kerr.Newf(err, linkRules, "link list in %s", l.outer.name)
	}
	idx := map[string]int{}
	for _, lk := range ls {
		idx[lk.Attrs().Name] = lk.Attrs().Index
	}
	var names []string
	ports := map[int]bool{}
	for _, n := range l.hubLinks {
		names = append(names, n)
		if i, ok := idx[n]; ok {
			ports[i] = true
		}
	}
	for b := range l.bridges {
		if len(l.hubLinks) > 0 { // a bridge without ports has no carrier
			names = append(names, b)
		}
	}
	if err := l.outer.waitLinks(deadline, names, ports); err != nil {
		return err
	}
	for _, n := range l.order {
		if len(n.links) == 0 || !n.Running() {
			continue
		}
		ns, err := n.Open()
		if err != nil {
			return err
		}
		err = ns.waitLinks(deadline, n.links, nil)
		ns.Close()
		if err != nil {
			return err
		}
	}
	return l.waitRouters(deadline)
}

// Close ends every node (Stop without waiting: their processes killed,
// pins removed), releases the hub's namespace (the kernel then deletes the
// namespaces and their links, asynchronously in its netns cleanup work),
// and removes the lab's files. With NoOuter, the hub's bridges and
// bridge-side veth ends live in a namespace that stays, so they are deleted
// explicitly.
func (l *Lab) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	errs := l.closePeers()
	if err := l.endAll(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, unpinAll(l.pins)...) // labtmpfs.go
	if len(l.pins) > 0 {
		releaseRunNetns(len(l.pins))
	}
	l.pins = nil
	if !l.ownOuter {
		// Deleting one veth end deletes its peer inside the node at once.
		for _, name := range l.hubLinks {
			if lk, err := l.outer.h.LinkByName(name); err == nil {
				_ = l.outer.h.LinkDel(lk)
			}
		}
		for name, idx := range l.bridges {
			if err := l.outer.h.LinkDel(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Index: idx, Name: name}}); err != nil {
				errs = append(errs, kerr.Newf(err, linkRules, "link del %s", name))
			}
		}
	}
	if l.outer != nil {
		if err := l.outer.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if p := l.userNS; p != nil && p.Alive() {
		p.Signal(unix.SIGKILL)
		select {
		case <-p.Done():
		case <-time.After(3 * time.Second):
			errs = append(errs, fmt.Errorf("the holder %d of lab %s's user namespace did not die after SIGKILL", p.Pid, l.name))
		}
	}
	if err := l.removeDir(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dropPin forgets a pin that was removed (a node's, on Stop).
func (l *Lab) dropPin(p string) {
	for i, x := range l.pins {
		if x == p {
			l.pins = append(l.pins[:i:i], l.pins[i+1:]...)
			return
		}
	}
}

// ---- pins under /run/netns, compatible with `ip netns` ----

const runNetns = "/run/netns"

var pinState = struct {
	sync.Mutex
	users     int  // live pins made by this process
	madeDir   bool // we created /run/netns
	madeMount bool // we made /run/netns a bind mount of itself
	tmpfd     int  // the pins' anonymous inode in /run/netns, -1 if none (labfiles.go)
	noTmp     bool // /run/netns refused O_TMPFILE
}{tmpfd: -1}

// prepareRunNetns does what `ip netns add` does first: /run/netns exists and
// is a shared mount point (a bind mount of itself if need be), so that pins
// made later propagate to mount namespaces that were copied from this one.
func prepareRunNetns() error {
	pinState.Lock()
	defer pinState.Unlock()
	if pinState.users > 0 {
		pinState.users++
		return nil
	}
	if err := os.Mkdir(runNetns, 0o755); err == nil {
		pinState.madeDir = true
	} else if !errors.Is(err, os.ErrExist) {
		return kerr.New(`mkdir("/run/netns")`, err, nil)
	}
	err := unix.Mount("", runNetns, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) { // not a mount point yet
		if err = unix.Mount(runNetns, runNetns, "none", unix.MS_BIND|unix.MS_REC, ""); err == nil {
			pinState.madeMount = true
			err = unix.Mount("", runNetns, "none", unix.MS_SHARED|unix.MS_REC, "")
		}
	}
	if err != nil {
		undoRunNetnsLocked()
		return kerr.New(`mount --make-shared /run/netns`, err, kerr.Rules{
			{Errno: unix.EPERM, Rule: "mounting needs CAP_SYS_ADMIN over the mount namespace's owner"},
		})
	}
	pinState.users = 1
	return nil
}

func undoRunNetnsLocked() {
	closePinInode()
	if pinState.madeMount {
		if ents, err := os.ReadDir(runNetns); err == nil && len(ents) == 0 {
			if unix.Unmount(runNetns, unix.MNT_DETACH) == nil {
				pinState.madeMount = false
			}
		}
	}
	if pinState.madeDir && !pinState.madeMount {
		if os.Remove(runNetns) == nil {
			pinState.madeDir = false
		}
	}
}

func releaseRunNetns(n int) {
	pinState.Lock()
	defer pinState.Unlock()
	pinState.users -= n
	if pinState.users <= 0 {
		pinState.users = 0
		undoRunNetnsLocked()
	}
}

func (l *Lab) pinNS(ns *NS, name string) error {
	if err := prepareRunNetns(); err != nil {
		return err
	}
	p := filepath.Join(runNetns, name)
	pinState.Lock()
	err := pinFile(p) // labfiles.go
	pinState.Unlock()
	if err != nil {
		releaseRunNetns(1)
		return kerr.Newf(err, kerr.Rules{{Errno: unix.EEXIST, Rule: "a namespace of that name is already pinned (ip netns list)"}}, "create %s", p)
	}
	// noted as soon as the file is ours (O_EXCL) and before the mount, so
	// that a SIGKILL between the two leaves nothing unrecorded (the sweep
	// takes an unmounted pin file too)
	l.note("pin", p)
	src := fmt.Sprintf("/proc/self/fd/%d", ns.fd)
	if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(p)
		releaseRunNetns(1)
		return kerr.Newf(err, nil, "mount --bind %s %s", src, p)
	}
	// noted again, bound: the journal proves a pin by what is at its path
	// (the file before the mount, the namespace after it)
	l.note("pin", p)
	l.pins = append(l.pins, p)
	return nil
}

func unpin(p string) error {
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return kerr.Newf(err, nil, "umount %s", p)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return kerr.Newf(err, nil, "rm %s", p)
	}
	return nil
}
