// Package netlab is nsh's network toolbox: links, veth pairs, bridges,
// addresses and routes in any network namespace (through netlink handles
// bound to that namespace, so the caller's thread never moves), an ICMP
// ping and a tiny DNS responder written in Go, and a lab layer that builds
// bridge-and-node topologies inside namespaces of its own.
//
// Every operation is a method on *NS. An NS is opened from a Target (the
// calling thread's namespace, a pid, a path or an fd) and holds a netlink
// socket created inside that namespace plus an fd of the namespace itself.
package netlab

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

type targetKind int

const (
	kindSelf targetKind = iota
	kindPid
	kindPath
	kindFd
)

// Target names a network namespace. The zero value is the calling thread's
// current network namespace.
type Target struct {
	kind targetKind
	pid  int
	path string
	fd   int
}

// Self is the calling thread's current network namespace (the zero Target).
func Self() Target { return Target{} }

// PID is the network namespace of process pid (/proc/PID/ns/net).
func PID(pid int) Target { return Target{kind: kindPid, pid: pid} }

// Path is a namespace file: /run/netns/NAME, a pinned file, /proc/PID/ns/net.
func Path(p string) Target { return Target{kind: kindPath, path: p} }

// FD is an open namespace fd; Open duplicates it, the caller keeps its own.
func FD(fd int) Target { return Target{kind: kindFd, fd: fd} }

func (t Target) String() string {
	switch t.kind {
	case kindPid:
		return fmt.Sprintf("pid %d", t.pid)
	case kindPath:
		return t.path
	case kindFd:
		return fmt.Sprintf("fd %d", t.fd)
	}
	return "self"
}

// NS is an open network namespace: a netlink handle made inside it and the
// namespace fd. Methods may be called from any thread.
type NS struct {
	name string
	fd   int
	h    *netlink.Handle

	rawMu sync.Mutex
	raw   *nl.SocketHandle // lazily opened rtnetlink socket for requests netlink lacks
}

var openRules = kerr.Rules{
	{Errno: unix.ENOENT, Rule: "no such namespace file or process (the process may have exited)"},
	{Errno: unix.EACCES, Rule: "opening another process's namespace needs ptrace access to it (root or same user)"},
	{Errno: unix.EPERM, Rule: "entering a network namespace needs CAP_SYS_ADMIN over its owning user namespace"},
	{Errno: unix.EINVAL, Rule: "the file is not a network namespace"},
	{Errno: unix.EBADF, Rule: "the fd is not open"},
}

func openTargetFd(t Target) (int, error) {
	var p string
	switch t.kind {
	case kindSelf:
		p = "/proc/thread-self/ns/net"
	case kindPid:
		if t.pid <= 0 {
			return -1, fmt.Errorf("netlab: pid must be > 0, got %d", t.pid)
		}
		p = fmt.Sprintf("/proc/%d/ns/net", t.pid)
	case kindPath:
		if t.path == "" {
			return -1, errors.New("netlab: path must not be empty")
		}
		p = t.path
	case kindFd:
		fd, err := unix.FcntlInt(uintptr(t.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return -1, kerr.Newf(err, openRules, "dup(%d)", t.fd)
		}
		return fd, nil
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, kerr.Newf(err, openRules, "open(%q)", p)
	}
	return fd, nil
}

func checkNetNS(fd int, what string) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return kerr.Newf(err, nil, "fstatfs(%s)", what)
	}
	if st.Type != unix.NSFS_MAGIC {
		return kerr.Newf(unix.EINVAL, openRules, "open(%s)", what)
	}
	// NS_GET_NSTYPE tells the type of namespace.
	typ, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.NS_GET_NSTYPE), 0)
	if errno == 0 && int(typ) != unix.CLONE_NEWNET {
		return fmt.Errorf("open(%s): not a network namespace", what)
	}
	return nil
}

// Open opens the network namespace t and a netlink handle inside it.
func Open(t Target) (*NS, error) {
	fd, err := openTargetFd(t)
	if err != nil {
		return nil, err
	}
	if err := checkNetNS(fd, t.String()); err != nil {
		unix.Close(fd)
		return nil, err
	}
	ns, err := fromFd(fd, t.String())
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return ns, nil
}

