package lua

import (
	"errors"
	"strings"
	"testing"

	"nsh/runtime/kerr"
	"nsh/runtime/nsproc"

	"golang.org/x/sys/unix"
)

// Runtime rule texts say what the kernel does; nsh's advice is added by the
// binding, and only for the bindings it fits.
func TestHints(t *testing.T) {
	user := nsproc.Unshare(nsproc.User)
	got := withHint("ns.unshare", user)
	if !strings.Contains(got.Error(), "single-threaded") || !strings.Contains(got.Error(), "nsh -U") || !errors.Is(got, unix.EINVAL) {
		t.Fatalf("unshare(user): %v", got)
	}
	if strings.Contains(user.Error(), "ns.") || strings.Contains(user.Error(), "nsh -U") {
		t.Fatalf("runtime text carries nsh advice: %v", user)
	}
	var ke *kerr.Error
	if !errors.As(got, &ke) || ke.Call != "unshare(user)" {
		t.Fatalf("the kernel error is still there under the hint: %#v", got)
	}
	perm := kerr.New("clone(net)", unix.EPERM, nil)
	if h := withHint("ns.spawn", perm); !strings.Contains(h.Error(), "add \"user\"") {
		t.Fatalf("spawn EPERM: %v", h)
	}
	if h := withHint("ns.id", perm); h != perm {
		t.Fatalf("no hint for ns.id: %v", h)
	}
	if withHint("ns.spawn", nil) != nil {
		t.Fatal("nil stays nil")
	}
}
