package lua

import (
	"strings"
	"testing"

	"nsh/runtime/nsproc"
)

// Runtime rule texts say what the kernel does; nsh's advice is a hint line
// added by the binding, and only by the bindings it fits.
func TestHints(t *testing.T) {
	if err := nsproc.Unshare(nsproc.User); strings.Contains(err.Error(), "ns.") || strings.Contains(err.Error(), "nsh -U") {
		t.Fatalf("runtime text carries nsh advice: %v", err)
	}
	s := newTestSession(t)
	for _, c := range [][2]string{
		{`ns.unshare("user")`, "ns.unshare: unshare(user): EINVAL: a user namespace cannot be created or joined in place: the kernel demands a single-threaded process (EINVAL)"},
		{`ns.unshare("user")`, "\n  hint: use ns.clone or ns.spawn with \"user\""},
		{`ns.setns(1, "user")`, "\n  hint: use ns.clone or ns.spawn with \"user\""},
		{`ns.spawn{"/bin/true", join = {user = "/proc/1/ns/user"}}`, "\n  hint: nsenter(1) does it: sys.run{\"nsenter\", \"--user=/proc/1/ns/user\", \"--preserve-credentials\", \"--\", \"/bin/true\"}"},
		{`ns.spawn{"/bin/true", uid_map = "0 0 1"}`, "bad argument #1 to 'ns.spawn' (uid_map/gid_map: id maps are written into a new user namespace, and the spec creates none)\n  hint: add \"user\" to ns"},
		{`ns.clone({hostname = "x"}, print)`, "\n  hint: add \"uts\" to ns"},
	} {
		if got := runErr(t, s, c[0]); !strings.Contains(got, c[1]) {
			t.Errorf("%s:\n  error %q\n  want  %q", c[0], got, c[1])
		}
	}
	// a hint only where it fits: ns.id's failures get none
	if got := runErr(t, s, `ns.id(4194300, "net")`); strings.Contains(got, "hint:") {
		t.Errorf("ns.id got a hint: %q", got)
	}
}

// A TMPDIR the user cannot use (missing here; unwritable for an ordinary
// user) gets the call, the errno and what to do, not a raw Lua error.
func TestTmpdirHint(t *testing.T) {
	t.Setenv("TMPDIR", "/nonexistent-nsh-tmpdir")
	s := newTestSession(t)
	err := runErr(t, s, `rootfs.tmpdir("x")`)
	for _, want := range []string{"rootfs.tmpdir: ", "ENOENT", "hint: the directory is made under $TMPDIR"} {
		if !strings.Contains(err, want) {
			t.Errorf("rootfs.tmpdir with a missing TMPDIR: %q lacks %q", err, want)
		}
	}
}
