package mounts

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"nsh/runtime/cleanup"
	"nsh/runtime/nsproc"
)

// Undo is the mount undo policy of one nsh session. A mount outlives the
// session when it is in a mount namespace that outlives it (outer: the one
// nsh started in; for a child nsh (ns.clone), also those of its parents):
// such a mount is recorded, by its unique mount id, and unmounted when the
// outermost session ends (a child hands it over instead of unmounting it,
// as the kernel keeps what a process mounted when it ends). A mount made in
// any other mount namespace (one the script unshared, a child's own)
// vanishes with that namespace and is not recorded — unless it is shared
// (made under a shared mount): then propagation gave copies to the peers,
// which may be in the outer namespaces; those copies are recorded, by peer
// group and filesystem, and undone at the end as well. A mount the user
// unmounts or moves away by hand is not unmounted again. Which mounts are
// recorded is decided in one place, records.
type Undo struct {
	reg      *cleanup.Registry
	inHome   func() bool  // is the calling thread in the home mount namespace?
	goHome   func() error // move the calling thread back there
	child    bool
	home     uint64                // the home mount namespace's inode
	outer    []uint64              // the mount namespaces that outlive the session
	byTarget map[string][]mountReg // registered undos by absolute target, oldest first
}

type mountReg struct {
	it *cleanup.Item
	ns uint64 // the mount namespace the mount was made in
}

// NewUndo is the policy for a session whose undos go to reg and whose
// starting namespaces home holds. child says the session is a child nsh
// (ns.clone): the mount namespace it started in is the one its parent
// gave it. outer are the mount namespaces (inodes) that outlive the
// session; none means the one it started in.
func NewUndo(reg *cleanup.Registry, home *nsproc.Home, child bool, outer []uint64) *Undo {
	if len(outer) == 0 {
		outer = []uint64{home.IDs()["mnt"]}
	}
	return &Undo{
		reg: reg,
		inHome: func() bool {
			cur, err := nsproc.ID(0, "mnt")
			return err != nil || cur == home.IDs()["mnt"]
		},
		goHome:   func() error { return home.RestoreSet(nsproc.Mnt) },
		child:    child,
		home:     home.IDs()["mnt"],
		outer:    outer,
		byTarget: map[string][]mountReg{},
	}
}

// OuterEnv carries, from an nsh to the child nsh it starts, the mount
// namespaces that outlive the child: a list of inodes.
const OuterEnv = "NSH_OUTER_MNT"

