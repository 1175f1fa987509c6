// Package sigs is the signal surface of nsh's scripts: signal names, the
// disposition of a signal (a handler, ignore, default) as far as a Go
// program can set it, the process's blocked set, sigpending(2) and
// rt_sigtimedwait(2) with the siginfo fields the namespace lessons read.
// It does not run Lua handlers: it tells its caller that a signal came
// (Catcher) and the caller runs the handler where it is safe.
package sigs

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxSignal is the kernel's _NSIG on the ABIs nsh runs on.
const MaxSignal = 64

// Parse reads "TERM", "SIGTERM", "term", "15", "RTMIN+2" or "SIGRTMAX".
// Numbers 1..64 are taken as the kernel takes them.
func Parse(s string) (unix.Signal, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(name); err == nil {
		return Number(n)
	}
	name = strings.TrimPrefix(name, "SIG")
	if rest, ok := strings.CutPrefix(name, "RTMIN"); ok {
		return rt(rest, 32, +1, s)
	}
	if rest, ok := strings.CutPrefix(name, "RTMAX"); ok {
		return rt(rest, 64, -1, s)
	}
	if sig := unix.SignalNum("SIG" + name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q (valid: a number 1..64 or a name: %s, RTMIN+n, RTMAX-n)", s, strings.Join(Names(), ", "))
}

func rt(rest string, base, dir int, orig string) (unix.Signal, error) {
	if rest == "" {
		return unix.Signal(base), nil
	}
	op := "+"
	if dir < 0 {
		op = "-"
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(rest, op)); err == nil && strings.HasPrefix(rest, op) && n >= 0 && n <= 32 {
		return unix.Signal(base + dir*n), nil
	}
	return 0, fmt.Errorf("unknown signal %q (real-time signals: RTMIN, RTMIN+1 .. RTMAX-1, RTMAX)", orig)
}

// Number checks a signal number: 1..64 (0 is kill(2)'s existence test, not a signal).
func Number(n int) (unix.Signal, error) {
	if n < 1 || n > MaxSignal {
		return 0, fmt.Errorf("signal number must be 1..%d, got %d", MaxSignal, n)
	}
	return unix.Signal(n), nil
}

// Name is "SIGTERM", "SIGRTMIN+2" (the kernel's numbering: SIGRTMIN is 32).
func Name(sig unix.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	switch {
	case sig == 32:
		return "SIGRTMIN"
	case sig == 64:
		return "SIGRTMAX"
	case sig > 32 && sig < 48:
		return fmt.Sprintf("SIGRTMIN+%d", int(sig)-32)
	case sig >= 48 && sig < 64:
		return fmt.Sprintf("SIGRTMAX-%d", 64-int(sig))
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// Names are the classic signals' short names (TERM, KILL, ...), by number.
func Names() []string {
	var out []string
	for sig := unix.Signal(1); sig < 32; sig++ {
		if n := unix.SignalName(sig); n != "" {
			out = append(out, strings.TrimPrefix(n, "SIG"))
		}
	}
	return out
}

// Set is a set of signals, as the kernel's sigset_t (bit sig-1).
type Set uint64

func (s Set) Has(sig unix.Signal) bool { return sig >= 1 && sig <= MaxSignal && s&(1<<(sig-1)) != 0 }
func (s *Set) Add(sig unix.Signal)     { *s |= 1 << (sig - 1) }

// List is the set's signals, lowest first.
func (s Set) List() []unix.Signal {
	var out []unix.Signal
	for sig := unix.Signal(1); sig <= MaxSignal; sig++ {
		if s.Has(sig) {
			out = append(out, sig)
		}
	}
	return out
}

// Names is the set's signals by Name, lowest first.
func (s Set) Names() []string {
	var out []string
	for _, sig := range s.List() {
		out = append(out, Name(sig))
	}
	return out
}

// Of is the set of sigs.
func Of(sigs ...unix.Signal) Set {
	var s Set
	for _, sig := range sigs {
		s.Add(sig)
	}
	return s
}