// fromFd takes ownership of fd on success.
func fromFd(fd int, name string) (*NS, error) {
	var h *netlink.Handle
	err := doAt(fd, name, func() (err error) {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return nil, kerr.Newf(err, openRules, "netlink socket in %s", name)
	}
	return &NS{name: name, fd: fd, h: h}, nil
}

// Name is how the namespace was opened (e.g. "self", "/run/netns/a").
func (ns *NS) Name() string { return ns.name }

// Fd is the namespace fd (valid until Close).
func (ns *NS) Fd() int { return ns.fd }

// Handle is the netlink handle bound to the namespace, for callers that
// need something this package does not wrap.
func (ns *NS) Handle() *netlink.Handle { return ns.h }

// Inode is the namespace's inode number (what `readlink /proc/PID/ns/net` shows).
func (ns *NS) Inode() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(ns.fd, &st); err != nil {
		return 0, kerr.Newf(err, nil, "fstat(%s)", ns.name)
	}
	return st.Ino, nil
}

// Close releases the netlink sockets and the namespace fd. The namespace
// itself lives on while anything else holds it.
func (ns *NS) Close() error {
	if ns == nil || ns.fd < 0 {
		return nil
	}
	ns.h.Close()
	ns.rawMu.Lock()
	if ns.raw != nil {
		ns.raw.Close()
		ns.raw = nil
	}
	ns.rawMu.Unlock()
	err := unix.Close(ns.fd)
	ns.fd = -1
	return err
}

var setnsRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "setns to a network namespace needs CAP_SYS_ADMIN in the caller's and the namespace's owning user namespaces"},
	{Errno: unix.EINVAL, Rule: "the fd is not a network namespace"},
}

// Do runs fn on the calling OS thread while that thread sits in ns, then
// moves the thread back. fn must not start goroutines that depend on the
// namespace; sockets it creates stay in ns after Do returns. If the thread
// cannot be moved back, it stays locked so the Go runtime retires it, and an
// error says so.
func (ns *NS) Do(fn func() error) error { return doAt(ns.fd, ns.name, fn) }

// doAt runs fn on a thread inside namespace fd (named name in errors): the
// calling thread if it is there already, else the calling thread moved
// there and back, else (no way back) a throwaway locked thread.
func doAt(fd int, name string, fn func() error) error {
	runtime.LockOSThread()
	if isCurrentNetNS(fd) {
		// Already there: no setns (which would need CAP_SYS_ADMIN over the
		// namespace's owner even to "enter" the namespace one is in).
		defer runtime.UnlockOSThread()
		return fn()
	}
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return kerr.New(`open("/proc/thread-self/ns/net")`, err, nil)
	}
	defer unix.Close(orig)
	if unix.Setns(orig, unix.CLONE_NEWNET) != nil {
		// No way back (see newNetNS): do it on a thread that dies.
		runtime.UnlockOSThread()
		ch := make(chan error, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
			if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
				ch <- kerr.Newf(err, setnsRules, "setns(%s, \"net\")", name)
				return
			}
			ch <- fn()
		}()
		return <-ch
	}
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return kerr.Newf(err, setnsRules, "setns(%s, \"net\")", name)
	}
	ferr := fn()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it is in the wrong namespace.
		return kerr.Newf(err, setnsRules, "setns back from %s (thread retired)", name)
	}
	runtime.UnlockOSThread()
	return ferr
}

// rawSocket returns an rtnetlink socket inside ns for hand-built requests.
func (ns *NS) rawSocket() (*nl.SocketHandle, error) {
	ns.rawMu.Lock()
	defer ns.rawMu.Unlock()
	if ns.raw != nil {
		return ns.raw, nil
	}
	var s *nl.NetlinkSocket
	err := ns.Do(func() (err error) {
		s, err = nl.GetNetlinkSocketAt(netns.None(), netns.None(), unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return nil, kerr.Newf(err, openRules, "netlink socket in %s", ns.name)
	}
	ns.raw = &nl.SocketHandle{Socket: s}
	return ns.raw, nil
}

// request builds a netlink request executed on ns's raw socket.
func (ns *NS) request(proto, flags int) (*nl.NetlinkRequest, error) {
	sh, err := ns.rawSocket()
	if err != nil {
		return nil, err
	}
	req := nl.NewNetlinkRequest(proto, flags)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: sh}
	return req, nil
}

// newNetNS makes a new network namespace without moving the caller: on the
// calling (locked) thread it unshares, keeps an fd, opens a netlink handle
// there, brings lo up if asked, and setns back to the original namespace.
func newNetNS(name string, loUp bool, sysctls ...string) (*NS, error) {
	return newNetNSInside(name, loUp, nil, sysctls...)
}

// newNetNSInside is newNetNS that also runs inside (if not nil) on the
// calling thread while it is in the new namespace, before it goes back: a
// process forked there is born in the namespace, and its parent-death
// signal belongs to the calling thread, which therefore stays locked to the
// calling goroutine afterwards (one LockOSThread more: nsh's Lua thread is
// locked for ever anyway; a goroutine that was not keeps its thread, so no
// other goroutine can end it). Where the thread could not come back
// (newNetNSThrowaway) inside is not run.
func newNetNSInside(name string, loUp bool, inside func(*NS) error, sysctls ...string) (*NS, error) {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, kerr.New(`open("/proc/thread-self/ns/net")`, err, nil)
	}
	defer unix.Close(orig)
	// Probe the way back first: setns into the namespace one is in still
	// needs CAP_SYS_ADMIN over its owner. Root in nsh's user namespace
	// sitting in the machine's namespace has none, so it could leave but
	// never return; then the namespace is made on a thread that dies.
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return newNetNSThrowaway(name, loUp, sysctls...)
	}
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, unshareErr(err)
	}
	ns, ierr := initHere(name, loUp, sysctls...)
	if ierr == nil && inside != nil {
		ierr = inside(ns)
		runtime.LockOSThread() // kept: see above
	}
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		if ns != nil {
			ns.Close()
		}
		return nil, kerr.New("setns back after unshare (thread retired)", err, setnsRules)
	}
	runtime.UnlockOSThread()
	return ns, ierr
}

