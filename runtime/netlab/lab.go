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
	// IPv6 keeps IPv6 on in the lab's namespaces. By default the lab turns
	// it off (net.ipv6.conf.{all,default}.disable_ipv6=1): every new link
	// would otherwise send DAD, MLD and router solicitations that the
	// bridge floods to all ports, O(N^2) packets that slow big labs down.
	IPv6 bool
}

// Lab is a topology of nodes (network namespaces) joined by veth pairs to
// bridges in a hub namespace. Close tears all of it down by releasing the
// namespaces; the kernel then deletes them with their links.
type Lab struct {
	name     string
	sysctls  []string
	outer    *NS
	ownOuter bool
	pin      bool
	pins     []string
	nodes    map[string]*Node
	order    []*Node
	bridges  map[string]int // name -> ifindex in the hub
	hubLinks []string       // bridge-side veth ends (deleted by hand only with NoOuter)
	closed   bool
}

// Node is one network namespace of a lab.
type Node struct {
	Name  string
	ns    *NS
	links []string // interfaces made by Lab.Link
}

// NS is the node's namespace, for any *NS operation.
func (n *Node) NS() *NS { return n.ns }

// NewLab makes an empty lab: an outer namespace for the hub (unless
// NoOuter), pinned if asked. It raises RLIMIT_NOFILE's soft limit to the
// hard one, since every node holds two fds (namespace and netlink socket).
func NewLab(opts LabOptions) (*Lab, error) {
	raiseNoFile()
	l := &Lab{name: opts.Name, pin: opts.Pin, nodes: map[string]*Node{}, bridges: map[string]int{}}
	if l.name == "" {
		l.name = "lab"
	}
	if !opts.IPv6 {
		l.sysctls = []string{"net.ipv6.conf.all.disable_ipv6", "1", "net.ipv6.conf.default.disable_ipv6", "1"}
	}
	if err := checkPinName(l.name); err != nil {
		return nil, err
	}
	var err error
	if opts.NoOuter {
		l.outer, err = Open(Self())
	} else {
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

func checkPinName(n string) error {
	if n == "" || n == "." || n == ".." || len(n) > 200 || filepath.Base(n) != n {
		return fmt.Errorf("netlab: bad lab or node name %q: no '/', not empty", n)
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
	if cidr != "" {
		ipn, err := parseCIDR(cidr)
		if err != nil {
			return err
		}
		if err := l.outer.addAddrIndex(br.Attrs().Index, name, ipn, true); err != nil {
			return err
		}
	}
	return kerr.Newf(l.outer.h.LinkSetUp(br), linkRules, "link set %s up", name)
}

// AddNode makes a node: a new network namespace with lo up.
func (l *Lab) AddNode(name string) (*Node, error) {
	if l.closed {
		return nil, errors.New("netlab: lab is closed")
	}
	if err := checkPinName(name); err != nil {
		return nil, err
	}
	if l.nodes[name] != nil {
		return nil, fmt.Errorf("netlab: lab %s already has a node %q", l.name, name)
	}
	ns, err := newNetNS(l.name+"/"+name, true, l.sysctls...)
	if err != nil {
		return nil, err
	}
	n := &Node{Name: name, ns: ns}
	if l.pin {
		if err := l.pinNS(ns, l.name+"-"+name); err != nil {
			ns.Close()
			return nil, err
		}
	}
	l.nodes[name] = n
	l.order = append(l.order, n)
	return n, nil
}

// Link joins node to bridge: a veth pair with ifname inside the node
// (holding cidr, if not "") and brIfName in the hub, enslaved to bridge;
// both ends up. The hub end is created enslaved and up in one request, with
// its peer created directly inside the node.
func (l *Lab) Link(node *Node, bridge, ifname, brIfName, cidr string) error {
	if l.closed {
		return errors.New("netlab: lab is closed")
	}
	if node == nil {
		return errors.New("netlab: Link needs a node")
	}
	bidx, ok := l.bridges[bridge]
	if !ok {
		return fmt.Errorf("netlab: lab %s has no bridge %q (make it first: lab:bridge in Lua, Lab.AddBridge in Go)", l.name, bridge)
	}
	var ipn *net.IPNet
	if cidr != "" {
		var err error
		if ipn, err = parseCIDR(cidr); err != nil {
			return err
		}
	}
	if err := l.outer.addVeth(brIfName, ifname, node.ns, bidx, true); err != nil {
		return err
	}
	l.hubLinks = append(l.hubLinks, brIfName)
	in, err := node.ns.byName(ifname)
	if err != nil {
		return err
	}
	if ipn != nil {
		if err := node.ns.addAddrIndex(in.Attrs().Index, ifname, ipn, true); err != nil {
			return err
		}
	}
	node.links = append(node.links, ifname)
	return kerr.Newf(node.ns.h.LinkSetUp(in), linkRules, "link set %s up", ifname)
}

// Wait returns once the lab can carry packets: every bridge and link the
// lab made is up with operstate UP (the kernel's link watcher attaches a
// link's real qdisc only then, and drops what is sent before: a lost first
// ARP request costs a 1 s retry), and every hub port is forwarding. It
// listens to link notifications; it does not sleep.
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
		if err := n.ns.waitLinks(deadline, n.links, nil); err != nil {
			return err
		}
	}
	return nil
}

// Close releases every namespace of the lab (the kernel then deletes them
// and their links, asynchronously in its netns cleanup work) and removes
// pins. With NoOuter, the hub's bridges and bridge-side veth ends live in a
// namespace that stays, so they are deleted explicitly.
func (l *Lab) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	for _, p := range l.pins {
		if err := unpin(p); err != nil {
			errs = append(errs, err)
		}
	}
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
	for _, n := range l.order {
		if err := n.ns.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := l.outer.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ---- pins under /run/netns, compatible with `ip netns` ----

const runNetns = "/run/netns"

var pinState struct {
	sync.Mutex
	users     int  // live pins made by this process
	madeDir   bool // we created /run/netns
	madeMount bool // we made /run/netns a bind mount of itself
}

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
			unix.EPERM: "mounting needs CAP_SYS_ADMIN over the mount namespace's owner",
		})
	}
	pinState.users = 1
	return nil
}

func undoRunNetnsLocked() {
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
	f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0)
	if err != nil {
		releaseRunNetns(1)
		return kerr.Newf(err, kerr.Rules{unix.EEXIST: "a namespace of that name is already pinned (ip netns list)"}, "create %s", p)
	}
	f.Close()
	src := fmt.Sprintf("/proc/self/fd/%d", ns.fd)
	if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(p)
		releaseRunNetns(1)
		return kerr.Newf(err, nil, "mount --bind %s %s", src, p)
	}
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
