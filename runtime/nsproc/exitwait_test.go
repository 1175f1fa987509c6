package nsproc

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threads is how many threads this process has (/proc/self/status).
func threads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatal("no Threads: line")
	return 0
}

// Children waited for do not each hold a thread of nsh (a goroutine in
// waitid would), and each is reaped once it exits, with its status.
func TestWaitingTakesNoThreadPerChild(t *testing.T) {
	if _, err := unix.PidfdOpen(os.Getpid(), 0); err != nil {
		t.Skipf("no pidfds here: %v", err)
	}
	before := threads(t)
	var ps []*Process
	defer func() {
		for _, p := range ps {
			if p.Alive() {
				p.Signal(unix.SIGKILL)
			}
		}
	}()
	for i := 0; i < 50; i++ {
		p, err := Start(Spec{Argv: []string{"sleep", "60"}})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	time.Sleep(100 * time.Millisecond) // the reapers are waiting now
	if after := threads(t); after > before+10 {
		t.Fatalf("50 children waited for: %d threads, %d before (a thread per child?)", after, before)
	}
	for _, p := range ps {
		p.Signal(unix.SIGTERM)
	}
	for _, p := range ps {
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("child %d not reaped after SIGTERM", p.Pid)
		}
		if st := p.Status(); st.Signal != "SIGTERM" {
			t.Fatalf("child %d: status %+v, want killed by SIGTERM", p.Pid, st)
		}
	}
}

// UsePidfd gives a pidfd of the child while it is not reaped, and
// os.ErrProcessDone after.
func TestUsePidfd(t *testing.T) {
	p, err := Start(Spec{Argv: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.UsePidfd(func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		return unix.PidfdSendSignal(fd, 0, nil, 0)
	})
	if errors.Is(err, ErrNoPidfd) {
		p.Signal(unix.SIGKILL)
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.Signal(unix.SIGKILL)
	<-p.Done()
	for deadline := time.Now().Add(5 * time.Second); ; {
		err = p.UsePidfd(func(int) error { return nil })
		if errors.Is(err, os.ErrProcessDone) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after reaping: %v, want os.ErrProcessDone", err)
		}
		time.Sleep(time.Millisecond)
	}
}
