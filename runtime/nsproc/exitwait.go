package nsproc

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// awaitExit blocks the calling goroutine until the child pid has exited
// (it is a zombie, not yet reaped), without holding an OS thread: it
// waits for the child's pidfd to become readable, which the kernel makes
// it when the process ends, in Go's poller (epoll). A wait(2) blocks the
// thread that calls it, and Go gives every goroutine blocked in a system
// call a thread of its own: a thousand lab nodes' holders waited for by
// waitid would be a thousand threads of nsh. The caller reaps the child
// afterwards (exec.Cmd.Wait, os.Process.Wait), which then returns at once.
// Where the kernel cannot say (no pidfd, not pollable), awaitExit returns
// early and the caller's wait blocks as before.
func awaitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Read(func(fd uintptr) bool {
		// exited? WNOWAIT leaves the zombie to the caller's wait
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
			return true // cannot tell: the caller's wait decides
		}
		return siginfoPid(&info) != 0 // 0: still running, wait for readability
	})
}

// siginfoPid is si_pid of a siginfo_t that waitid(2) filled (offset 16 on
// every Linux ABI Go supports: three ints, then the union's pid_t).
func siginfoPid(info *unix.Siginfo) int32 {
	return *(*int32)(unsafe.Pointer(uintptr(unsafe.Pointer(info)) + 16))
}
