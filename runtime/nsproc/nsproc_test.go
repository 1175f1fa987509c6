package nsproc

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creating namespaces other than user needs CAP_SYS_ADMIN")
	}
}

// onLockedThread runs fn on a fresh OS thread that is never unlocked, so
// whatever namespaces fn moves it into die with it.
func onLockedThread(t *testing.T, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		fn()
	}()
	<-done
}

func TestParseTypes(t *testing.T) {
	ts, err := ParseTypes("net,pid", "mount", "pid")
	if err != nil || SetOf(ts...).String() != "mnt,net,pid" {
		t.Fatalf("got %v %v", ts, err)
	}
	if ts[0].Name != "mnt" || ts[0].Flag != unix.CLONE_NEWNS {
		t.Fatalf("canonical order and flags: %+v", ts[0])
	}
	_, err = ParseTypes("pid,bogus")
	if err == nil || !strings.Contains(err.Error(), `"bogus"`) || !strings.Contains(err.Error(), TypeNames()) {
		t.Fatalf("bogus type: %v", err)
	}
	if _, err := ParseTypes(""); err == nil {
		t.Fatal("an empty list must be an error")
	}
}

func TestParseIDMap(t *testing.T) {
	m, err := ParseIDMap("0 1000 1\n1 100000 65536")
	if err != nil || len(m) != 2 || m[1] != (IDMap{1, 100000, 65536}) {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{"", "1 2", "0 x 1", "0 0 0", "-1 0 1", "0 0 10\n5 100 1", "0 7 1\n1 7 1"} {
		if _, err := ParseIDMap(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	if FormatIDMap(m) != "0 1000 1\n1 100000 65536\n" {
		t.Fatal(FormatIDMap(m))
	}
}

func TestUnshareUTSOnThread(t *testing.T) {
	needRoot(t)
	host, _ := os.Hostname()
	before, _ := ID(0, "uts")
	onLockedThread(t, func() {
		if err := Unshare(UTS); err != nil {
			t.Error(err)
			return
		}
		after, _ := ID(0, "uts")
		if after == before {
			t.Error("the thread's UTS namespace did not change")
		}
		if err := unix.Sethostname([]byte("nsproc-test")); err != nil {
			t.Error(err)
		}
	})
	if h, _ := os.Hostname(); h != host {
		t.Fatalf("the host's name changed to %q", h)
	}
}

func TestUserInPlaceIsExplained(t *testing.T) {
	err := Unshare(User)
	if err == nil || !strings.Contains(err.Error(), "single-threaded") {
		t.Fatalf("%v", err)
	}
}

func TestHomeRestore(t *testing.T) {
	needRoot(t)
	onLockedThread(t, func() {
		home, _ := OpenHome()
		if err := Unshare(Net); err != nil {
			t.Error(err)
			return
		}
		if ino, _ := ID(0, "net"); ino == home.IDs()["net"] {
			t.Error("unshare(net) did not move the thread")
		}
		if err := home.Restore(nil); err != nil {
			t.Error(err)
		}
		if ino, _ := ID(0, "net"); ino != home.IDs()["net"] {
			t.Error("restore did not bring the thread back")
		}
	})
}

func TestStartDirectExitCodeAndSignal(t *testing.T) {
	needRoot(t)
	ts := PID | UTS | IPC | Net | Mnt
	p, err := Start(Spec{Argv: []string{"/bin/sh", "-c", "exit 3"}, Types: ts})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait(context.Background())
	if err != nil || !st.Exited || st.Code != 3 {
		t.Fatalf("%+v %v", st, err)
	}
	p, err = Start(Spec{Argv: []string{"sleep", "30"}, Types: ts})
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := List(p.Pid); l["pid"] == 0 || l["net"] == 0 {
		t.Fatalf("namespaces of the child: %v", l)
	}
	p.Signal(unix.SIGKILL)
	st, _ = p.Wait(context.Background())
	if st.Code != 137 || st.Signal != "SIGKILL" {
		t.Fatalf("%+v", st)
	}
	if _, err := Start(Spec{Argv: []string{"no-such-program-here"}}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing program: %v", err)
	}
}

func TestStartJoinsExistingNamespaces(t *testing.T) {
	needRoot(t)
	// Fork from a locked thread, as nsh does: the join below runs on a
	// locked goroutine that ends its thread when it is done, and a child's
	// parent-death signal fires when the thread that forked it ends. An
	// unlocked test goroutine's thread could be the one taken and ended.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	holder, err := Start(Spec{Argv: []string{"sleep", "30"}, Types: UTS})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Signal(unix.SIGKILL); holder.Wait(context.Background()) }()
	out := filepath.Join(t.TempDir(), "out")
	f, _ := os.Create(out)
	p, err := Start(Spec{Argv: []string{"readlink", "/proc/self/ns/uts"}, Join: JoinPaths(holder.Pid, UTS), Stdout: f})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	p.Wait(context.Background())
	b, _ := os.ReadFile(out)
	want, _ := os.Readlink(NSPath(holder.Pid, "uts"))
	if strings.TrimSpace(string(b)) != want {
		t.Fatalf("joined child is in %q, want %q", b, want)
	}
	mine, _ := ID(0, "uts")
	if got, _ := Inode(NSPath(holder.Pid, "uts")); got == mine {
		t.Fatal("holder is not in a new UTS namespace")
	}
	if _, err := Start(Spec{Argv: []string{"true"}, Join: map[string]string{"user": "/proc/1/ns/user"}}); err == nil {
		t.Fatal("joining a user namespace must be refused")
	}
}

func TestPinKeepsANamespace(t *testing.T) {
	needRoot(t)
	p, err := Start(Spec{Argv: []string{"sleep", "30"}, Types: Net})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ID(p.Pid, "net")
	dir := t.TempDir()
	target, err := Pin(NSPath(p.Pid, "net"), "net", filepath.Join(dir, "pinned"))
	if err != nil {
		t.Fatal(err)
	}
	p.Signal(unix.SIGKILL)
	p.Wait(context.Background())
	if got, err := Inode(target); err != nil || got != want {
		t.Fatalf("pinned namespace: %d %v, want %d", got, err, want)
	}
	if typ, err := TypeOf(target); err != nil || typ != "net" {
		t.Fatalf("NS_GET_NSTYPE: %q %v", typ, err)
	}
	if err := Unpin(target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatal("unpin left the file")
	}
}

func TestParentAndOwner(t *testing.T) {
	needRoot(t)
	p, err := Start(Spec{Argv: []string{"sleep", "30"}, Types: User | PID, UIDMap: []IDMap{{0, 0, 1}}, GIDMap: []IDMap{{0, 0, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.Signal(unix.SIGKILL); p.Wait(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	par, err := Parent(NSPath(p.Pid, "pid"))
	mine, _ := ID(0, "pid")
	if err != nil || par.Inode != mine || par.Type != "pid" {
		t.Fatalf("parent of the child's pid namespace: %+v %v (want %d)", par, err, mine)
	}
	own, err := Owner(NSPath(p.Pid, "pid"))
	childUser, _ := ID(p.Pid, "user")
	if err != nil || own.Inode != childUser || own.OwnerUID != 0 {
		t.Fatalf("owner: %+v %v (want user:[%d])", own, err, childUser)
	}
}

func notRoot() bool { return os.Geteuid() != 0 }
