package nsproc

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	id := func(n int) *int { return &n }
	long := strings.Repeat("x", 65)
	for _, c := range []struct {
		spec  Spec
		field string // "" = valid
		needs Set
	}{
		{Spec{Argv: []string{"true"}}, "", 0},
		{Spec{Types: User, UIDMap: []IDMap{{0, 0, 1}}}, "", 0},
		{Spec{Types: PID, UIDMap: []IDMap{{0, 0, 1}}}, "uid_map/gid_map", User},
		{Spec{GIDMap: []IDMap{{0, 0, 1}}}, "uid_map/gid_map", User},
		{Spec{Types: User, Setgroups: "maybe"}, "setgroups", 0},
		{Spec{Setup: Setup{Hostname: "box"}}, "hostname/domainname", UTS},
		{Spec{Types: Net, Setup: Setup{Domainname: "nis"}}, "hostname/domainname", UTS},
		{Spec{Types: UTS, Setup: Setup{Hostname: "box"}}, "", 0},
		{Spec{Types: UTS, Setup: Setup{Hostname: long}}, "hostname", 0},
		{Spec{UID: id(-1)}, "uid", 0},
		{Spec{GID: id(MaxID + 1)}, "gid", 0},
		{Spec{UID: id(MaxID)}, "", 0},
		{Spec{Join: map[string]string{"bogus": "/x"}}, "join", 0},
		{Spec{Join: map[string]string{"net": "/proc/1/ns/net"}}, "", 0},
	} {
		err := c.spec.Validate()
		var se *SpecError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v: unexpected %v", c.spec, err)
		case c.field != "" && !errors.As(err, &se):
			t.Errorf("%+v: want a SpecError for %s, got %v", c.spec, c.field, err)
		case c.field != "" && (se.Field != c.field || se.Needs != c.needs || se.Rule == ""):
			t.Errorf("%+v: got %#v", c.spec, se)
		}
	}
	// joining a user namespace is what setns(2) refuses a threaded caller
	err := (&Spec{Join: map[string]string{"user": "/proc/1/ns/user"}}).Validate()
	if err == nil || !errors.Is(err, ErrUserInPlace) || IsSpecError(err) {
		t.Fatalf("join user: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	euid, egid := os.Geteuid(), os.Getegid()
	other := euid + 1000
	// a map that does not cover the caller: the child takes the first mapped id
	s := Spec{Types: User, UIDMap: []IDMap{{0, other, 1}}, GIDMap: []IDMap{{7, egid + 1000, 1}}}
	s.Defaults()
	if s.MapUID == nil || *s.MapUID != 0 || s.MapGID == nil || *s.MapGID != 7 {
		t.Fatalf("uncovered maps: MapUID %v MapGID %v", s.MapUID, s.MapGID)
	}
	// a map that covers the caller: nothing to do
	s = Spec{Types: User, UIDMap: []IDMap{{0, euid, 1}}, GIDMap: []IDMap{{0, egid, 1}}}
	s.Defaults()
	if s.MapUID != nil || s.MapGID != nil {
		t.Fatal("a map covering the caller needs no credentials")
	}
	// no user namespace, no default; ids chosen are kept
	five := 5
	s = Spec{Types: User, UIDMap: []IDMap{{0, other, 1}}, MapUID: &five}
	s.Defaults()
	if *s.MapUID != 5 {
		t.Fatal("Defaults replaced a chosen id")
	}
	s = Spec{UIDMap: []IDMap{{0, other, 1}}}
	s.Defaults()
	if s.MapUID != nil {
		t.Fatal("no user namespace: no default")
	}
}

func TestJoinPathsDefault(t *testing.T) {
	m := JoinPaths(42, 0)
	if _, ok := m["user"]; ok || len(m) != len(Types)-1 || m["net"] != "/proc/42/ns/net" {
		t.Fatalf("JoinPaths(42, 0) = %v", m)
	}
	if m := JoinPaths(42, Net|UTS); len(m) != 2 || m["uts"] != "/proc/42/ns/uts" {
		t.Fatalf("JoinPaths(42, Net|UTS) = %v", m)
	}
}
