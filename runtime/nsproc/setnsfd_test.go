package nsproc

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSetnsFD(t *testing.T) {
	uts, _ := LookupType("uts")
	net, _ := LookupType("net")
	if err := SetnsFD(-1, &uts); !errors.Is(err, unix.EBADF) {
		t.Fatalf("setns(-1): want EBADF, got %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("joining a namespace needs CAP_SYS_ADMIN")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := os.Open("/proc/thread-self/ns/uts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := SetnsFD(int(f.Fd()), &net); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("a uts fd joined as net: want EINVAL, got %v", err)
	}
	if err := SetnsFD(int(f.Fd()), &uts); err != nil {
		t.Fatal(err)
	}
	if err := SetnsFD(int(f.Fd()), nil); err != nil { // any type
		t.Fatal(err)
	}
}
