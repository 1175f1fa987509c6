package sigs

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"unsafe"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// The Go runtime installs a handler for every signal at start and runs it
// on whichever of its threads the kernel picks. nsh sets a disposition as
// a single-threaded C program would see it:
//
//   - a handler: Go's handler, with os/signal delivering the signal to a
//     channel (Catch); the caller runs its Lua function between Lua
//     instructions, never inside the Go handler.
//   - ignore: signal.Ignore, which sets SIG_IGN and tells Go so, so that
//     a program nsh starts inherits SIG_IGN across execve (Go resets only
//     the signals it handles).
//   - default: SIG_DFL with rt_sigaction(2), Go's handler kept aside for a
//     later handler. (signal.Reset would leave Go's handler in place.)

// ErrReserved is a signal nsh's Go runtime needs for itself.
var ErrReserved = errors.New("reserved by nsh's Go runtime")

// Reserved says why nsh cannot give sig to a script, "" when it can.
func Reserved(sig unix.Signal) string {
	switch sig {
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP, unix.SIGSTKFLT, unix.SIGSYS:
		return "the Go runtime turns this fault into a panic or a crash report"
	case unix.SIGURG:
		return "the Go runtime preempts goroutines with SIGURG"
	case unix.SIGPROF:
		return "the Go runtime's profiler owns SIGPROF"
	case 32, 33, 34:
		return "the Go runtime (and C libraries) use signals 32-34 between threads"
	}
	return ""
}

// Disposition is what a script asked for a signal.
type Disposition int

const (
	Default Disposition = iota
	Ignore
	Handle
)

var sigactionRules = kerr.Rules{
	{Errno: unix.EINVAL, Rule: "SIGKILL and SIGSTOP cannot be caught, blocked or ignored, and signals are 1..64 (sigaction(2))"},
}

type kernelSigaction [4]uint64 // struct sigaction: handler, flags, restorer, mask (64-bit ABIs)

// goHandlers are Go's sigactions set aside by SetDefault, given back by SetHandle.
var goHandlers = struct {
	mu  sync.Mutex
	act map[unix.Signal]kernelSigaction
}{act: map[unix.Signal]kernelSigaction{}}

func sigaction(sig unix.Signal, act, old *kernelSigaction) error {
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Check asks the kernel whether sig can have a disposition set: for
// SIGKILL and SIGSTOP rt_sigaction(2) answers EINVAL (and changes nothing).
func Check(sig unix.Signal) error {
	if sig == unix.SIGKILL || sig == unix.SIGSTOP || sig < 1 || sig > MaxSignal {
		var dfl kernelSigaction
		err := sigaction(sig, &dfl, nil)
		if err == nil {
			err = unix.EINVAL // not reached on Linux: do_sigaction refuses these
		}
		return kerr.New(fmt.Sprintf("sigaction(%s)", Name(sig)), err, sigactionRules)
	}
	if why := Reserved(sig); why != "" {
		return fmt.Errorf("%s: %w: %s", Name(sig), ErrReserved, why)
	}
	return nil
}

// SetDefault gives sig SIG_DFL, keeping Go's handler aside.
func SetDefault(sig unix.Signal) error {
	if err := Check(sig); err != nil {
		return err
	}
	goHandlers.mu.Lock()
	defer goHandlers.mu.Unlock()
	var dfl, old kernelSigaction
	if err := sigaction(sig, &dfl, &old); err != nil {
		return kerr.New(fmt.Sprintf("sigaction(%s, SIG_DFL)", Name(sig)), err, sigactionRules)
	}
	if old[0] > 1 { // neither SIG_DFL (0) nor SIG_IGN (1): Go's handler
		goHandlers.act[sig] = old
	}
	return nil
}

// SetIgnore gives sig SIG_IGN (inherited by the programs nsh starts).
func SetIgnore(sig unix.Signal) error {
	if err := Check(sig); err != nil {
		return err
	}
	if sig == unix.SIGCHLD {
		return fmt.Errorf("SIGCHLD: %w: SIG_IGN for SIGCHLD has the kernel reap children at once (no zombie), and nsh waits for its children", ErrReserved)
	}
	signal.Ignore(sig)
	return nil
}

// SetHandle gives sig Go's handler and has os/signal deliver it to ch.
func SetHandle(sig unix.Signal, ch chan<- os.Signal) error {
	if err := Check(sig); err != nil {
		return err
	}
	goHandlers.mu.Lock()
	defer goHandlers.mu.Unlock()
	signal.Notify(ch, sig) // installs Go's handler if Go had let go of sig (after Ignore)
	if act, ok := goHandlers.act[sig]; ok {
		// Go still counts sig as its own (SetDefault went behind its back),
		// so Notify did not put the handler back.
		if err := sigaction(sig, &act, nil); err != nil {
			return kerr.New(fmt.Sprintf("sigaction(%s)", Name(sig)), err, sigactionRules)
		}
		delete(goHandlers.act, sig)
	}
	return nil
}

// Current is the kernel's disposition of sig now (rt_sigaction with no new action).
func Current(sig unix.Signal) (Disposition, error) {
	var old kernelSigaction
	if err := sigaction(sig, nil, &old); err != nil {
		return 0, kerr.New(fmt.Sprintf("sigaction(%s)", Name(sig)), err, sigactionRules)
	}
	switch old[0] {
	case 0:
		return Default, nil
	case 1:
		return Ignore, nil
	}
	return Handle, nil
}

// ResetToDefault is SetDefault for signals of the re-executed child's start,
// errors ignored (nsproc's asInitSignals).
func ResetToDefault(list ...unix.Signal) {
	for _, sig := range list {
		SetDefault(sig)
	}
}
