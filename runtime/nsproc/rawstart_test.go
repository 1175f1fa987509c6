package nsproc

import (
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// selfMap maps root inside to the caller (root, or nobody as an ordinary user).
func selfMap() []IDMap { return []IDMap{{0, os.Geteuid(), 1}} }

// TestRawPdeath: a child of the raw start dies with the thread that forked
// it, held (waiting for the go-ahead) or after its execve, as a re-executed
// child does.
func TestRawPdeath(t *testing.T) {
	for _, hold := range []bool{false, true} {
		spec := Spec{Argv: []string{"/bin/sleep", "30"}, Types: User | UTS, UIDMap: selfMap(), GIDMap: []IDMap{{0, os.Getegid(), 1}},
			Setup: Setup{Hostname: "raw"}, Hold: hold}
		if !spec.UsesRawSetup() && !ForceReexec {
			t.Fatal("a hostname alone should take the raw start")
		}
		pc := make(chan *Process)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			p, err := Start(spec)
			if err != nil {
				t.Error(err)
			}
			time.Sleep(50 * time.Millisecond) // let it exec
			pc <- p
		}()
		p := <-pc
		if p == nil {
			return
		}
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			p.Signal(9)
			t.Fatalf("hold=%v: the child outlived the thread that forked it", hold)
		}
		st := p.Status()
		if st.Signal != "SIGKILL" && !(hold && st.Code == 125) {
			t.Fatalf("hold=%v: ended with %+v, want SIGKILL", hold, st)
		}
	}
}

// TestRawFallsBack: what the raw start cannot do re-executes nsh.
func TestRawFallsBack(t *testing.T) {
	base := func() Spec {
		return Spec{Argv: []string{"/bin/true"}, Types: User | UTS, UIDMap: selfMap(), GIDMap: selfMap(), Setup: Setup{Hostname: "x"}}
	}
	for name, edit := range map[string]func(*Spec){
		"function":     func(s *Spec) { s.Argv = nil; s.Payload = []byte("x") },
		"join":         func(s *Spec) { s.Join = map[string]string{"net": "/proc/self/ns/net"} },
		"setsid":       func(s *Spec) { s.Setsid = true },
		"unknown step": func(s *Spec) { s.Setup.Steps = []Step{{Name: "nosuch"}} },
	} {
		s := base()
		edit(&s)
		if s.UsesRawSetup() {
			t.Errorf("%s: took the raw start", name)
		}
	}
	if s := base(); !s.UsesRawSetup() {
		t.Error("the base spec should take the raw start")
	}
	t.Setenv(ForceReexecEnv, "1")
	if s := base(); s.UsesRawSetup() {
		t.Errorf("%s=1: took the raw start", ForceReexecEnv)
	}
}

// the main thread stays with TestMain (as nsh's Lua thread does), so that a
// test's locked goroutine runs on a thread of its own, which ends with it
func init() { runtime.LockOSThread() }

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ChildFlag {
		os.Exit(ChildMain(nil))
	}
	ForceReexec = os.Getenv("RAWCT_OLD") == "1"
	os.Exit(m.Run())
}

// TestRawIDsKeepNshDumpable: a raw child that takes ids (here uid 0 of a
// user namespace whose map names another uid) changes only its own
// dumpability, never nsh's: the kernel keeps that flag in the memory, so
// such a child does not share nsh's. nsh stays dumpable, and a later raw
// start still takes the raw path.
func TestRawIDsKeepNshDumpable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a map of uid 0 to 65534)")
	}
	dumpable := func() int {
		d, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		return d
	}
	if dumpable() != 1 {
		t.Skip("this test process is not dumpable to begin with")
	}
	zero := 0
	spec := Spec{Argv: []string{"/bin/true"}, Types: User | UTS, UIDMap: []IDMap{{0, 65534, 1}}, GIDMap: []IDMap{{0, 65534, 1}},
		MapUID: &zero, MapGID: &zero, Setup: Setup{Hostname: "ids"}}
	if !spec.UsesRawSetup() {
		t.Fatal("a hostname and mapped ids should take the raw start")
	}
	p, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if st := p.Status(); st.Code != 0 {
		t.Fatalf("child ended with %+v", st)
	}
	if d := dumpable(); d != 1 {
		t.Fatalf("after a raw child took ids, nsh's PR_GET_DUMPABLE is %d, want 1", d)
	}
	if !spec.UsesRawSetup() {
		t.Fatal("the next start no longer takes the raw path")
	}
}
