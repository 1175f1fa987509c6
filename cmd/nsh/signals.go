package main

import (
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"nsh/lua"

	"golang.org/x/sys/unix"
)

// lastSignal is the signal that interrupted the script, for its exit code.
var lastSignal atomic.Int32

// quitting is set once a signal ends nsh: the REPL stops reading and the
// main thread cleans up.
var quitting atomic.Bool

// stopREPL, when set, makes the REPL's pending read return (rl.Close).
var stopREPL atomic.Pointer[func()]

// endingSignals end nsh, with cleanup: SIGINT (outside the REPL's chunks),
// SIGTERM, SIGHUP (the terminal went away), SIGPIPE (`nsh x.lua | head -1`;
// the write then fails with EPIPE instead of killing nsh) and SIGQUIT
// (without Go's goroutine dump).
var endingSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE, syscall.SIGQUIT}

// subscription is a channel the ending signals arrive on. Subscribing
// (signal.Notify) starts Go's signal goroutine and waits for it: from
// the main goroutine, which the Lua session locks to the main thread,
// that is two hand-overs between threads. subscribeSignals does it on
// its own goroutine, while the session is made; watchSignals waits for
// it before the first chunk runs.
type subscription struct {
	ch    chan os.Signal
	ready chan struct{}
}

func subscribeSignals(sigs ...os.Signal) *subscription {
	sub := &subscription{ch: make(chan os.Signal, 8), ready: make(chan struct{})}
	go func() {
		signal.Notify(sub.ch, sigs...)
		close(sub.ready)
	}()
	return sub
}

// stuckAfter is how long a chunk asked to stop may take before the
// children it waits on are killed (endStuckChildren).
const stuckAfter = 5 * time.Second

// endStuckChildren kills the session's children, which ends every wait on
// them, when the chunk did not stop within stuckAfter.
func endStuckChildren(s *lua.Session) {
	fmt.Fprintln(os.Stderr, "nsh: still stopping: ending the children")
	s.KillChildren()
}

// watchSignals turns the ending signals into an interrupt of the running
// chunk; the main thread then cleans up. Signals that come while nsh stops
// or cleans up do not cut that short (only SIGKILL can, and `nsh --cleanup`
// or the next nsh removes what is left then). If the chunk has not stopped
// after a few seconds, the children are killed from here, which ends every
// wait on them. A signal the script took (sys.signal with a handler or
// "ignore", sys.sigblock) is the script's; in the nsh the user started (own),
// "default" gives the ending signals back to this watcher.
func watchSignals(s *lua.Session, own bool, sub *subscription) func() {
	<-sub.ready
	ch := sub.ch
	if own {
		s.OwnSignal = func(sig unix.Signal) bool {
			for _, e := range endingSignals {
				if e == sig {
					return true
				}
			}
			return false
		}
		s.RestoreSignal = func(sig unix.Signal) { signal.Notify(ch, sig) }
	}
	done := make(chan struct{})
	go func() {
		var stuck <-chan time.Time
		for {
			select {
			case <-done:
				return
			case <-stuck:
				endStuckChildren(s)
				stuck = nil
			case sig := <-ch:
				if s.SignalTaken(sig) {
					continue
				}
				s.Interrupt()
				if sig == syscall.SIGINT && inREPL.Load() && !quitting.Load() {
					continue
				}
				if quitting.Swap(true) {
					if sig == syscall.SIGPIPE {
						continue // the next write to the closed pipe: say nothing (stderr may be that pipe)
					}
					fmt.Fprintf(os.Stderr, "nsh: %v: already cleaning up (SIGKILL would leave things for nsh --cleanup)\n", sig)
					continue
				}
				lastSignal.Store(int32(sig.(syscall.Signal)))
				if f := stopREPL.Load(); f != nil {
					(*f)()
				}
				stuck = time.After(stuckAfter)
			}
		}
	}()
	// No signal.Stop: nsh is about to end, and each Stop, like each
	// Notify, is a round trip to the signal goroutine (see subscription).
	return func() { close(done) }
}