func unshareErr(err error) error {
	return kerr.New(`unshare("net")`, err, kerr.Rules{
		{Errno: unix.EPERM, Rule: "creating a network namespace needs CAP_SYS_ADMIN"},
		{Errno: unix.ENOSPC, Rule: "the user.max_net_namespaces limit is reached"},
	})
}

// newNetNSThrowaway makes the namespace on a goroutine whose thread is
// locked and never unlocked, so the Go runtime ends that thread with it.
// Nothing else runs on that thread; the namespace is held by the fd.
func newNetNSThrowaway(name string, loUp bool, sysctls ...string) (*NS, error) {
	type result struct {
		ns  *NS
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, unshareErr(err)}
			return
		}
		ns, err := initHere(name, loUp, sysctls...)
		ch <- result{ns, err}
	}()
	r := <-ch
	return r.ns, r.err
}

// initHere opens the calling thread's (new) namespace and prepares it.
func initHere(name string, loUp bool, sysctls ...string) (*NS, error) {
	{
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, kerr.New(`open("/proc/thread-self/ns/net")`, err, nil)
		}
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			unix.Close(fd)
			return nil, kerr.New("netlink socket", err, nil)
		}
		ns := &NS{name: name, fd: fd, h: h}
		for i := 0; i+1 < len(sysctls); i += 2 {
			if err := writeSysctl(sysctls[i], sysctls[i+1]); err != nil {
				ns.Close()
				return nil, err
			}
		}
		if loUp {
			if err := h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1, Name: "lo"}}); err != nil {
				ns.Close()
				return nil, kerr.New(`link set lo up`, err, nil)
			}
		}
		return ns, nil
	}
}

// raiseNoFile lifts RLIMIT_NOFILE's soft limit to the hard limit.
func raiseNoFile() {
	var r unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &r)
	}
}

// writeSysctl writes /proc/sys/KEY (dots or slashes) for the calling
// thread's network namespace: /proc/sys/net resolves to the namespace of
// the thread that opens the file.
func writeSysctl(key, val string) error {
	p := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return kerr.Newf(err, nil, "sysctl %s", key)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(val)); err != nil {
		return kerr.Newf(err, nil, "sysctl %s=%s", key, val)
	}
	return nil
}

// readSysctl reads /proc/sys/KEY for the calling thread's network
// namespace, without its final newline.
func readSysctl(key string) (string, error) {
	p := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	b, err := os.ReadFile(p)
	if err != nil {
		return "", kerr.Newf(err, nil, "sysctl %s", key)
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// isCurrentNetNS reports whether fd is the network namespace the calling
// thread is in (call with the thread locked).
func isCurrentNetNS(fd int) bool {
	var a, b unix.Stat_t
	if unix.Fstat(fd, &a) != nil || unix.Stat("/proc/thread-self/ns/net", &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// CanReturn reports whether the calling thread could setns(2) back into the
// network namespace it is in, i.e. whether it may visit another namespace
// and come back. Root in a user namespace of its own that sits in the
// machine's namespace cannot (EPERM: no CAP_SYS_ADMIN over its owner).
func CanReturn() bool {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Setns(fd, unix.CLONE_NEWNET) == nil
}

// Named is a namespace named by a path, or by a bare name: a pin under
// /run/netns, as `ip netns` makes them.
func Named(name string) Target {
	if strings.Contains(name, "/") {
		return Path(name)
	}
	return Path(runNetns + "/" + name)
}
