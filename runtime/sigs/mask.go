package sigs

import (
	"fmt"
	"time"
	"unsafe"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

var maskRules = kerr.Rules{
	{Errno: unix.EINVAL, Rule: "how must be SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK (sigprocmask(2))"},
}

func checkMask(set Set) error {
	for _, sig := range set.List() {
		if why := Reserved(sig); why != "" {
			return fmt.Errorf("%s: %w: %s", Name(sig), ErrReserved, why)
		}
	}
	return nil
}

// Blocked is the calling thread's blocked set.
func Blocked() (Set, error) {
	var old uint64
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		return 0, kerr.New("sigprocmask", e, maskRules)
	}
	return Set(old), nil
}

// Pending is sigpending(2): the blocked signals waiting for the calling
// thread or for the process.
func Pending() (Set, error) {
	var set uint64
	if _, _, e := unix.RawSyscall(unix.SYS_RT_SIGPENDING, uintptr(unsafe.Pointer(&set)), 8, 0); e != 0 {
		return 0, kerr.New("sigpending", e, nil)
	}
	return Set(set), nil
}

// Info is what rt_sigtimedwait(2) tells of a signal, as this process sees it.
type Info struct {
	Signo int
	Code  int // si_code: SI_USER 0 (kill), SI_QUEUE -1, SI_TKILL -6, SI_KERNEL 128, ...
	Pid   int // si_pid: the sender in this process's PID namespace, 0 if it is not in it
	Uid   int // si_uid: the sender's real uid in this process's user namespace (the overflow uid if unmapped)
}

// CodeName is si_code as the kernel's headers spell it.
func (i Info) CodeName() string {
	switch i.Code {
	case 0:
		return "SI_USER"
	case 0x80:
		return "SI_KERNEL"
	case -1:
		return "SI_QUEUE"
	case -2:
		return "SI_TIMER"
	case -3:
		return "SI_MESGQ"
	case -4:
		return "SI_ASYNCIO"
	case -5:
		return "SI_SIGIO"
	case -6:
		return "SI_TKILL"
	}
	if i.Signo == int(unix.SIGCHLD) {
		switch i.Code {
		case 1:
			return "CLD_EXITED"
		case 2:
			return "CLD_KILLED"
		case 3:
			return "CLD_DUMPED"
		case 4:
			return "CLD_TRAPPED"
		case 5:
			return "CLD_STOPPED"
		case 6:
			return "CLD_CONTINUED"
		}
	}
	return fmt.Sprintf("%d", i.Code)
}

var waitRules = kerr.Rules{
	{Errno: unix.EINVAL, Rule: "the timeout must be valid (sigtimedwait(2))"},
}

// WaitOnce is one rt_sigtimedwait(2) of at most d on the calling thread
// (which must be locked); ok is false when d passed.
func WaitOnce(set Set, d time.Duration) (info Info, ok bool, err error) {
	mask := uint64(set)
	ts := unix.NsecToTimespec(d.Nanoseconds())
	var si unix.Siginfo
	r, _, e := unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&mask)), uintptr(unsafe.Pointer(&si)), uintptr(unsafe.Pointer(&ts)), 8, 0, 0)
	switch e {
	case 0:
	case unix.EAGAIN, unix.EINTR: // EINTR: the Go runtime's own signals (SIGURG); try again
		return Info{}, false, nil
	default:
		return Info{}, false, kerr.New("sigtimedwait", e, waitRules)
	}
	// siginfo_t: si_signo, si_errno, si_code (3 ints), padding, then for
	// kill(2) and sigqueue(3) si_pid, si_uid at offset 16 (64-bit ABIs).
	b := (*[128]byte)(unsafe.Pointer(&si))
	info = Info{
		Signo: int(r),
		Code:  int(si.Code),
		Pid:   int(*(*int32)(unsafe.Pointer(&b[16]))),
		Uid:   int(*(*uint32)(unsafe.Pointer(&b[20]))),
	}
	return info, true, nil
}

func ptr[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }
