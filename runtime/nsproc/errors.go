package nsproc

import (
	"errors"
	"fmt"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// nsErr wraps a failure reading or opening namespace files.
func nsErr(call string, err error) error {
	return kerr.New(call, err, kerr.Rules{
		{Errno: unix.ENOENT, Rule: "no such process or namespace file (the process exited, or the kernel lacks this namespace type)"},
		{Errno: unix.EACCES, Rule: "reading another process's namespace files needs ptrace access to it (same uid and dumpable, or CAP_SYS_PTRACE)"},
		{Errno: unix.EPERM, Rule: "reading another process's namespace files needs ptrace access to it (same uid and dumpable, or CAP_SYS_PTRACE)"},
	})
}

var unshareRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "creating a namespace other than a user namespace needs CAP_SYS_ADMIN in the caller's user namespace"},
	{Errno: unix.EINVAL, Rule: "the kernel refused the flags: a namespace type this kernel was built without, or an invalid combination"},
	{Errno: unix.ENOSPC, Rule: "the limit on nested namespaces of this type was reached (/proc/sys/user/max_*_namespaces, or 32 levels of nesting)"},
	{Errno: unix.EUSERS, Rule: "32 levels of nested user namespaces is the kernel's limit"},
	{Errno: unix.ENOMEM, Rule: "the kernel could not allocate the namespace"},
}

// unsharePIDAgain is the rule of EINVAL for CLONE_NEWPID (copy_pid_ns): the
// flag is refused while the thread's pid_for_children is not its own PID
// namespace, that is after a first unshare(CLONE_NEWPID) or a setns(pid).
const unsharePIDAgain = "CLONE_NEWPID works once: after unshare(CLONE_NEWPID) or setns into a PID namespace, " +
	"this thread's children already go to another PID namespace than its own (pid_for_children), and the kernel " +
	"refuses a new one until pid_for_children is the thread's own PID namespace again"

// ErrPIDAgain marks unshare(CLONE_NEWPID) refused because the thread's
// children already go to another PID namespace.
var ErrPIDAgain = errors.New("children of this thread already go to a new PID namespace")

// unshareErr wraps a failed unshare(2) of types with the rule for them.
func unshareErr(types Set, err error) error {
	if errors.Is(err, unix.EINVAL) && types.Has(PID) {
		return &kerr.Error{Call: fmt.Sprintf("unshare(%s)", types), Errno: unix.EINVAL, Err: ErrPIDAgain, Rule: unsharePIDAgain}
	}
	return kerr.New(fmt.Sprintf("unshare(%s)", types), err, unshareRules)
}

var setnsRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "joining a namespace needs CAP_SYS_ADMIN in the user namespace that owns it (and in the caller's own user namespace)"},
	{Errno: unix.EINVAL, Rule: "the file is not a namespace of that type, or the kernel refuses the join: a PID namespace must be the caller's own or a descendant of it; a mount namespace needs an unshared fs (CLONE_FS); a user namespace cannot be joined by a multithreaded process"},
	{Errno: unix.EBADF, Rule: "the namespace file descriptor is not valid"},
	{Errno: unix.ENOMEM, Rule: "the kernel could not allocate memory for the join"},
	{Errno: unix.EUSERS, Rule: "joining a time namespace needs a single-threaded process (timens_install), which a Go program never is; " +
		"unshare(CLONE_NEWTIME) works, and applies to the children started next"},
}
