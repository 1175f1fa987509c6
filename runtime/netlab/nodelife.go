package netlab

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
	"nsh/runtime/nsproc"
)

// A node's life: it runs while its holder runs; Stop ends it as the end of
// its processes would, Start makes it again. nsh reaches a running node
// through its holder, never through a descriptor of its own (but Keep's).

// ErrEnded is wrapped by the errors of operations on a node whose holder
// has ended.
var ErrEnded = errors.New("ended")

// Running says whether the node's holder runs.
func (n *Node) Running() bool {
	if n.holder == nil {
		return n.kept != nil // a lab with NoHolders: nsh's descriptor holds it
	}
	return n.holder.Alive()
}

// alive says why the node cannot be reached, nil while its holder runs.
func (n *Node) alive() error {
	if n.holder == nil && n.kept != nil {
		return nil
	}
	if n.holder == nil {
		return fmt.Errorf("node %s has %w (stopped; node:start() makes it again)", n.Name, ErrEnded)
	}
	if !n.holder.Alive() || n.holder.UsePidfd(func(pidfd int) error { return unix.PidfdSendSignal(pidfd, 0, nil, 0) }) != nil {
		return fmt.Errorf("node %s has %w: its first process (holder, pid %d) exited, and nsh holds nothing of it; node:start() makes it again",
			n.Name, ErrEnded, n.holder.Pid)
	}
	return nil
}

