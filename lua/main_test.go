package lua

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"nsh/internal/nshtest"
	"nsh/runtime/nsproc"
)

// nshBin is a freshly built nsh: children (ns.clone) re-execute it, and the
// fuzz test runs Lua in it, in a sandbox.
var nshBin string

func TestMain(m *testing.M) {
	runtime.LockOSThread() // the session's thread model: one locked thread
	bin, remove, err := nshtest.Build("../cmd/nsh")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nshBin = bin
	nsproc.Exe = nshBin
	code := m.Run()
	remove()
	os.Exit(code)
}

// newTestSession makes a session and closes it (running cleanup) at the end.
func newTestSession(t *testing.T) *Session {
	t.Helper()
	// The session's thread model: its children's parent-death signal is
	// tied to the thread that forked them, so that thread must never be
	// one a locked goroutine takes and ends (a lab node's holder is forked
	// from such a fresh thread). Never unlocked: the thread retires with
	// the test's goroutine, after its cleanup.
	runtime.LockOSThread()
	s, err := NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, err := range s.Close() {
			t.Error(err)
		}
	})
	return s
}

// run runs Lua in s and fails the test on error.
func run(t *testing.T, s *Session, src string) {
	t.Helper()
	if _, err := s.Run(src, t.Name()); err != nil {
		t.Fatalf("%v\nin:\n%s", err, src)
	}
}

// runErr runs Lua in s and returns the error text ("" if none). Shared by
// every lua test file: use it rather than a copy of your own.
func runErr(t *testing.T, s *Session, src string) string {
	t.Helper()
	if _, err := s.Run(src, "t"); err != nil {
		return err.Error()
	}
	return ""
}
