package mounts

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
	"nsh/runtime/nsproc"
)

// The protections a container gets after its mounts, as production runtimes
// give them (runc, crun, Docker's defaults): they are what keeps the
// container's root from undoing its masks, loading modules or reaching the
// host through a descriptor it inherited. Each can be turned off by name
// (Container.Unsafe) to show, in a lesson, what it stops.
const (
	ProtectFDs        = "fds"          // descriptors above 2 are closed on execve (runc CVE-2024-21626)
	ProtectCaps       = "caps"         // only DefaultCaps stay, in every set; ambient cleared
	ProtectNoNewPrivs = "no_new_privs" // execve never grants privileges (setuid bits, file capabilities)
	ProtectSeccomp    = "seccomp"      // the calls of SeccompDenied fail with EPERM
)

// Protections are the names Container.Unsafe accepts, in the order the
// steps run.
var Protections = []string{ProtectFDs, ProtectCaps, ProtectNoNewPrivs, ProtectSeccomp}

// DefaultCaps are the capabilities a container keeps: Docker's default set
// (moby's oci/caps defaults, what `docker run` gives; runc's own `runc spec`
// example keeps only CAP_AUDIT_WRITE, CAP_KILL and CAP_NET_BIND_SERVICE).
// CAP_SYS_ADMIN (mount, umount, sethostname, ...), CAP_SYS_MODULE,
// CAP_SYS_PTRACE, CAP_NET_ADMIN, CAP_SYS_TIME, CAP_SYS_BOOT and the rest are
// gone.
var DefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// defaultCapMask is DefaultCaps as bits (TestDefaultCapMask checks that
// they agree).
const defaultCapMask uint64 = 1<<unix.CAP_CHOWN | 1<<unix.CAP_DAC_OVERRIDE | 1<<unix.CAP_FSETID |
	1<<unix.CAP_FOWNER | 1<<unix.CAP_MKNOD | 1<<unix.CAP_NET_RAW |
	1<<unix.CAP_SETGID | 1<<unix.CAP_SETUID | 1<<unix.CAP_SETFCAP |
	1<<unix.CAP_SETPCAP | 1<<unix.CAP_NET_BIND_SERVICE |
	1<<unix.CAP_SYS_CHROOT | 1<<unix.CAP_KILL | 1<<unix.CAP_AUDIT_WRITE

// SeccompDenied are the system calls the default filter refuses with EPERM:
// the ones Docker's default profile (moby/profiles/seccomp) and runc/crun
// with it allow only with CAP_SYS_ADMIN or never, grouped by what they would
// give a container's root, the groups sorted by name (the order of the
// filter's comparisons).
var SeccompDenied = []SeccompGroup{
	{"attack surface (kernel exploits' favourites)", []string{"perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register"}},
	{"kernel code and its images", []string{"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "bpf", "create_module"}},
	{"kernel state and the machine", []string{"reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "_sysctl", "uselib", "ustat", "sysfs", "nfsservctl", "ioperm", "iopl", "lookup_dcookie"}},
	{"mounts (undo masks, mount a fresh proc)", []string{"mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr"}},
	{"namespaces (new user namespaces give back every capability)", []string{"unshare", "setns"}},
	{"other processes' memory and files by handle", []string{"open_by_handle_at", "name_to_handle_at", "process_vm_readv", "process_vm_writev", "kcmp"}},
	{"the clock (one for the whole host)", []string{"settimeofday", "clock_settime", "clock_adjtime", "adjtimex"}},
	{"the kernel keyring (not namespaced)", []string{"keyctl", "add_key", "request_key"}},
}

// SeccompGroup is a group of SeccompDenied: what the calls would give, and
// the calls.
type SeccompGroup struct {
	Gives string
	Calls []string
}

// cloneNamespaceFlags are the clone(2) flags the filter refuses (every
// CLONE_NEW* type): clone3 keeps its flags in memory a filter cannot read,
// so it is let through, as a Lua function's own process starts need it
// (Go uses clone3 for pidfds); the namespaces it could create still need the
// capabilities that are gone, except a user namespace, in which the other
// calls of the filter stay refused.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// validateUnsafe checks the names of Container.Unsafe.
func validateUnsafe(names []string) error {
	for _, n := range names {
		ok := false
		for _, p := range Protections {
			ok = ok || n == p
		}
		if !ok {
			return fmt.Errorf("unsafe: %q is not a protection (valid: %s)", n, strings.Join(Protections, ", "))
		}
	}
	return nil
}

// Protected says whether protection p is on (not in c.Unsafe).
func (c Container) Protected(p string) bool {
	for _, n := range c.Unsafe {
		if n == p {
			return false
		}
	}
	return true
}

// closeFDs marks every descriptor above 2 close-on-exec
// (close_range(3, ~0, CLOSE_RANGE_CLOEXEC)): nothing nsh inherited (a
// directory of the host, a file) reaches the program. The child's own
// descriptors stay usable until execve.
func closeFDs(s *setup) error {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		if err != unix.ENOSYS && err != unix.EINVAL {
			return kerr.Newf(err, nil, "close_range(3, ~0, CLOSE_RANGE_CLOEXEC)")
		}
		// before Linux 5.11: mark them one by one
		ents, rerr := os.ReadDir("/proc/self/fd")
		if rerr != nil {
			return kerr.Newf(rerr, nil, "reading /proc/self/fd (close_range is missing: %v)", err)
		}
		for _, e := range ents {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				unix.CloseOnExec(fd)
			}
		}
	}
	return nil
}

var capRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "dropping from the bounding set needs CAP_SETPCAP, and capset may only lower the permitted set (or raise inheritable within the bounding set)"},
}