// openNS opens the holder's namespaces of the given types (nsproc names),
// checking after the opens that the holder still runs: a pid whose process
// is alive has not been recycled, so the files were the holder's.
func (n *Node) openNS(types ...string) ([]int, error) {
	if err := n.alive(); err != nil {
		return nil, err
	}
	if n.holder == nil { // NoHolders: a plain node, only a network namespace
		fd, err := unix.FcntlInt(uintptr(n.kept.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		return []int{fd}, nil
	}
	var fds []int
	fail := func(err error) ([]int, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, err
	}
	for _, t := range types {
		var fd int
		var ok bool
		var ierr error
		if err := n.holder.UsePidfd(func(pidfd int) error {
			fd, ok, ierr = openByPidfd(pidfd, t)
			return nil
		}); err != nil {
			if aerr := n.alive(); aerr != nil { // reaped: ended
				return fail(aerr)
			}
			return fail(err)
		}
		if ok {
			if ierr != nil {
				if aerr := n.alive(); aerr != nil {
					return fail(aerr)
				}
				return fail(fmt.Errorf("ioctl(pidfd of %d, PIDFD_GET_%s_NAMESPACE): %w", n.holder.Pid, strings.ToUpper(t), ierr))
			}
			fds = append(fds, fd)
			continue
		}
		p := nsproc.NSPath(n.holder.Pid, t)
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			if aerr := n.alive(); aerr != nil {
				return fail(aerr)
			}
			return fail(fmt.Errorf("open(%q): %w", p, err))
		}
		fds = append(fds, fd)
	}
	if err := n.alive(); err != nil {
		return fail(err)
	}
	return fds, nil
}

// Open opens the node's network namespace for any *NS operation, through
// its holder; the caller closes it (while open, it holds the namespace).
func (n *Node) Open() (*NS, error) {
	fds, err := n.openNS("net")
	if err != nil {
		return nil, err
	}
	ns, err := fromFd(fds[0], n.lab.name+"/"+n.Name)
	if err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return ns, nil
}

// Stop ends the node as the end of its processes would: it kills every
// process in the node's network namespace (the holder first; with a PID
// namespace, its init's death ends the rest), removes its pin, drops Keep's
// descriptor, and waits until the kernel has freed the namespace, which it
// shows by deleting the node's veths and so their ends on the bridges. The
// node keeps its name, options and links for Start.
func (n *Node) Stop() error {
	err := n.end()
	if werr := n.waitHubEndsGone(10 * time.Second); werr != nil {
		err = errors.Join(err, werr)
	}
	return err
}

// Start makes a stopped (or ended) node again: new namespaces, the same
// name, hostname, /etc files and variables, its links remade with the same
// names and addresses, its pin and helper written anew.
func (n *Node) Start() error {
	if n.lab.closed {
		return errors.New("netlab: lab is closed")
	}
	if n.Running() {
		return fmt.Errorf("node %s is running (pid %d; 0: held by nsh): node:stop() it first", n.Name, n.HolderPID())
	}
	if err := n.Stop(); err != nil { // what outlived the holder: pin, Keep, other processes
		return err
	}
	return n.boot()
}

// end kills the node's processes and lets go of what holds it, without
// waiting for the kernel to free the namespace.
func (n *Node) end() error {
	ref := n.reference()
	var pids []int
	var err error
	if ref >= 0 {
		pids, err = netnsMembers(ref, n.netIno)
	}
	return errors.Join(err, n.endRef(ref, pids))
}

// endRef is end with the namespace's reference (closed here; -1: none)
// and the processes found in it already (the lab's Close scans /proc once
// for all its nodes).
func (n *Node) endRef(ref int, pids []int) error {
	var errs []error
	if ref >= 0 {
		for _, pid := range pids {
			if n.holder != nil && pid == n.holder.Pid {
				continue
			}
			if err := killIfIn(pid, ref); err != nil {
				errs = append(errs, err)
			}
		}
		unix.Close(ref)
	}
	if err := n.killHolder(); err != nil {
		errs = append(errs, err)
	}
	if n.pinPath != "" {
		if err := unpin(n.pinPath); err != nil {
			errs = append(errs, err)
		} else {
			releaseRunNetns(1)
			n.lab.dropPin(n.pinPath)
			n.pinPath = ""
		}
	}
	if n.kept != nil {
		if err := n.kept.Close(); err != nil {
			errs = append(errs, err)
		}
		n.kept = nil
	}
	return errors.Join(errs...)
}

// reference opens the node's current network namespace, -1 if nothing
// nsh can reach holds it any more: through the holder, the pin or Keep's
// descriptor, else through a process still in it (found by inode, proved
// by the namespace's cookie, which the kernel never reuses).
func (n *Node) reference() int {
	if fds, err := n.openNS("net"); err == nil {
		return fds[0]
	}
	if n.kept != nil {
		if fd, err := unix.FcntlInt(uintptr(n.kept.fd), unix.F_DUPFD_CLOEXEC, 0); err == nil {
			return fd
		}
	}
	if n.pinPath != "" {
		if fd, err := unix.Open(n.pinPath, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			return fd
		}
	}
	if n.netIno == 0 {
		return -1
	}
	pids, _ := netnsMembers(-1, n.netIno)
	for _, pid := range pids {
		fd, err := unix.Open(nsproc.NSPath(pid, "net"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if c, err := netnsCookie(fd); err == nil && c == n.cookie {
			return fd
		}
		unix.Close(fd)
	}
	return -1
}

// netnsMembers lists the processes (but this one) whose network namespace
// has inode ino (and, with ref >= 0, is ref's: same device and inode while
// ref holds it, so the inode cannot have been reused), as `ip netns pids`.
func netnsMembers(ref int, ino uint64) ([]int, error) {
	var dev uint64
	if ref >= 0 {
		var st unix.Stat_t
		if err := unix.Fstat(ref, &st); err != nil {
			return nil, err
		}
		dev, ino = st.Dev, st.Ino
	}
	all, err := netnsOfAll()
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, m := range all {
		if m.ino == ino && (ref < 0 || m.dev == dev) {
			pids = append(pids, m.pid)
		}
	}
	return pids, nil
}

type netnsOf struct {
	pid      int
	dev, ino uint64
}

// netnsOfAll is the network namespace of every process but this one.
func netnsOfAll() ([]netnsOf, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var out []netnsOf
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(nsproc.NSPath(pid, "net"), &st) == nil {
			out = append(out, netnsOf{pid, st.Dev, st.Ino})
		}
	}
	return out, nil
}

// endAll ends the lab's nodes (Close): one look at /proc for all of them,
// every holder signalled before any is waited for.
func (l *Lab) endAll() error {
	refs := make([]int, len(l.order))
	byNS := map[[2]uint64]int{} // namespace -> index in l.order
	for i, n := range l.order {
		refs[i] = n.reference()
		var st unix.Stat_t
		if refs[i] >= 0 && unix.Fstat(refs[i], &st) == nil {
			byNS[[2]uint64{st.Dev, st.Ino}] = i
		}
	}
	pids := make([][]int, len(l.order))
	all, err := netnsOfAll()
	for _, m := range all {
		if i, ok := byNS[[2]uint64{m.dev, m.ino}]; ok {
			pids[i] = append(pids[i], m.pid)
		}
	}
	errs := []error{err}
	for _, n := range l.order {
		if n.holder != nil && n.holder.Alive() {
			n.holder.Signal(unix.SIGKILL)
		}
	}
	for i, n := range l.order {
		errs = append(errs, n.endRef(refs[i], pids[i]))
	}
	return errors.Join(errs...)
}

// killIfIn SIGKILLs pid through a pidfd if it is (still) in the network
// namespace ref, so a recycled pid is never hit.
func killIfIn(pid, ref int) error {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil // gone already
	}
	defer unix.Close(pfd)
	// Which namespace the process the pidfd names is in: from the pidfd
	// itself where the kernel can say (6.11), else from /proc, but only
	// when /proc numbers PIDs as nsh does (a /proc of another PID namespace
	// would name another process by the same number).
	var a, b unix.Stat_t
	if unix.Fstat(ref, &a) != nil {
		return nil
	}
	if nfd, ok, err := openByPidfd(pfd, "net"); ok {
		if err != nil {
			return nil // gone, or not ours to see
		}
		serr := unix.Fstat(nfd, &b)
		unix.Close(nfd)
		if serr != nil || a.Dev != b.Dev || a.Ino != b.Ino {
			return nil
		}
	} else if !procIsOurs() || unix.Stat(nsproc.NSPath(pid, "net"), &b) != nil || a.Dev != b.Dev || a.Ino != b.Ino {
		return nil
	}
	if err := unix.PidfdSendSignal(pfd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill(%d, SIGKILL), a process in the node: %w", pid, err)
	}
	return nil
}

// netnsCookie is the network namespace's cookie (SO_NETNS_COOKIE of a
// socket made in it): a number the kernel gives each namespace once.
func netnsCookie(fd int) (uint64, error) {
	var c uint64
	err := doAt(fd, "node", func() error {
		s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(s)
		v, err := unix.GetsockoptUint64(s, unix.SOL_SOCKET, unix.SO_NETNS_COOKIE)
		c = v
		return err
	})
	return c, err
}

// waitHubEndsGone waits until the kernel has deleted the hub ends of the
// node's links, which it does once it has freed the node's network
// namespace (asynchronously, in its netns cleanup work). It listens to the
// hub's link notifications (RTM_DELLINK) instead of sleeping.
func (n *Node) waitHubEndsGone(timeout time.Duration) error {
	if len(n.linkOpts) == 0 || n.lab.outer == nil {
		return nil
	}
	hub := n.lab.outer
	var sub *nl.NetlinkSocket
	err := hub.Do(func() (err error) {
		sub, err = nl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_LINK)
		return err
	})
	if err != nil {
		return kerr.New("subscribe to link events in "+hub.name, err, nil)
	}
	defer sub.Close()
	left := func() []string { // after subscribing: no deletion falls in between
		var names []string
		for _, o := range n.linkOpts {
			if _, err := hub.h.LinkByName(o.BrName); err == nil {
				names = append(names, o.BrName)
			}
		}
		return names
	}
	deadline := time.Now().Add(timeout)
	for names := left(); len(names) > 0; names = left() {
		wait := time.Until(deadline)
		if wait <= 0 {
			return fmt.Errorf("node %s: after %v the kernel still has %s on the lab's bridges: something still holds the node's network namespace (view.namespaces() shows what)",
				n.Name, timeout, strings.Join(names, ", "))
		}
		tv := unix.NsecToTimeval(wait.Nanoseconds())
		if tv.Sec == 0 && tv.Usec == 0 {
			tv.Usec = 1
		}
		if err := sub.SetReceiveTimeout(&tv); err != nil {
			return kerr.New("SO_RCVTIMEO", err, nil)
		}
		// any event (or a timeout, or lost events: ENOBUFS) means look again
		if _, _, err := sub.Receive(); err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.ENOBUFS) {
			return kerr.New("receive link events in "+hub.name, err, nil)
		}
	}
	return nil
}

// Inode is the inode of the node's network namespace (what `readlink
// /proc/HOLDER/ns/net` shows), of its current or last incarnation.
func (n *Node) Inode() uint64 { return n.netIno }

// procIsOurs reports whether /proc is a procfs of nsh's own PID namespace
// (its /proc/self is nsh's PID), so that /proc/PID names the process nsh
// calls PID.
func procIsOurs() bool {
	self, err := os.Readlink("/proc/self")
	return err == nil && self == strconv.Itoa(os.Getpid())
}
