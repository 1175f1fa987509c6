package caps

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNames(t *testing.T) {
	for _, w := range []string{"sys_admin", "CAP_SYS_ADMIN", "SYS_ADMIN", "21"} {
		if n, ok := Number(w); !ok || n != unix.CAP_SYS_ADMIN {
			t.Fatalf("Number(%q) = %d, %v", w, n, ok)
		}
	}
	if _, ok := Number("sys_admn"); ok {
		t.Fatal("a misspelt name accepted")
	}
	m, err := Mask([]string{"setfcap", "chown"})
	if err != nil || m != 1<<unix.CAP_SETFCAP|1<<unix.CAP_CHOWN || len(Names(m)) != 2 || Names(m)[1] != "setfcap" {
		t.Fatalf("Mask: %x %v %v", m, err, Names(m))
	}
	if Name(63) != "cap_63" || LastCap() < unix.CAP_SETFCAP {
		t.Fatal("names beyond the table")
	}
}

func TestPrctlReads(t *testing.T) {
	for _, name := range []string{"child_subreaper", "pdeathsig", "no_new_privs", "keepcaps", "dumpable"} {
		o, _ := LookupOption(name)
		if _, err := Prctl(o, false, 0); err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
	}
	o, _ := LookupOption("capbset_read")
	v, err := Prctl(o, false, unix.CAP_CHOWN)
	if err != nil || (os.Geteuid() == 0 && v != 1) {
		t.Fatalf("capbset_read chown: %d %v", v, err)
	}
	if _, err := Prctl(o, false, 63); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("capbset_read of an unknown cap: want EINVAL, got %v", err)
	}
	amb, _ := LookupOption("ambient_is_set")
	if v, err := Prctl(amb, false, unix.CAP_CHOWN); err != nil || v != 0 {
		t.Fatalf("ambient chown: %d %v", v, err)
	}
	nnp, _ := LookupOption("no_new_privs")
	if _, err := Prctl(nnp, true, 0); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("no_new_privs 0: want EINVAL, got %v", err)
	}
	if os.Geteuid() != 0 {
		drop, _ := LookupOption("capbset_drop")
		if _, err := Prctl(drop, true, unix.CAP_SETFCAP); !errors.Is(err, unix.EPERM) {
			t.Fatalf("capbset_drop as a user: want EPERM, got %v", err)
		}
	}
}

func TestCapsetRaiseRefused(t *testing.T) {
	runtime.LockOSThread() // the thread is left as it was, or exits with the test
	defer runtime.UnlockOSThread()
	s, err := Get()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		// a user has no permitted caps: raising effective is refused
		err := Set(Sets{Effective: 1 << unix.CAP_SYS_ADMIN})
		if !errors.Is(err, unix.EPERM) {
			t.Fatalf("raising effective beyond permitted: want EPERM, got %v", err)
		}
		return
	}
	if !All(s.Effective) {
		t.Skip("root without every capability")
	}
	if err := Set(s); err != nil { // setting what one has is allowed
		t.Fatal(err)
	}
}
