package nsproc

import (
	"errors"
	"fmt"
	"os"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// ErrUserInPlace explains why the running shell cannot enter a user namespace.
var ErrUserInPlace = errors.New("a user namespace cannot be created or joined in place: the kernel " +
	"demands a single-threaded process (EINVAL), and a Go program always has several threads; " +
	"only a new process can start in a new user namespace")

// Unshare moves the calling thread into new namespaces of the given types.
// The caller must be locked to its OS thread. "pid" and "time" apply to the
// children the thread forks next (pid_for_children), not to the thread itself.
func Unshare(types Set) error {
	if types.Has(User) {
		return &kerr.Error{Call: fmt.Sprintf("unshare(%s)", types), Errno: unix.EINVAL, Err: ErrUserInPlace, Rule: ErrUserInPlace.Error()}
	}
	if types.Has(PID) {
		primeBeforePIDNS()
	}
	flags := types.Flags()
	// CLONE_NEWNS implies CLONE_FS: the thread gets its own root and cwd,
	// which is also what lets a later setns into a mount namespace work.
	if flags&unix.CLONE_NEWNS != 0 {
		flags |= unix.CLONE_FS
	}
	err := unix.Unshare(int(flags))
	return unshareErr(types, err)
}

// primeForkCheck makes the Go runtime run, now, the one-time check it does
// before its first process start: os.checkPidfd forks a short-lived test
// child. Run after unshare(CLONE_NEWPID), that child would become PID 1 of
// the new namespace and exit at once, killing the namespace before the
// user's first child (whose fork then fails with ENOMEM).
func primeForkCheck() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Release()
	}
}

// primeBeforePIDNS runs, before the thread moves into a PID namespace, the
// one-time starts that would otherwise come after it: Go's fork check and
// the raw start's probe of RLIMIT_NOFILE (origNofile), either of which
// would become PID 1 of a new namespace and kill it by exiting.
func primeBeforePIDNS() {
	primeForkCheck()
	origNofile()
}
