package netlab

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// freshNet moves the test's goroutine, locked to its thread for good, into a
// new network namespace. The thread dies with the goroutine, so nothing
// needs restoring. It returns the namespace opened as an *NS.
func freshNet(t testing.TB) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creating network namespaces needs CAP_SYS_ADMIN")
	}
	runtime.LockOSThread() // never unlocked: the thread is retired when the test ends
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Skipf("unshare(CLONE_NEWNET): %v", err)
	}
	ns, err := Open(Self())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// newNS makes another namespace (lo up) that the test closes at cleanup.
func newNS(t testing.TB, name string) *NS {
	t.Helper()
	ns, err := newNetNS(name, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ipIn runs `ip ARGS` inside ns (through nsenter on our fd), to cross-check.
func ipIn(t testing.TB, ns *NS, args ...string) string {
	t.Helper()
	return toolIn(t, ns, "ip", args...)
}

// toolIn runs `TOOL ARGS` inside ns (nsenter on our fd): a reference nsh
// did not write.
func toolIn(t testing.TB, ns *NS, tool string, args ...string) string {
	t.Helper()
	for _, p := range []string{"nsenter", tool} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	cmd := exec.Command("nsenter", append([]string{"--net=/proc/self/fd/3", tool}, args...)...)
	fd, err := unix.Dup(ns.fd)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "ns")
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func isErrno(err error, e unix.Errno) bool { return errors.Is(err, e) }
