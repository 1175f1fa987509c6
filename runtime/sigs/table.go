package sigs

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Table is a script's signal state: the disposition it asked for each
// signal, the signals it blocks, the signals that came for its handlers.
// Its methods that change the mask (Block, Unblock, Wait) must be called on
// the locked thread the script runs on; the others are safe from any
// goroutine.
//
// Blocking, as nsh can do it: the mask is the calling thread's
// (rt_sigprocmask), and the programs nsh starts inherit it. A signal sent
// to the process while that thread blocks it is taken by another thread
// of the Go runtime (which blocks nothing); so while a signal is blocked it
// has Go's handler, and the Table holds it as pending: the kernel's rule that
// a blocked signal is never ignored, which also means that an init
// receives a blocked signal from a member of its namespace. Such a held
// signal has lost its siginfo. Wait takes a signal on the calling thread,
// which the kernel chooses for a signal sent to the process while it
// waits (nsh's Lua thread is its main thread), so it has the siginfo.
type Table struct {
	mu      sync.Mutex
	disp    map[unix.Signal]Disposition
	found   map[unix.Signal]Disposition // the kernel's disposition before the first change, for Close
	blocked Set                         // what the script blocked (sigblock, or sigwait for its time)
	held    map[unix.Signal]int         // arrived while blocked
	due     []unix.Signal               // arrived for a handler, not yet run
	ch      chan os.Signal
	done    chan struct{}
	arrived func() // told of every signal that becomes due

	// Own, when set, says that sig's default is nsh's own handling (the top
	// nsh's cleanup on SIGINT, SIGTERM, ...); Restore gives that back.
	Own     func(sig unix.Signal) bool
	Restore func(sig unix.Signal)
}

// NewTable starts the goroutine that receives signals for the script;
// arrived is called (from that goroutine) whenever a handler is due.
func NewTable(arrived func()) *Table {
	t := &Table{
		disp:    map[unix.Signal]Disposition{},
		found:   map[unix.Signal]Disposition{},
		held:    map[unix.Signal]int{},
		ch:      make(chan os.Signal, 64),
		done:    make(chan struct{}),
		arrived: arrived,
	}
	go t.receive()
	return t
}

func (t *Table) receive() {
	for {
		select {
		case <-t.done:
			return
		case s := <-t.ch:
			sig := s.(unix.Signal)
			t.mu.Lock()
			due := false
			switch {
			case t.blocked.Has(sig):
				t.held[sig]++
			case t.disp[sig] == Handle:
				t.due = append(t.due, sig)
				due = true
			}
			t.mu.Unlock()
			if due && t.arrived != nil {
				t.arrived()
			}
		}
	}
}

// Set gives sig a disposition (the kernel's sigaction, as far as Go lets it).
func (t *Table) Set(sig unix.Signal, d Disposition) error {
	if err := Check(sig); err != nil {
		return err
	}
	if d == Ignore && sig == unix.SIGCHLD {
		return SetIgnore(sig) // its refusal
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.remember(sig)
	t.disp[sig] = d
	if t.blocked.Has(sig) {
		return nil // held until unblocked; its disposition applies then
	}
	return t.apply(sig)
}

// Get is the script's disposition of sig (Default if it set none).
func (t *Table) Get(sig unix.Signal) Disposition {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.disp[sig]
}

func (t *Table) remember(sig unix.Signal) {
	if _, ok := t.found[sig]; !ok {
		d, _ := Current(sig)
		t.found[sig] = d
	}
}

// apply puts sig's disposition into the kernel; t.mu held.
func (t *Table) apply(sig unix.Signal) error {
	switch {
	case t.blocked.Has(sig) || t.disp[sig] == Handle:
		return SetHandle(sig, t.ch)
	case t.disp[sig] == Ignore:
		return SetIgnore(sig)
	case t.Own != nil && t.Own(sig):
		if err := SetHandle(sig, t.ch); err != nil { // Go's handler back; the Table drops what comes
			return err
		}
		if t.Restore != nil {
			t.Restore(sig)
		}
		return nil
	}
	return SetDefault(sig)
}

// Takes reports whether the script, not nsh, decides what sig does now:
// a handler, ignore, or blocked.
func (t *Table) Takes(sig unix.Signal) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.disp[sig] != Default || t.blocked.Has(sig)
}

// Due takes the signals whose handlers are to run, oldest first.
func (t *Table) Due() []unix.Signal {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.due
	t.due = nil
	return d
}

