package nsproc

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestSet(t *testing.T) {
	s, err := ParseSet("pid,mount", "user", "pid")
	if err != nil {
		t.Fatal(err)
	}
	if s != PID|Mnt|User {
		t.Fatalf("ParseSet: got %#v", s)
	}
	if !s.Has(User) || !s.Has(PID|Mnt) || s.Has(Net) || s.Has(PID|Net) || s.Has(0) {
		t.Fatalf("Has is wrong for %#v", s)
	}
	if got := s.Flags(); got != unix.CLONE_NEWPID|unix.CLONE_NEWNS|unix.CLONE_NEWUSER {
		t.Fatalf("Flags: %#x", got)
	}
	if s.String() != "mnt,pid,user" || s.Len() != 3 {
		t.Fatalf("String/Len: %q %d", s.String(), s.Len())
	}
	if n := s.Names(); len(n) != 3 || n[0] != "mnt" || n[1] != "pid" || n[2] != "user" {
		t.Fatalf("Names (canonical order): %v", n)
	}
	if ts := s.Types(); len(ts) != 3 || ts[0].Flag != unix.CLONE_NEWNS || SetOf(ts...) != s {
		t.Fatalf("Types: %+v", ts)
	}
	if s.Without(User) != PID|Mnt || s.Add(Net).Without(s) != Net {
		t.Fatal("Add/Without")
	}
	if _, ok := s.Type(); ok {
		t.Fatal("Type of a 3-element set")
	}
	if ty, ok := Time.Type(); !ok || ty.Name != "time" || ty.Set() != Time {
		t.Fatalf("Time.Type(): %+v %v", ty, ok)
	}
	if All.Len() != len(Types) || !Set(0).Empty() || All.Empty() {
		t.Fatal("All/Empty")
	}
	for _, ty := range Types {
		if !All.Has(ty.Set()) {
			t.Fatalf("All lacks %s", ty.Name)
		}
	}
	if _, err := ParseSet("bogus"); err == nil {
		t.Fatal("ParseSet(bogus) must fail")
	}
}

func TestNoPdeathsig(t *testing.T) {
	if NoPdeathsig(Spec{Argv: []string{"true"}}) {
		t.Fatal("a plain child keeps its parent-death signal")
	}
	if !NoPdeathsig(Spec{NoPdeath: true}) {
		t.Fatal("NoPdeath asks for none")
	}
	if !NoPdeathsig(Spec{Join: map[string]string{"pid": "/proc/1/ns/pid"}}) {
		t.Fatal("a child joining a PID namespace gets none")
	}
	if NoPdeathsig(Spec{Join: map[string]string{"net": "/proc/1/ns/net"}}) {
		t.Fatal("joining a network namespace keeps it")
	}
}

// TestGoStringNamesConstants: GoString spells each type as its constant,
// and the aliases parse as their types.
func TestGoStringNamesConstants(t *testing.T) {
	if got, want := All.GoString(), "nsproc.Mnt|nsproc.UTS|nsproc.IPC|nsproc.PID|nsproc.Net|nsproc.User|nsproc.Cgroup|nsproc.Time"; got != want {
		t.Fatalf("All.GoString() = %q, want %q", got, want)
	}
	for in, want := range map[string]Set{"mount": Mnt, "ns": Mnt, "network": Net, "hostname": UTS} {
		if got, err := ParseSet(in); err != nil || got != want {
			t.Errorf("ParseSet(%q) = %#v, %v; want %#v", in, got, err, want)
		}
	}
}