// FormatOuter is the value of OuterEnv for a child started from the
// calling thread: these outer namespaces and the thread's own.
func (u *Undo) FormatOuter() string {
	list := append([]uint64(nil), u.outer...)
	if cur := cleanup.ThreadNS("mnt"); cur != 0 && !has(list, cur) {
		list = append(list, cur)
	}
	parts := make([]string, len(list))
	for i, v := range list {
		parts[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(parts, ",")
}

// ParseOuter reads a value of OuterEnv.
func ParseOuter(v string) []uint64 {
	var out []uint64
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.ParseUint(f, 10, 64); err == nil && n != 0 {
			out = append(out, n)
		}
	}
	return out
}

func has(l []uint64, v uint64) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// Outer says whether namespace ino outlives the session.
func (u *Undo) Outer(ino uint64) bool { return has(u.outer, ino) }

// InHome says whether the calling thread is still in the mount namespace
// the session started in (when that cannot be read: yes, the safe answer).
func (u *Undo) InHome() bool { return u.inHome() }

// records is the policy: what the journal must hold of the mount just
// made at abs, nothing when it vanishes with a namespace of nsh's own.
func (u *Undo) records(abs string) []cleanup.Record {
	cur := cleanup.ThreadNS("mnt")
	if cur == 0 || u.Outer(cur) {
		return []cleanup.Record{Record(abs)}
	}
	var outer []uint64
	for _, ns := range u.outer {
		if ns != cur {
			outer = append(outer, ns)
		}
	}
	return CopyRecords(abs, outer)
}

// Mounted records a mount just made at target (relative to the working
// directory, or absolute).
func (u *Undo) Mounted(target string) {
	abs := absPath(target)
	recs := u.records(abs)
	if len(recs) == 0 {
		return
	}
	ns := cleanup.ThreadNS("mnt")
	var it *cleanup.Item
	it = u.reg.Add("mount "+abs, func() error {
		u.drop(abs, it)
		return u.undo(recs)
	}, recs...)
	u.byTarget[abs] = append(u.byTarget[abs], mountReg{it, ns})
}

// undo unmounts what recs prove, in the mount namespaces the calling
// thread can reach (its own, the home one); what is in others stays in the
// journal's care (runtime/leftover).
func (u *Undo) undo(recs []cleanup.Record) error {
	for _, r := range recs {
		cur := cleanup.ThreadNS("mnt")
		if r.NS != 0 && r.NS != cur {
			if r.NS != u.home || u.goHome() != nil {
				continue
			}
		}
		if _, err := UnmountRecorded(r); err != nil {
			return err
		}
	}
	return nil
}

// Unmounted records that the user unmounted target by hand: the newest
// mount registered there from this mount namespace is not unmounted again.
func (u *Undo) Unmounted(target string) {
	abs := absPath(target)
	l := u.byTarget[abs]
	cur := cleanup.ThreadNS("mnt")
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].ns == cur {
			l[i].it.Forget()
			u.byTarget[abs] = append(l[:i:i], l[i+1:]...)
			return
		}
	}
}

// Moved records that the mount at from now is at to.
func (u *Undo) Moved(from, to string) {
	u.Unmounted(from)
	u.Mounted(to)
}

// MountCall records what a mount(2) call with these flag words (see
// ParseFlags) did, the way the kernel reads the flags (path_mount): a
// remount or a propagation change makes no new mount, MS_MOVE moves one,
// anything else (a new filesystem, a bind) makes one at target.
func (u *Undo) MountCall(source, target, flags string) {
	f, _, err := ParseFlags(flags)
	if err != nil {
		return
	}
	switch {
	case f&unix.MS_REMOUNT != 0:
	case f&unix.MS_BIND != 0:
		u.Mounted(target)
	case f&(unix.MS_SHARED|unix.MS_PRIVATE|unix.MS_SLAVE|unix.MS_UNBINDABLE) != 0:
	case f&unix.MS_MOVE != 0:
		u.Moved(source, target)
	default:
		u.Mounted(target)
	}
}

// ErrHomeRoot refuses a change of the root (pivot_root, a container set-up)
// in the mount namespace the session started in.
var ErrHomeRoot = errors.New("refused in the mount namespace nsh started in (it would change the root of every process there)")

// CheckRootChange is ErrHomeRoot when the calling thread is in the mount
// namespace the session started in, unless the session is a child nsh.
func (u *Undo) CheckRootChange() error {
	if u.inHome() && !u.child {
		return ErrHomeRoot
	}
	return nil
}

// FromHome runs fn; when it fails outside the home mount namespace (mounts
// of the script's own namespace may cover what fn works on), it returns the
// thread home and runs fn there once more. For undos at the session's end.
func (u *Undo) FromHome(fn func() error) error {
	err := fn()
	if err != nil && !u.inHome() {
		if herr := u.goHome(); herr == nil {
			err = fn()
		}
	}
	return err
}

// drop removes it from the registrations of abs (it is being undone).
func (u *Undo) drop(abs string, it *cleanup.Item) {
	l := u.byTarget[abs]
	for i, x := range l {
		if x.it == it {
			u.byTarget[abs] = append(l[:i:i], l[i+1:]...)
			return
		}
	}
}

// absPath is target made absolute against the working directory.
func absPath(target string) string {
	if filepath.IsAbs(target) {
		return filepath.Clean(target)
	}
	if wd, err := os.Getwd(); err == nil {
		return filepath.Join(wd, target)
	}
	return target
}
