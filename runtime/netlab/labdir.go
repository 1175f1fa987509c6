package netlab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// A lab's directory and what it says about itself: name, pins, paths, its
// description, the shared hosts file, and the files Close removes.

// Name is the lab's name.
func (l *Lab) Name() string { return l.name }

// String is "lab NAME (N nodes, M bridges)" or "lab NAME (closed)".
func (l *Lab) String() string {
	if l.closed {
		return fmt.Sprintf("lab %s (closed)", l.name)
	}
	return fmt.Sprintf("lab %s (%d nodes, %d bridges)", l.name, len(l.order), len(l.brDescs))
}

// Dir is the lab's directory (LabOptions.Dir).
func (l *Lab) Dir() string { return l.dir }

// Closed says whether Close ran.
func (l *Lab) Closed() bool { return l.closed }

// Pinned says whether the lab's namespaces are pinned under /run/netns.
func (l *Lab) Pinned() bool { return l.pin }

// PinError is why a lab that asked for pins (Pin with PinAuto) has none,
// nil otherwise.
func (l *Lab) PinError() error { return l.pinErr }

// Path is a file naming the hub's network namespace that other processes
// can open: its pin, else this process's fd for it; "" once closed.
func (l *Lab) Path() string {
	switch {
	case l.closed:
		return ""
	case l.pin && l.ownOuter:
		return filepath.Join(runNetns, l.name)
	}
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), l.outer.Fd())
}

// Bridges lists the bridges as made, in order.
func (l *Lab) Bridges() []BridgeDesc { return append([]BridgeDesc(nil), l.brDescs...) }

// Desc describes the lab as built (for its view, DOT graph and hosts file).
func (l *Lab) Desc() LabDesc {
	d := LabDesc{Name: l.name, Pinned: l.pin, Bridges: l.Bridges(), Links: append([]LinkDesc(nil), l.lkDescs...),
		Patches: l.Patches()}
	for _, n := range l.order {
		d.Nodes = append(d.Nodes, NodeDesc{Name: n.Name, Addrs: n.Addrs()})
	}
	return d
}

// PingAll pings every node's first address from every other node that has
// one (PingAll).
func (l *Lab) PingAll(timeout time.Duration) PingAllResult {
	nodes, done, err := l.pingTargets()
	if err != nil {
		return PingAllResult{Failed: []string{err.Error()}}
	}
	defer done()
	return PingAll(l.name, nodes, timeout)
}

// pingTargets opens the network namespace of every node that has an
// address, in creation order, each at its first address; done closes them.
func (l *Lab) pingTargets() (nodes []PingTarget, done func(), err error) {
	done = func() {
		for _, t := range nodes {
			t.NS.Close()
		}
	}
	for _, n := range l.order {
		if ip := n.IP(); ip != "" {
			ns, err := n.Open()
			if err != nil {
				done()
				return nil, nil, err
			}
			nodes = append(nodes, PingTarget{Name: n.Name, IP: ip, NS: ns})
		}
	}
	return nodes, done, nil
}

// makeDir makes the lab's directory (dir, or one of its own under
// LabsDir()) and marks it as this process's running lab.
func (l *Lab) makeDir(dir string) error {
	if dir == "" {
		d, err := l.mkdirOwn()
		if err != nil {
			return err
		}
		dir, l.ownDir = d, true
		l.dir = d // Close removes it, whatever fails next
		l.note("dir", d)
		if wantTmpfs(d) {
			if err := l.mountTmpfs(d); err != nil {
				return err
			}
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	l.dir = dir
	return WriteLabMarker(dir, l.name, os.Getpid())
}

// mkdirOwn makes the lab's own directory under LabsDir(). Another nsh of
// the same user closing its last lab removes the labs directory
// (TidyLabsDir) when it is empty, which it may be between LabsDir making it
// (or checking it) and MkdirTemp making ours in it: then it is made again.
func (l *Lab) mkdirOwn() (string, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		labs, err := LabsDir()
		d := ""
		if err == nil {
			d, err = os.MkdirTemp(labs, l.name+".")
		}
		if err == nil || !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return d, err
		}
		// a random pause: a tidier that keeps winning (TestLabDirRace's
		// loop, on a loaded machine) falls out of step with us
		time.Sleep(time.Duration(rand.IntN(100)) * time.Microsecond)
	}
}

// removeDir removes the lab's files: its own directory whole (and the labs
// directory when it was the last), or only what the lab wrote into a
// directory it was given.
func (l *Lab) removeDir() error {
	if l.dir == "" {
		return nil
	}
	if l.ownDir {
		if l.tmpfs {
			if err := l.umountTmpfs(); err != nil {
				return err
			}
		}
		err := os.RemoveAll(l.dir)
		TidyLabsDir()
		return err
	}
	var errs []error
	for _, n := range l.order {
		if err := os.RemoveAll(n.dir); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []string{"hosts", LabMarker} {
		if err := os.Remove(filepath.Join(l.dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// hostsPath is the shared hosts file, DIR/hosts.
func (l *Lab) hostsPath() string { return filepath.Join(l.dir, "hosts") }

// writeHosts refreshes the shared hosts file in place when a node has it.
func (l *Lab) writeHosts() error {
	if !l.hosts {
		return nil
	}
	return WriteHosts(l.hostsPath(), l.Desc().Nodes)
}

// pinRefused: /run/netns cannot be written or mounted on here. A name
// that exists there answers EEXIST before the kernel checks the
// directory's permission (open(O_CREAT|O_EXCL) finds the file first), so
// EEXIST counts as refused where this process may not write /run/netns
// anyway (an ordinary user while root's lab of that name runs).
func pinRefused(err error) bool {
	if errors.Is(err, unix.EEXIST) {
		return unix.Access(runNetns, unix.W_OK) != nil
	}
	return errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS)
}

// HeldFds are the descriptors of namespaces the lab holds open, and what
// each is: the hub's (unless NoOuter: the caller's own namespace) and each
// node kept with Keep. A node's namespaces are otherwise held only by its
// processes and pin.
func (l *Lab) HeldFds() map[int]string {
	m := map[int]string{}
	if l.closed {
		return m
	}
	if l.ownOuter {
		m[l.outer.Fd()] = "lab " + l.name + "'s hub (outer namespace)"
	}
	for _, n := range l.order {
		if n.kept != nil {
			why := "keep=true"
			if n.holder == nil {
				why = "holders=false"
			}
			m[n.kept.Fd()] = "lab " + l.name + " node " + n.Name + " (" + why + ")"
		}
	}
	return m
}

// IPv6 says whether IPv6 is on in the lab's namespaces (LabOptions.NoIPv6).
func (l *Lab) IPv6() bool { return l.ipv6 }