// allThreads runs a per-thread call (prctl, capset) on every thread of the
// process, so a Lua function running in the container has no thread left
// with the old privileges. In a re-executed child that executes a program
// after its set-up (nsproc.ExecsAfterSetup), the calling thread is enough:
// it is the one that calls execve, which ends every other thread, so the
// program has exactly its credentials (and stopping the world for each
// call was a tenth of a container's start). A binary linked with cgo
// cannot reach every thread (ENOTSUP): then the calling thread, which is
// the one that executes the program, is done.
func allThreads(trap, a1, a2, a3 uintptr) error {
	var e syscall.Errno
	if nsproc.ExecsAfterSetup() {
		runtime.LockOSThread() // the thread that executes the program; never undone
		_, _, e = syscall.RawSyscall(trap, a1, a2, a3)
	} else {
		_, _, e = syscall.AllThreadsSyscall(trap, a1, a2, a3)
		if e == syscall.ENOTSUP {
			_, _, e = syscall.RawSyscall(trap, a1, a2, a3)
		}
	}
	if e != 0 {
		return e
	}
	return nil
}

// dropCaps keeps only DefaultCaps: each other capability is dropped from the
// bounding set (no execve can bring it back), then permitted, effective and
// inheritable become DefaultCaps (what of them the process has) and the
// ambient set is cleared, on every thread.
func dropCaps(s *setup) error {
	keep := defaultCapMask
	// The bounding set is cut on the calling thread only (below): it must
	// stay the thread that forks and executes. nsh's Lua thread and a
	// child's main thread are locked for life already; this lock is never
	// undone.
	runtime.LockOSThread()
	// Every capability the kernel knows, up to the first number it calls
	// invalid (EINVAL: above cap_last_cap), without reading
	// /proc/sys/kernel/cap_last_cap.
	for c := uint(0); c < 64; c++ {
		if keep&(1<<c) != 0 {
			continue
		}
		// this thread only: the bounding set matters at execve, and nsh
		// forks and executes from this thread alone; permitted and
		// effective are cut on every thread (capset below)
		_, _, e := syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0)
		if e == unix.EINVAL {
			break
		}
		if e != 0 {
			err := error(e)
			return kerr.Newf(err, capRules, "prctl(PR_CAPBSET_DROP, %d)", c)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return kerr.Newf(err, nil, "capget")
	}
	for i := range data {
		k := uint32(keep >> (32 * i))
		data[i].Permitted &= k
		data[i].Effective = data[i].Permitted
		data[i].Inheritable = data[i].Permitted
	}
	if err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); err != nil {
		return kerr.Newf(err, capRules, "capset(permitted=effective=inheritable=the default set)")
	}
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	if err := allThreads(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil && err != unix.EINVAL {
		return kerr.Newf(err, nil, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
	}
	return nil
}

// setNoNewPrivs sets no_new_privs: execve no longer honours setuid bits or
// file capabilities, and a seccomp filter may be loaded without
// CAP_SYS_ADMIN.
func setNoNewPrivs(s *setup) error {
	return kerr.Newf(allThreads(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0), nil, "prctl(PR_SET_NO_NEW_PRIVS, 1)")
}

var seccompRules = kerr.Rules{
	{Errno: unix.EACCES, Rule: "loading a seccomp filter needs no_new_privs or CAP_SYS_ADMIN in the caller's user namespace"},
	{Errno: unix.EINVAL, Rule: "the kernel refused the filter program or a flag (SECCOMP_FILTER_FLAG_TSYNC needs Linux 3.17)"},
}

// SeccompNames are the calls of SeccompDenied, group by group in the
// order of the groups' names: the order of the filter's comparisons.
func SeccompNames() []string {
	var names []string
	for _, g := range SeccompDenied {
		names = append(names, g.Calls...)
	}
	return names
}

// CloneNamespaceFlags are the clone(2) flags the default filter refuses.
const CloneNamespaceFlags = cloneNamespaceFlags

// loadSeccomp installs the default filter (every call allowed but those of
// SeccompDenied and clone(2) with a CLONE_NEW* flag, which fail with EPERM)
// on every thread (TSYNC). It is the last step: everything before it may
// still mount and unshare.
func loadSeccomp(s *setup) error {
	prog, err := seccompProgram()
	if err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if e != 0 {
		return kerr.New("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) [the default filter]", e, seccompRules)
	}
	return nil
}

// Confined says whether the calling process runs under a seccomp filter
// (Seccomp: 2 in /proc/self/status), as a container's protections leave it:
// an EPERM may then be the filter's, or a dropped capability's.
func Confined() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Seccomp:"); ok {
			return strings.TrimSpace(v) == "2"
		}
	}
	return false
}
