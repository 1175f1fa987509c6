package mounts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"nsh/runtime/cleanup"
	"nsh/runtime/nsproc"

	"golang.org/x/sys/unix"
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
		reg := &cleanup.Registry{}
		outer := cleanup.ThreadNS("mnt")
		u := &Undo{reg: reg, inHome: func() bool { return true }, goHome: func() error { return nil }, home: outer, outer: []uint64{outer}, byTarget: map[string][]mountReg{}}
		mounted := func(p string) bool {
			tab, _ := List(0)
			_, ok := Find(tab, p)
			return ok
		}
		for _, p := range []string{a, b, d, f} {
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
		// in a namespace of the script's own (private): vanishes with it
		if err := inNestedNS(func() error {
			if err := Tmpfs(c, "1m", ""); err != nil {
				return err
			}
			u.Mounted(c)
			return nil
		}); err != nil {
			return err
		}
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
		for p, want := range map[string]bool{a: false, g: false, e: false, c: false, d: true} {
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
	u := NewUndo(&cleanup.Registry{}, home, false, nil)
	if !u.InHome() || !errors.Is(u.CheckRootChange(), ErrHomeRoot) {
		t.Fatalf("in the starting namespace: InHome %v, CheckRootChange %v", u.InHome(), u.CheckRootChange())
	}
	if err := NewUndo(&cleanup.Registry{}, home, true, nil).CheckRootChange(); err != nil {
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
		goHome: func() error { wentHome++; home = true; return nil }, byTarget: map[string][]mountReg{}}
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

// inNestedNS runs fn with the calling (locked) thread in a new mount
// namespace copied from its own (propagation unchanged), then returns it.
func inNestedNS(fn func() error) error {
	fd, err := unix.Open("/proc/thread-self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return err
	}
	ferr := fn()
	if err := unix.Setns(fd, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("setns back: %w", err)
	}
	return ferr
}

// TestUndoCopies: a mount made under a shared mount in a mount namespace
// of the script's own propagates to the peer in the outer namespace, as
// the kernel does; the copy stays when the own namespace ends, is recorded
// by its peer group, and is undone from the outer namespace (the kernel's
// state checked in mountinfo each time).
func TestUndoCopies(t *testing.T) {
	base := t.TempDir()
	shared := filepath.Join(base, "shared")
	os.MkdirAll(shared, 0o755)
	inMountNS(t, func() error {
		if err := Tmpfs(shared, "1m", ""); err != nil {
			return err
		}
		if err := MakePropagation(shared, "shared", false); err != nil {
			return err
		}
		sub := filepath.Join(shared, "sub")
		os.Mkdir(sub, 0o755)
		reg := &cleanup.Registry{}
		outer := cleanup.ThreadNS("mnt")
		u := &Undo{reg: reg, inHome: func() bool { return true }, goHome: func() error { return nil }, home: outer, outer: []uint64{outer}, byTarget: map[string][]mountReg{}}
		var inner uint64
		if err := inNestedNS(func() error {
			inner = cleanup.ThreadNS("mnt")
			if err := Tmpfs(sub, "1m", ""); err != nil {
				return err
			}
			u.Mounted(sub)
			return nil
		}); err != nil {
			return err
		}
		tab, _ := List(0)
		e, ok := Find(tab, sub)
		if !ok || inner == outer {
			return fmt.Errorf("the copy of %s is not in the outer namespace (the kernel propagates it to the shared peer)", sub)
		}
		p := reg.Pending()
		if len(p) != 1 {
			return fmt.Errorf("registered %d items, want the copy's", len(p))
		}
		if errs := reg.Run(nil); len(errs) > 0 {
			return errors.Join(errs...)
		}
		tab, _ = List(0)
		if _, ok := Find(tab, sub); ok {
			return fmt.Errorf("the copy %v is still mounted after the undo", e)
		}
		return Umount(shared, true, false)
	})
}
