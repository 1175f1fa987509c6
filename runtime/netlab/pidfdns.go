package netlab

import "golang.org/x/sys/unix"

// pidfdNSIoctl are the pidfs ioctls that open a process's namespace from
// its pidfd (linux/pidfd.h, Linux 6.11: _IO(PIDFS_IOCTL_MAGIC 0xFF, nr)),
// by nsproc type name. They reach the holder's namespaces without /proc,
// whose PID numbers need not be nsh's (an nsh that is PID 1 of a PID
// namespace whose /proc is its parent's), and without a pid that could be
// recycled.
func pidfdNSIoctl(t string) (req uint, known bool) {
	switch t {
	case "cgroup":
		return 0xFF01, true
	case "ipc":
		return 0xFF02, true
	case "mnt":
		return 0xFF03, true
	case "net":
		return 0xFF04, true
	case "pid":
		return 0xFF05, true
	case "time":
		return 0xFF07, true
	case "user":
		return 0xFF09, true
	case "uts":
		return 0xFF0A, true
	}
	return 0, false
}

// openByPidfd opens the namespace of type t of the process pidfd names;
// ok is false where the kernel has no such ioctl (before 6.11: ENOTTY or
// EINVAL), so that the caller falls back to /proc.
func openByPidfd(pidfd int, t string) (fd int, ok bool, err error) {
	req, known := pidfdNSIoctl(t)
	if !known || pidfd < 0 {
		return -1, false, nil
	}
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(pidfd), uintptr(req), 0)
	switch e {
	case 0:
		return int(r), true, nil
	case unix.ENOTTY, unix.EINVAL:
		return -1, false, nil
	}
	return -1, true, e
}
