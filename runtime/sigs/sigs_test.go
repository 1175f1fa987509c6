package sigs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]unix.Signal{"TERM": 15, "SIGTERM": 15, "term": 15, "9": 9, "usr1": 10, "RTMIN": 32, "RTMIN+3": 35, "SIGRTMAX-1": 63, "RTMAX": 64} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "TERMX", "0", "65", "-1", "RTMIN+40", "RTMIN-1"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if Name(15) != "SIGTERM" || Name(35) != "SIGRTMIN+3" || Name(63) != "SIGRTMAX-1" {
		t.Errorf("names: %s %s %s", Name(15), Name(35), Name(63))
	}
}

// The kernel refuses a disposition for SIGKILL and SIGSTOP with EINVAL.
func TestKillStopCannotBeCaught(t *testing.T) {
	for _, sig := range []unix.Signal{unix.SIGKILL, unix.SIGSTOP} {
		for name, f := range map[string]func(unix.Signal) error{"default": SetDefault, "ignore": SetIgnore} {
			err := f(sig)
			if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "cannot be caught") {
				t.Errorf("%s %s: %v, want the kernel's EINVAL", name, Name(sig), err)
			}
		}
	}
	if err := SetDefault(65); !errors.Is(err, unix.EINVAL) {
		t.Errorf("signal 65: %v", err)
	}
	if err := SetDefault(unix.SIGURG); !errors.Is(err, ErrReserved) {
		t.Errorf("SIGURG: %v", err)
	}
	if err := SetIgnore(unix.SIGCHLD); !errors.Is(err, ErrReserved) {
		t.Errorf("ignore SIGCHLD: %v", err)
	}
}

// ignore is SIG_IGN in the kernel and in a program started after it
// (/proc/PID/status SigIgn), default is SIG_DFL.
func TestDispositionInheritedByExec(t *testing.T) {
	sig := unix.SIGUSR2
	t.Cleanup(func() { SetDefault(sig) })
	if err := SetIgnore(sig); err != nil {
		t.Fatal(err)
	}
	if d, _ := Current(sig); d != Ignore {
		t.Fatalf("after SetIgnore: %v", d)
	}
	if !childIgnores(t, sig) {
		t.Error("a child started after SetIgnore does not ignore SIGUSR2")
	}
	if err := SetDefault(sig); err != nil {
		t.Fatal(err)
	}
	if d, _ := Current(sig); d != Default {
		t.Fatalf("after SetDefault: %v", d)
	}
	if childIgnores(t, sig) {
		t.Error("a child started after SetDefault ignores SIGUSR2")
	}
}

func childIgnores(t *testing.T, sig unix.Signal) bool {
	out, err := exec.Command("/bin/sh", "-c", "grep SigIgn /proc/self/status").Output()
	if err != nil {
		t.Fatal(err)
	}
	hex := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "SigIgn:"))
	v, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return Set(v).Has(sig)
}

// The process's main thread, as nsh's Lua thread is: the kernel gives a
// signal sent to the process to the thread group leader first.
func init() { runtime.LockOSThread() }

var mainQueue = make(chan func())

func TestMain(m *testing.M) {
	done := make(chan int)
	go func() { done <- m.Run() }()
	for {
		select {
		case f := <-mainQueue:
			f()
		case code := <-done:
			os.Exit(code)
		}
	}
}

// onMain runs f on the main thread (t.Fatal inside it is not allowed: use t.Error and return).
func onMain(f func()) {
	d := make(chan struct{})
	mainQueue <- func() { defer close(d); f() }
	<-d
}

// A blocked signal sent to the process waits in sigpending(2) and
// sigtimedwait(2) takes it with the sender's pid and uid (on the main
// thread, where nsh waits).
func TestBlockPendingWait(t *testing.T) {
	onMain(func() { blockPendingWait(t) })
}

func blockPendingWait(t *testing.T) {
	set := Of(unix.SIGUSR1)
	tab := NewTable(nil)
	defer tab.Close()
	if _, err := tab.Block(set); err != nil {
		{
			t.Error(err)
			return
		}
	}
	lost := 0
	for i := 0; i < 20; i++ {
		// kill(1) from util-linux/procps: another process, our pid and uid
		if out, err := exec.Command("kill", "-USR1", strconv.Itoa(unix.Getpid())).CombinedOutput(); err != nil {
			{
				t.Errorf("kill: %v %s", err, out)
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
		p, err := tab.Pending()
		if err != nil || !p.Has(unix.SIGUSR1) {
			{
				t.Errorf("round %d: pending %v %v, want SIGUSR1", i, p.Names(), err)
				return
			}
		}
		info, held, ok, err := tab.Wait(context.Background(), set, time.Second)
		if err != nil || !ok || !held {
			{
				t.Errorf("wait: %v %v %v", held, ok, err)
				return
			}
		}
		if info.Signo != int(unix.SIGUSR1) {
			{
				t.Errorf("round %d: %+v", i, info)
				return
			}
		}
		// waiting when it is sent: the kernel's siginfo
		cmd := exec.Command("sh", "-c", "sleep 0.1; kill -USR1 "+strconv.Itoa(unix.Getpid()))
		if err := cmd.Start(); err != nil {
			{
				t.Error(err)
				return
			}
		}
		info, held, ok, err = tab.Wait(context.Background(), set, 5*time.Second)
		cmd.Wait()
		if err != nil || !ok {
			{
				t.Errorf("wait: %v %v", ok, err)
				return
			}
		}
		switch {
		case info.Signo != int(unix.SIGUSR1):
			t.Errorf("round %d: %+v", i, info)
			return
		case held:
			// taken by another thread first: a second signal (kill's exit,
			// SIGCHLD) woke one that does not block SIGUSR1 before this
			// thread ran (dequeue_signal takes the lowest signal first)
			lost++
		case info.Code != 0 || info.Uid != unix.Getuid() || info.Pid <= 0 || info.Pid == unix.Getpid():
			t.Errorf("round %d: %+v (%s)", i, info, info.CodeName())
			return
		}
	}
	t.Logf("%d of 20 signals sent during sigtimedwait lost their siginfo to another thread", lost)
	if lost > 10 {
		t.Errorf("%d of 20 signals sent during sigtimedwait lost their siginfo", lost)
	}
	if _, ok, err := WaitOnce(set, 20*time.Millisecond); ok || err != nil {
		t.Errorf("nothing pending, yet %v %v", ok, err)
	}
	// SIGKILL cannot be blocked: the kernel leaves it out silently
	if _, err := tab.Block(Of(unix.SIGKILL)); err != nil {
		{
			t.Error(err)
			return
		}
	}
	if b, _ := Blocked(); b.Has(unix.SIGKILL) {
		t.Error("SIGKILL blocked")
	}
}
