package mounts

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"nsh/runtime/cleanup"
	"nsh/runtime/nsproc"
)

// Undo is the mount undo policy of one nsh session. A mount made while the
// calling thread is in the mount namespace the session started in (the
// host's, typically) outlives the session, so it is registered and
// unmounted when the session ends; a mount made in any other mount namespace
// (one the script unshared, a child's) vanishes with that namespace and is
// not registered. A child nsh whose clone made its mount namespace started
// in a disposable one: its mounts there are not registered either (so they
// stay through sys.exec, as the kernel keeps them), unless the new mount is
// shared, when a peer may have received a copy in a namespace that outlives
// the child (those are still undone when the child's session ends). A mount the user unmounts or moves away by hand is not
// unmounted again. Which mounts are undone is decided in one place, mustUndo.
type Undo struct {
	reg      *cleanup.Registry
	inHome   func() bool  // is the calling thread in the home mount namespace?
	goHome   func() error // move the calling thread back there
	child    bool
	ownNS    bool                       // a child nsh in a mount namespace its clone made
	byTarget map[string][]*cleanup.Item // registered undos by absolute target, oldest first
}

// NewUndo is the policy for a session whose undos go to reg and whose
// starting namespaces home holds. child says the session is a child nsh
// (ns.clone): the mount namespace it started in is the one its parent
// gave it.
func NewUndo(reg *cleanup.Registry, home *nsproc.Home, child bool) *Undo {
	return &Undo{
		reg: reg,
		inHome: func() bool {
			cur, err := nsproc.ID(0, "mnt")
			return err != nil || cur == home.IDs()["mnt"]
		},
		goHome:   func() error { return home.RestoreSet(nsproc.Mnt) },
		child:    child,
		ownNS:    child && nsproc.CreatedByClone().Has(nsproc.Mnt),
		byTarget: map[string][]*cleanup.Item{},
	}
}

// InHome says whether the calling thread is still in the mount namespace
// the session started in (when that cannot be read: yes, the safe answer).
func (u *Undo) InHome() bool { return u.inHome() }

// mustUndo is the policy: the mount just made at abs outlives the session.
func (u *Undo) mustUndo(abs string) bool {
	if !u.inHome() {
		return false
	}
	if !u.ownNS {
		return true
	}
	return mayPropagateOut(abs)
}

// mayPropagateOut: the newest mount at abs is shared (a mount made under a
// shared mount joins its peer group), so its peers, possibly in other mount
// namespaces, got copies; when the table cannot be read, yes.
func mayPropagateOut(abs string) bool {
	t, err := List(0)
	if err != nil {
		return true
	}
	for i := len(t) - 1; i >= 0; i-- {
		if t[i].Target == abs {
			return t[i].Shared != 0
		}
	}
	return true
}

// Mounted records a mount just made at target (relative to the working
// directory, or absolute).
func (u *Undo) Mounted(target string) {
	abs := absPath(target)
	if !u.mustUndo(abs) {
		return
	}
	var it *cleanup.Item
	it = u.reg.Add("mount "+abs, func() error {
		if !u.inHome() {
			if err := u.goHome(); err != nil {
				return err
			}
		}
		u.drop(abs, it)
		return Umount(abs, true, false)
	}, cleanup.Record{Kind: "mount", Path: abs, NS: cleanup.ThreadNS("mnt")})
	u.byTarget[abs] = append(u.byTarget[abs], it)
}

// Unmounted records that the user unmounted target by hand: the newest
// registered mount there is not unmounted again.
func (u *Undo) Unmounted(target string) {
	abs := absPath(target)
	l := u.byTarget[abs]
	if len(l) == 0 || !u.inHome() {
		return
	}
	l[len(l)-1].Forget()
	u.byTarget[abs] = l[:len(l)-1]
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
		if x == it {
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
