package nsproc

import (
	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// nsErr wraps a failure reading or opening namespace files.
func nsErr(call string, err error) error {
	return kerr.New(call, err, kerr.Rules{
		unix.ENOENT: "no such process or namespace file (the process exited, or the kernel lacks this namespace type)",
		unix.EACCES: "reading another process's namespace files needs ptrace access to it (same uid and dumpable, or CAP_SYS_PTRACE)",
		unix.EPERM:  "reading another process's namespace files needs ptrace access to it (same uid and dumpable, or CAP_SYS_PTRACE)",
	})
}

var unshareRules = kerr.Rules{
	unix.EPERM:  "creating a namespace other than a user namespace needs CAP_SYS_ADMIN in the caller's user namespace",
	unix.EINVAL: "the kernel refused this combination on a running thread: a user namespace can only be created by a single-threaded process",
	unix.ENOSPC: "the limit on nested namespaces of this type was reached (/proc/sys/user/max_*_namespaces, or 32 levels of nesting)",
	unix.EUSERS: "32 levels of nested user namespaces is the kernel's limit",
	unix.ENOMEM: "the kernel could not allocate the namespace",
}

var setnsRules = kerr.Rules{
	unix.EPERM:  "joining a namespace needs CAP_SYS_ADMIN in the user namespace that owns it (and in the caller's own user namespace)",
	unix.EINVAL: "the file is not a namespace of that type, or the kernel refuses the join: a PID namespace must be the caller's own or a descendant of it; a mount namespace needs an unshared fs (CLONE_FS); a user namespace cannot be joined by a multithreaded process",
	unix.EBADF:  "the namespace file descriptor is not valid",
	unix.ENOMEM: "the kernel could not allocate memory for the join",
	unix.EUSERS: "joining a time namespace needs a single-threaded process (timens_install), which a Go program never is; " +
		"unshare(CLONE_NEWTIME) works, and applies to the children started next",
}
