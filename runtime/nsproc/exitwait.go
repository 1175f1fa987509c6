package nsproc

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Each child has one pidfd of nsh's (besides the one Go's os package keeps
// for its own wait), opened before anything can reap the child and closed
// once reap() has: the reaper waits on it in Go's poller, and callers that
// must name the child without a pid that could be recycled use it
// (UsePidfd). A thousand lab nodes' holders are a thousand children, and
// every fork copies nsh's descriptor table and every exec closes the
// copy's close-on-exec descriptors: one pidfd a child, not two.

// openPidfd opens the child's pidfd (non-blocking: Go's poller waits on
// it). Call it before reap starts: until reaped, the pid is the child's.
func (p *Process) openPidfd() {
	fd, err := unix.PidfdOpen(p.Pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return // no pidfds: reap's wait blocks its thread, UsePidfd says so
	}
	p.pidf = os.NewFile(uintptr(fd), "pidfd")
}

// closePidfd closes the pidfd once the child is reaped (while no UsePidfd
// runs).
func (p *Process) closePidfd() {
	p.pidMu.Lock()
	defer p.pidMu.Unlock()
	if p.pidf != nil {
		p.pidf.Close()
		p.pidf = nil
	}
}

// ErrNoPidfd: the kernel gave no pidfd for the child (before Linux 5.3).
var ErrNoPidfd = errors.New("no pidfd for the child (pidfd_open(2) needs Linux 5.3)")

// UsePidfd runs fn with a pidfd of the child while nsh has not reaped it
// (so it names this child, never a process that took its pid after),
// os.ErrProcessDone once reaped. fn must not keep the descriptor.
func (p *Process) UsePidfd(fn func(pidfd int) error) error {
	p.pidMu.RLock()
	defer p.pidMu.RUnlock()
	if p.pidf == nil {
		if !p.Alive() {
			return os.ErrProcessDone
		}
		return ErrNoPidfd
	}
	rc, err := p.pidf.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// awaitExit blocks the calling goroutine until the child has exited (it
// is a zombie, not yet reaped), without holding an OS thread: the kernel
// makes the pidfd readable when the process ends, and Go's poller (epoll)
// waits for that. A wait(2) blocks the thread that calls it, and Go gives
// every goroutine blocked in a system call a thread of its own: a thousand
// lab nodes' holders waited for by waitid were a thousand threads of nsh.
// The caller reaps the child afterwards (exec.Cmd.Wait, os.Process.Wait),
// which then returns at once. Where the kernel cannot say (no pidfd, not
// pollable), awaitExit returns early and the caller's wait blocks.
func (p *Process) awaitExit() {
	p.pidMu.RLock()
	f := p.pidf
	p.pidMu.RUnlock()
	if f == nil {
		return
	}
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
