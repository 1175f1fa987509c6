package nsproc

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnsharePIDTwiceRule: a second unshare(CLONE_NEWPID) is EINVAL, and the
// rule given is the PID namespace's (pid_for_children), not a user
// namespace's.
func TestUnsharePIDTwiceRule(t *testing.T) {
	needRoot(t)
	var first, second error
	onLockedThread(t, func() {
		first = Unshare(PID)
		second = Unshare(PID)
	})
	if first != nil {
		t.Fatal(first)
	}
	if !errors.Is(second, unix.EINVAL) || !errors.Is(second, ErrPIDAgain) ||
		!strings.Contains(second.Error(), "CLONE_NEWPID works once") || strings.Contains(second.Error(), "user namespace") {
		t.Fatalf("second unshare(pid): %v", second)
	}
}

// TestStartMapErrorsNameTheMap: a start refused for its id maps names the map
// and the kernel's rule for it, never "the clone flags" or CAP_SYS_ADMIN.
func TestStartMapErrorsNameTheMap(t *testing.T) {
	start := func(s Spec) error {
		s.Argv = []string{"/bin/true"}
		s.Types |= User
		p, err := Start(s)
		if err == nil {
			p.Wait(context.Background())
		}
		return err
	}
	check := func(name string, err error, errno unix.Errno, want string) {
		t.Helper()
		if err == nil || (errno != 0 && !errors.Is(err, errno)) || !strings.Contains(err.Error(), want) ||
			strings.Contains(err.Error(), "clone flags") || strings.Contains(err.Error(), "CAP_SYS_ADMIN") {
			t.Errorf("%s: want %v with %q, got %v", name, errno, want, err)
		}
	}
	// a range that reaches 2^32 (ParseIDMap takes 4294967295 as an id)
	m, err := ParseIDMap("4294967295 0 1")
	if err != nil {
		t.Fatal(err)
	}
	check("wrapping range", start(Spec{UIDMap: m, GIDMap: []IDMap{{0, os.Getegid(), 1}}}), unix.EINVAL, "may not reach 2^32")
	self, err := readOwnMap("uid_map")
	if err != nil {
		t.Fatal(err)
	}
	// uid_map that does not map the caller and no gid_map: the child's
	// switch to the mapped uid takes an unmapped gid along
	if covered(self, 100000, 1) {
		err = start(Spec{UIDMap: []IDMap{{0, 100000, 1}}})
		if !IsSpecError(err) || !strings.Contains(err.Error(), "gid_map") {
			t.Errorf("uid_map without the caller's uid and no gid_map: want a gid_map SpecError, got %v", err)
		}
	}
	// an id outside that the writer's user namespace does not have (none
	// when the caller is in the initial user namespace)
	if covered(self, 0, MaxID+1) {
		return
	}
	out := 0
	for covered(self, out, 1) {
		out += 100000
	}
	check("unmapped outside", start(Spec{UIDMap: []IDMap{{0, os.Geteuid(), 1}, {1, out, 1}}}), unix.EPERM, "not all mapped in the parent user namespace")
}

// TestValidateNUL: a NUL byte in argv, env or cwd is refused before
// anything starts, as a C string rule (not as a clone flag EINVAL).
func TestValidateNUL(t *testing.T) {
	for _, s := range []Spec{{Argv: []string{"/bin/echo", "a\x00b"}}, {Argv: []string{"true"}, Env: []string{"A=\x00"}}, {Argv: []string{"true"}, Dir: "/tmp\x00"}} {
		err := s.Validate()
		if !IsSpecError(err) || !strings.Contains(err.Error(), "NUL byte") {
			t.Errorf("%q: %v", s.Argv, err)
		}
		if _, err := Start(s); !IsSpecError(err) {
			t.Errorf("Start %q: %v", s.Argv, err)
		}
	}
}

// TestKillRuleNoInitClaim: kill's EPERM rule is the permission rule; it does
// not claim an init's missing handler causes EPERM (the kernel drops such a
// signal and kill() succeeds).
func TestKillRuleNoInitClaim(t *testing.T) {
	r := killRules.For(unix.EPERM)
	if strings.Contains(r, "ignores signals") || !strings.Contains(r, "CAP_KILL") || !strings.Contains(r, "kill() still succeeds") {
		t.Fatalf("kill EPERM rule: %q", r)
	}
}
