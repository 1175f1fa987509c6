package nsproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// freePid is a PID no process of the initial namespace has now, in the
// upper half of pid_max (other processes of the shared machine take
// numbers too; the kernel's cyclic allocator is unlikely to reach it in the
// moment between).
func freePid(t *testing.T) int {
	t.Helper()
	max := readPidMax()
	if max < 1000 {
		t.Skip("cannot read /proc/sys/kernel/pid_max")
	}
	for n := max/2 + (os.Getpid()*31+int(time.Now().UnixNano()/1000))%(max/3); n < max; n += 7 {
		if _, err := os.Stat("/proc/" + strconv.Itoa(n)); os.IsNotExist(err) {
			return n
		}
	}
	t.Fatal("no free pid")
	return 0
}

// nspid is the NSpid line of /proc/PID/status: the process's PID in each
// namespace from the initial one down.
func nspid(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "NSpid:") {
			return strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	t.Fatalf("no NSpid in /proc/%d/status", pid)
	return ""
}

func startT(t *testing.T, spec Spec) *Process {
	t.Helper()
	p, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(unix.SIGKILL); p.Wait(context.Background()) })
	return p
}

func needRootTID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: choosing a PID needs CAP_SYS_ADMIN over the PID namespace's owner, and new PID namespaces")
	}
	// the child's parent-death signal fires when the forking thread ends
	runtime.LockOSThread()
}

// TestSetTIDNewPidNS: set_tid = {1, N} with CLONE_NEWPID gives a child that
// is PID 1 of its new namespace and PID N in this one (the kernel's NSpid).
func TestSetTIDNewPidNS(t *testing.T) {
	needRootTID(t)
	n := freePid(t)
	p := startT(t, Spec{Argv: []string{"/bin/sleep", "30"}, Types: PID, SetTID: []int{1, n}})
	if p.Pid != n {
		t.Fatalf("pid %d, asked for %d", p.Pid, n)
	}
	if got := nspid(t, n); got != fmt.Sprintf("%d 1", n) {
		t.Fatalf("NSpid %q, want \"%d 1\"", got, n)
	}
	p.Signal(unix.SIGKILL)
	st, _ := p.Wait(context.Background())
	if st.Signal != "SIGKILL" {
		t.Fatalf("status %+v", st)
	}
}

// TestSetTIDJoined: in an existing PID namespace (joined), set_tid = {M, N}
// gives PID M there and N here; the ns_last_pid method (util-linux nsenter
// and a shell: write M-1, fork) gives the same M, the way CRIU did it
// before clone3.
func TestSetTIDJoined(t *testing.T) {
	needRootTID(t)
	holder := startT(t, Spec{Argv: []string{"/bin/sleep", "30"}, Types: PID})
	join := map[string]string{"pid": NSPath(holder.Pid, "pid")}
	n := freePid(t)
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	p := startT(t, Spec{Argv: []string{"/bin/sh", "-c", "echo $$"}, Join: join, SetTID: []int{42, n}, Stdout: out})
	p.Wait(context.Background())
	b, _ := os.ReadFile(out.Name())
	if p.Pid != n || strings.TrimSpace(string(b)) != "42" {
		t.Fatalf("pid %d (asked %d), $$ inside %q (asked 42)", p.Pid, n, b)
	}
	ref, err := exec.Command("nsenter", "-t", strconv.Itoa(holder.Pid), "-p", "--", "/bin/sh", "-c",
		`echo 99 > /proc/sys/kernel/ns_last_pid; /bin/sh -c 'echo $$'; true`).CombinedOutput()
	if err != nil {
		t.Skipf("nsenter reference: %v %s", err, ref)
	}
	if strings.TrimSpace(string(ref)) != "100" {
		t.Fatalf("ns_last_pid 99 then fork gave %q, want 100", ref)
	}
	// and set_tid takes the next one in the same namespace
	p2 := startT(t, Spec{Argv: []string{"/bin/sleep", "30"}, Join: join, SetTID: []int{101}})
	if got := nspid(t, p2.Pid); !strings.HasSuffix(got, " 101") {
		t.Fatalf("NSpid %q, want ... 101", got)
	}
}

