package mounts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"nsh/runtime/cleanup"
	"nsh/runtime/nsproc"
)

// TestUndoPolicy: which mounts are registered for unmounting and which are
// not, with real mounts on a thread in a mount namespace of its own (which
// stands in for the "home" namespace; the test decides where "home" is).
func TestUndoPolicy(t *testing.T) {
	base := t.TempDir()
	dir := func(n string) string {
		d := filepath.Join(base, n)
		os.MkdirAll(d, 0o755)
		return d
	}
	a, b, c, d, e, f, g := dir("a"), dir("b"), dir("c"), dir("d"), dir("e"), dir("f"), dir("g")
	inMountNS(t, func() error {
		home := true
		reg := &cleanup.Registry{}
		u := &Undo{reg: reg, inHome: func() bool { return home }, goHome: func() error { return nil }, byTarget: map[string][]*cleanup.Item{}}
		mounted := func(p string) bool {
			tab, _ := List(0)
			_, ok := Find(tab, p)
			return ok
		}
		for _, p := range []string{a, b, c, d, f} {
			if err := Tmpfs(p, "1m", ""); err != nil {
				return err
			}
		}
		u.Mounted(a)
		u.Mounted(b)
		if err := Umount(b, false, false); err != nil {
			return err
		}
		u.Unmounted(b) // by hand: not again at the end
		home = false
		u.Mounted(c) // in a namespace of the script's own: vanishes with it
		home = true
		u.MountCall("", d, "remount,ro") // changes a mount, makes none
		u.MountCall("", d, "rprivate")   // the same
		if err := Move(f, g); err != nil {
			return err
		}
		u.MountCall(f, g, "move")
		os.Chdir(base)
		if err := Tmpfs("e", "1m", ""); err != nil {
			return err
		}
		u.MountCall("tmpfs", "e", "nosuid") // relative: registered as base/e
		var what []string
		for _, it := range reg.Pending() {
			what = append(what, it.What)
		}
		want := fmt.Sprint([]string{"mount " + a, "mount " + g, "mount " + e})
		if fmt.Sprint(what) != want {
			return fmt.Errorf("registered %v, want %v", what, want)
		}
		if errs := reg.Run(nil); len(errs) > 0 {
			return errors.Join(errs...)
		}
		for p, want := range map[string]bool{a: false, g: false, e: false, c: true, d: true} {
			if mounted(p) != want {
				return fmt.Errorf("after the undo, %s mounted: %v, want %v", p, !want, want)
			}
		}
		return nil
	})
}

// TestUndoHome: NewUndo tells the namespace the session started in from
// one of the script's own, and refuses root changes only in the first.
func TestUndoHome(t *testing.T) {
	home, err := nsproc.OpenHome()
	if err != nil {
		t.Fatal(err)
	}
	u := NewUndo(&cleanup.Registry{}, home, false)
	if !u.InHome() || !errors.Is(u.CheckRootChange(), ErrHomeRoot) {
		t.Fatalf("in the starting namespace: InHome %v, CheckRootChange %v", u.InHome(), u.CheckRootChange())
	}
	if err := NewUndo(&cleanup.Registry{}, home, true).CheckRootChange(); err != nil {
		t.Errorf("a child session was refused: %v", err)
	}
	inMountNS(t, func() error {
		if u.InHome() || u.CheckRootChange() != nil {
			return fmt.Errorf("in a new mount namespace: InHome %v, CheckRootChange %v", u.InHome(), u.CheckRootChange())
		}
		return nil
	})
}

// TestUndoFromHome: an undo that fails outside the home namespace is tried
// once more from home; at home a failure is final.
func TestUndoFromHome(t *testing.T) {
	home, wentHome, calls := false, 0, 0
	u := &Undo{reg: &cleanup.Registry{}, inHome: func() bool { return home },
		goHome: func() error { wentHome++; home = true; return nil }, byTarget: map[string][]*cleanup.Item{}}
	fail := errors.New("covered by a mount")
	err := u.FromHome(func() error {
		calls++
		if !home {
			return fail
		}
		return nil
	})
	if err != nil || calls != 2 || wentHome != 1 {
		t.Errorf("from outside: err %v, %d calls, %d returns home; want nil, 2, 1", err, calls, wentHome)
	}
	calls = 0
	if err := u.FromHome(func() error { calls++; return fail }); !errors.Is(err, fail) || calls != 1 {
		t.Errorf("at home: err %v, %d calls; want the failure after 1 call", err, calls)
	}
}