// Block blocks set on the calling thread and holds what comes for it.
func (t *Table) Block(set Set) (Set, error) {
	if err := checkMask(set); err != nil {
		return 0, err
	}
	set &^= Of(unix.SIGKILL, unix.SIGSTOP) // the kernel leaves them out silently
	t.mu.Lock()
	defer t.mu.Unlock()
	old, err := blockThread(unix.SIG_BLOCK, set)
	if err != nil {
		return 0, err
	}
	for _, sig := range (set &^ t.blocked).List() {
		t.remember(sig)
		t.blocked.Add(sig)
		if err := t.apply(sig); err != nil {
			return old, err
		}
	}
	return old, nil
}

// Unblock unblocks set; what was held for it is delivered then, by the
// disposition it has now (a default one by raising it again).
func (t *Table) Unblock(set Set) (Set, error) {
	if err := checkMask(set); err != nil {
		return 0, err
	}
	t.mu.Lock()
	old := t.blocked
	t.blocked &^= set
	var raise []unix.Signal
	due := false
	var firstErr error
	for _, sig := range (old & set).List() {
		if err := t.apply(sig); err != nil && firstErr == nil {
			firstErr = err
		}
		if t.held[sig] > 0 {
			switch t.disp[sig] {
			case Handle:
				for i := 0; i < t.held[sig]; i++ {
					t.due = append(t.due, sig)
				}
				due = true
			case Default:
				raise = append(raise, sig)
			}
			delete(t.held, sig)
		}
	}
	t.mu.Unlock()
	kold, err := blockThread(unix.SIG_UNBLOCK, set)
	if err != nil {
		return 0, err
	}
	for _, sig := range raise {
		unix.Kill(unix.Getpid(), sig) // its default action, as if it came now (sender: this process)
	}
	if due && t.arrived != nil {
		t.arrived()
	}
	return kold | old, firstErr
}

func blockThread(how int, set Set) (Set, error) {
	mask := uint64(set)
	var old uint64
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, uintptr(how), uintptr(ptr(&mask)), uintptr(ptr(&old)), 8, 0, 0); e != 0 {
		return 0, e
	}
	return Set(old), nil
}

// Pending is sigpending(2) with the signals the Table holds.
func (t *Table) Pending() (Set, error) {
	p, err := Pending()
	if err != nil {
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for sig, n := range t.held {
		if n > 0 {
			p.Add(sig)
		}
	}
	return p, nil
}

// Wait is sigtimedwait(2) for set, at most d (d < 0: no limit), ended by
// ctx. The set is blocked for the time of the call (as sigwait(3) wants).
// A signal the Table held is taken first, with Held set and no siginfo.
func (t *Table) Wait(ctx context.Context, set Set, d time.Duration) (info Info, held, ok bool, err error) {
	set &^= Of(unix.SIGKILL, unix.SIGSTOP)
	if err := checkMask(set); err != nil {
		return Info{}, false, false, err
	}
	t.mu.Lock()
	newly := set &^ t.blocked
	t.mu.Unlock()
	if newly != 0 {
		if _, err := t.Block(newly); err != nil {
			return Info{}, false, false, err
		}
		defer t.Unblock(newly)
	}
	var end time.Time
	if d >= 0 {
		end = time.Now().Add(d)
	}
	for {
		if sig, ok := t.takeHeld(set); ok {
			return Info{Signo: int(sig)}, true, true, nil
		}
		slice := 100 * time.Millisecond
		if d >= 0 {
			left := time.Until(end)
			if left <= 0 {
				return Info{}, false, false, nil
			}
			slice = min(slice, left)
		}
		info, ok, err := WaitOnce(set, slice)
		if err != nil || ok {
			return info, false, ok, err
		}
		if err := ctx.Err(); err != nil {
			return Info{}, false, false, err
		}
	}
}

func (t *Table) takeHeld(set Set) (unix.Signal, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, sig := range set.List() {
		if t.held[sig] > 0 {
			t.held[sig]--
			if t.held[sig] == 0 {
				delete(t.held, sig)
			}
			return sig, true
		}
	}
	return 0, false
}

// Close stops receiving and gives every signal the Table changed the
// disposition it found, and unblocks what the script blocked (on the calling thread).
func (t *Table) Close() {
	t.mu.Lock()
	blocked := t.blocked
	t.blocked = 0
	for sig, d := range t.found {
		switch {
		case t.Own != nil && t.Own(sig):
			t.disp[sig] = Default
			t.apply(sig)
		case d == Ignore:
			SetIgnore(sig)
		case d == Default:
			SetDefault(sig)
		default: // Go's handler: back, without the script's channel
			t.disp[sig] = Handle
			SetHandle(sig, t.ch)
		}
	}
	t.mu.Unlock()
	blockThread(unix.SIG_UNBLOCK, blocked)
	signal.Stop(t.ch)
	close(t.done)
}