// TestSetTIDKernelRules: each refusal is the kernel's, explained by the
// rule it broke.
func TestSetTIDKernelRules(t *testing.T) {
	needRootTID(t)
	sleeper := startT(t, Spec{Argv: []string{"/bin/sleep", "30"}, SetTID: []int{freePid(t)}})
	for _, c := range []struct {
		spec  Spec
		errno unix.Errno
		rule  string
	}{
		{Spec{Argv: []string{"/bin/true"}, SetTID: []int{sleeper.Pid}}, unix.EEXIST, "in use in its namespace"},
		{Spec{Argv: []string{"/bin/true"}, SetTID: []int{100, 101}}, unix.EINVAL, "2 entries given, and this child has 1 level(s)"},
		{Spec{Argv: []string{"/bin/true"}, Types: PID, SetTID: []int{5}}, unix.EINVAL, "with CLONE_NEWPID the first entry is the new namespace's and must be 1"},
		{Spec{Argv: []string{"/bin/true"}, SetTID: []int{0}}, unix.EINVAL, "from 1 to the namespace's pid_max - 1"},
		{Spec{Argv: []string{"/bin/true"}, SetTID: make([]int, 33)}, unix.EINVAL, "and at most 32"},
	} {
		_, err := Start(c.spec)
		if !errors.Is(err, c.errno) || !strings.Contains(fmt.Sprint(err), c.rule) {
			t.Errorf("set_tid %v: %v, want %v with %q", c.spec.SetTID, err, c.errno, c.rule)
		}
	}
	_, err := Start(Spec{Argv: []string{"/nonexistent"}, SetTID: []int{freePid(t)}})
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), `execve("/nonexistent")`) {
		t.Errorf("exec failure: %v", err)
	}
	_, err = Start(Spec{Argv: []string{"/bin/true"}, Dir: "/nonexistent", SetTID: []int{freePid(t)}})
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), `chdir("/nonexistent")`) {
		t.Errorf("chdir failure: %v", err)
	}
	_, err = Start(Spec{Argv: []string{"/bin/true"}, Hold: true, SetTID: []int{1}})
	if !IsSpecError(err) || !strings.Contains(err.Error(), "cannot also take hold") {
		t.Errorf("hold with set_tid: %v", err)
	}
}

// TestSetTIDNoZombieNoThread: a child started with set_tid is reaped
// (no zombie) and the start made no thread of nsh's in between: the
// process after it takes the next PID.
func TestSetTIDReaped(t *testing.T) {
	needRootTID(t)
	n := freePid(t)
	p := startT(t, Spec{Argv: []string{"/bin/true"}, SetTID: []int{n}})
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not reaped")
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", n)); !os.IsNotExist(err) {
		t.Fatalf("/proc/%d still there after reaping: %v", n, err)
	}
}

// TestSetTIDUnderLoad: many starts with set_tid while other goroutines
// allocate, collect garbage and start processes the standard way: the
// child's code between clone3 and execve must not touch the runtime (a
// stack growth or an allocation there would crash or deadlock the child).
func TestSetTIDUnderLoad(t *testing.T) {
	needRootTID(t)
	stop := make(chan struct{})
	defer close(stop)
	for g := 0; g < 4; g++ {
		go func() {
			var keep [][]byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				keep = append(keep, make([]byte, 1<<16))
				if len(keep) > 64 {
					keep = nil
					runtime.GC()
				}
			}
		}()
	}
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			exec.Command("/bin/true").Run()
		}
	}()
	for i := 0; i < 200; i++ {
		p, err := Start(Spec{Argv: []string{"/bin/true"}, Types: PID, SetTID: []int{1}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := p.Wait(ctx)
		cancel()
		if err != nil || !st.Exited || st.Code != 0 {
			t.Fatalf("start %d: %+v %v", i, st, err)
		}
	}
}
