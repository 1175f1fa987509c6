package nsproc

import (
	"os"
	"sync"
	"time"

	"nsh/runtime/sigs"

	"golang.org/x/sys/unix"
)

// A re-executed nsh that runs a Lua function is, for the kernel, the
// process clone(2) made: as PID 1 of a new PID namespace it is that
// namespace's init. Two things of the Go runtime would make it a different
// init from the C programs of the man pages and the LWN articles:
//
//   - Go installs handlers for every signal. pid_namespaces(7): an init
//     receives from its namespace's members only the signals it has a
//     handler for; the others are dropped. With Go's handlers, a member's
//     SIGTERM, SIGINT or SIGHUP reaches Go, which exits with status 2, and
//     SIGQUIT dumps goroutines. asInitSignals puts SIG_DFL back for the
//     signals Go does not need, so the kernel drops them as it would for a
//     C init without handlers (from an ancestor namespace too: only SIGKILL
//     and SIGSTOP are forced from there), and a non-init child's signal acts
//     by its default again: killed by SIGTERM, not "exit 2". Go keeps the
//     signals it needs: SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT
//     (faults), SIGURG (preemption), SIGCHLD, SIGPIPE, SIGSTKFLT, SIGPROF,
//     SIGSYS and 33; they alone show in /proc/1/status SigCgt. A script's sys.signal changes them (runtime/sigs).
//   - Orphans re-parented to an init must be reaped by it, or they stay
//     zombies. Go's os/exec waits for the processes it started, by pid;
//     reapOrphans reaps the others without taking a status a waiter wants.

// A parent nsh asks a child nsh running a function to stop and clean up
// with a byte on the control channel (Process.RequestStop), not with a
// signal: every signal a learner sends keeps the kernel's meaning. SIGTERM
// to a cloned child acts by its default (killed), and to an init it is
// dropped, as for a C init without handlers.

// defaultSignals are the signals a re-executed nsh leaves at SIG_DFL: all
// that Go does not need, the real-time ones 35-64 too (Go's handler took
// them and dropped them: `kill -40` did nothing to a cloned function, where
// it ends a C program).
var defaultSignals = append([]unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGALRM, unix.SIGTERM, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGVTALRM, unix.SIGWINCH, unix.SIGIO, unix.SIGPWR},
	realtimeSignals()...)

// realtimeSignals are 35-64: the real-time signals above the three Go and
// C libraries use between threads (32-34).
func realtimeSignals() []unix.Signal {
	var l []unix.Signal
	for sig := unix.Signal(35); sig <= 64; sig++ {
		l = append(l, sig)
	}
	return l
}

// asInitSignals sets defaultSignals to SIG_DFL with rt_sigaction(2); runtime/sigs
// keeps Go's handlers aside for a script that installs a handler (sys.signal).
// (signal.Reset would give Go's handler back, not SIG_DFL.)
func asInitSignals() { sigs.ResetToDefault(defaultSignals...) }

// ownChildren are the pids of the children Start made and reap() has not
// reaped yet: the orphan reaper leaves them to their waiter.
type childSet struct {
	mu sync.Mutex
	m  map[int]bool
}

var ownChildren = childSet{m: map[int]bool{}}

func (c *childSet) add(pid int) {
	c.mu.Lock()
	c.m[pid] = true
	c.mu.Unlock()
}

func (c *childSet) remove(pid int) {
	c.mu.Lock()
	delete(c.m, pid)
	c.mu.Unlock()
}

func (c *childSet) has(pid int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[pid]
}

// orphanAge is how long a zombie that is not one of Start's children stays
// before the reaper takes it: a process os/exec started (os.execute,
// io.popen) is waited for by its own goroutine, which gets it first.
const orphanAge = 500 * time.Millisecond

// reapOrphans runs for the life of an init nsh: every orphanPoll it looks
// at the first zombie child without reaping it (waitid WNOWAIT); one that is
// not Start's and has been a zombie for orphanAge is reaped with wait4. (It
// polls rather than waits for SIGCHLD: os/signal would lock a thread of its
// own, which takes one more PID of the namespace.)
func reapOrphans() {
	seen := map[int]time.Time{}
	for {
		for {
			var info unix.Siginfo
			if err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
				break
			}
			pid := int(siginfoPid(&info))
			if pid == 0 || ownChildren.has(pid) {
				break // none, or Start's: its waiter takes it
			}
			first, ok := seen[pid]
			if !ok {
				seen[pid] = time.Now()
				break
			}
			if time.Since(first) < orphanAge {
				break
			}
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
			delete(seen, pid)
		}
		time.Sleep(orphanPoll)
	}
}

const orphanPoll = 200 * time.Millisecond

// beInit makes a child that runs a payload the process the kernel made:
// signals without handlers, no fork of Go's own at its first process start,
// and as PID 1, the reaper of its namespace.
func beInit() {
	asInitSignals()
	// Go's os package forks a test child before the process's first start
	// (checkPidfd): done now, so it never comes between a write to
	// ns_last_pid and the process the script starts next.
	primeForkCheck()
	if os.Getpid() == 1 {
		go reapOrphans()
	}
}
