package mounts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// dirs makes named directories under a fresh temp dir.
func dirs(t *testing.T, names ...string) map[string]string {
	base := t.TempDir()
	m := map[string]string{}
	for _, n := range names {
		m[n] = filepath.Join(base, n)
		if err := os.MkdirAll(m[n], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func entry(target string) (Entry, error) {
	tab, err := List(0)
	if err != nil {
		return Entry{}, err
	}
	e, ok := Find(tab, target)
	if !ok {
		return e, fmt.Errorf("%s is not in the mount table", target)
	}
	return e, nil
}

// TestPropagation: shared gives shared:N; a bind of it joins peer group N;
// making the bind a slave turns that into master:N, and events flow one way.
func TestPropagation(t *testing.T) {
	d := dirs(t, "a", "b", "u", "v")
	inMountNS(t, func() error {
		if err := Tmpfs(d["a"], "1m", ""); err != nil {
			return err
		}
		if err := MakePropagation(d["a"], "shared", false); err != nil {
			return err
		}
		a, err := entry(d["a"])
		if err != nil || a.Shared == 0 || a.Kind() != "shared" {
			return fmt.Errorf("after make shared: %+v %v", a, err)
		}
		if err := Bind(d["a"], d["b"], false, false); err != nil {
			return err
		}
		b, _ := entry(d["b"])
		if b.Shared != a.Shared {
			return fmt.Errorf("bind of a shared mount: shared:%d, want the peer group shared:%d", b.Shared, a.Shared)
		}
		if err := MakePropagation(d["b"], "slave", false); err != nil {
			return err
		}
		b, _ = entry(d["b"])
		if b.Master != a.Shared || b.Shared != 0 || b.Kind() != "private,slave" {
			return fmt.Errorf("after make slave: %+v, want master:%d", b, a.Shared)
		}
		// A mount under the master appears under the slave ...
		os.Mkdir(filepath.Join(d["a"], "sub"), 0o755)
		if err := Tmpfs(filepath.Join(d["a"], "sub"), "1m", ""); err != nil {
			return err
		}
		if _, err := entry(filepath.Join(d["b"], "sub")); err != nil {
			return fmt.Errorf("master -> slave: %v", err)
		}
		// ... but not the other way round.
		os.Mkdir(filepath.Join(d["b"], "back"), 0o755)
		if err := Tmpfs(filepath.Join(d["b"], "back"), "1m", ""); err != nil {
			return err
		}
		if _, err := entry(filepath.Join(d["a"], "back")); err == nil {
			return fmt.Errorf("slave -> master: the mount propagated back")
		}
		// An unbindable mount refuses to be bound.
		if err := Tmpfs(d["u"], "1m", ""); err != nil {
			return err
		}
		if err := MakePropagation(d["u"], "unbindable", false); err != nil {
			return err
		}
		if u, _ := entry(d["u"]); u.Kind() != "private,unbindable" {
			return fmt.Errorf("unbindable: %+v", u)
		}
		if err := Bind(d["u"], d["v"], false, false); !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("bind of an unbindable mount: %v, want EINVAL", err)
		}
		if err := MakePropagation(d["u"], "sideways", false); err == nil || !strings.Contains(err.Error(), "private, shared") {
			return fmt.Errorf("bad kind: %v", err)
		}
		return nil
	})
}

func TestBindReadonly(t *testing.T) {
	d := dirs(t, "src", "dst", "rdst")
	os.MkdirAll(filepath.Join(d["src"], "sub"), 0o755)
	inMountNS(t, func() error {
		if err := Tmpfs(filepath.Join(d["src"], "sub"), "1m", ""); err != nil {
			return err
		}
		if err := Mount("", filepath.Join(d["src"], "sub"), "", "remount,nosuid,nodev", ""); err != nil {
			return err
		}
		// Non-recursive: one remount, the nodev/nosuid of the source kept.
		if err := Bind(filepath.Join(d["src"], "sub"), d["dst"], false, true); err != nil {
			return err
		}
		err := os.WriteFile(filepath.Join(d["dst"], "f"), nil, 0o644)
		if !errors.Is(err, unix.EROFS) {
			return fmt.Errorf("write into read-only bind: %v, want EROFS", err)
		}
		e, _ := entry(d["dst"])
		if !strings.Contains(e.Options, "ro") || !strings.Contains(e.Options, "nodev") {
			return fmt.Errorf("read-only bind options %q lost ro or nodev", e.Options)
		}
		// Recursive: the submount is read-only too.
		if err := Bind(d["src"], d["rdst"], true, true); err != nil {
			return err
		}
		err = os.WriteFile(filepath.Join(d["rdst"], "sub", "f"), nil, 0o644)
		if !errors.Is(err, unix.EROFS) {
			return fmt.Errorf("write into submount of recursive read-only bind: %v, want EROFS", err)
		}
		// The source stays writable.
		return os.WriteFile(filepath.Join(d["src"], "sub", "f"), nil, 0o644)
	})
}

func TestUmountAndMove(t *testing.T) {
	d := dirs(t, "a", "b", "plain")
	inMountNS(t, func() error {
		err := Umount(d["plain"], false, false)
		if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "not a mount point") {
			return fmt.Errorf("umount of a plain dir: %v", err)
		}
		if err := Tmpfs(d["a"], "1m", ""); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(d["a"], "open"))
		if err != nil {
			return err
		}
		err = Umount(d["a"], false, false)
		if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "still uses") {
			f.Close()
			return fmt.Errorf("umount with an open file: %v, want EBUSY", err)
		}
		f.Close()
		if err := Move(d["a"], d["b"]); err != nil {
			return err
		}
		if _, err := entry(d["a"]); err == nil {
			return fmt.Errorf("after move, %s is still a mount", d["a"])
		}
		if _, err := os.Stat(filepath.Join(d["b"], "open")); err != nil {
			return fmt.Errorf("after move: %v", err)
		}
		if err := Move(d["plain"], d["a"]); !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("move of a non-mount: %v, want EINVAL", err)
		}
		return Umount(d["b"], true, false)
	})
}

func TestDiff(t *testing.T) {
	d := dirs(t, "a", "b")
	inMountNS(t, func() error {
		if err := Tmpfs(d["b"], "1m", ""); err != nil {
			return err
		}
		before, err := List(0)
		if err != nil {
			return err
		}
		if err := Tmpfs(d["a"], "1m", ""); err != nil {
			return err
		}
		if err := Mount("", d["b"], "", "remount,ro", ""); err != nil {
			return err
		}
		after, err := List(0)
		if err != nil {
			return err
		}
		onlyA, onlyB, changed := Diff(before, after)
		if len(onlyA) != 0 || len(onlyB) != 1 || onlyB[0].Target != d["a"] {
			return fmt.Errorf("Diff: onlyBefore %v, onlyAfter %v", onlyA, onlyB)
		}
		if len(changed) != 1 || changed[0][0].Target != d["b"] || !strings.HasPrefix(changed[0][1].Options, "ro") {
			return fmt.Errorf("Diff changed: %+v", changed)
		}
		// Two views of the same table differ in nothing.
		if a, b, c := Diff(after, after); len(a)+len(b)+len(c) != 0 {
			return fmt.Errorf("Diff of a table with itself: %v %v %v", a, b, c)
		}
		return nil
	})
}

func TestTmpfsOverlay(t *testing.T) {
	d := dirs(t, "t", "l1", "l2", "up", "work", "merged")
	os.WriteFile(filepath.Join(d["l1"], "top"), []byte("l1"), 0o644)
	os.WriteFile(filepath.Join(d["l2"], "top"), []byte("l2"), 0o644)
	os.WriteFile(filepath.Join(d["l2"], "low"), []byte("l2"), 0o644)
	if err := Tmpfs(d["t"], "10q", ""); err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("bad size: %v", err)
	}
	if err := Overlay(nil, "", "", d["merged"]); err == nil {
		t.Errorf("overlay without lower accepted")
	}
	inMountNS(t, func() error {
		if err := Tmpfs(d["t"], "1m", "700"); err != nil {
			return err
		}
		e, _ := entry(d["t"])
		if !strings.Contains(e.SuperOptions, "size=1024k") || !strings.Contains(e.SuperOptions, "mode=700") {
			return fmt.Errorf("tmpfs superblock options %q", e.SuperOptions)
		}
		if err := Overlay([]string{d["l1"], d["l2"]}, d["up"], d["work"], d["merged"]); err != nil {
			return err
		}
		top, _ := os.ReadFile(filepath.Join(d["merged"], "top"))
		low, _ := os.ReadFile(filepath.Join(d["merged"], "low"))
		if string(top) != "l1" || string(low) != "l2" {
			return fmt.Errorf("overlay reads top=%q low=%q, want l1 and l2", top, low)
		}
		if err := os.WriteFile(filepath.Join(d["merged"], "new"), []byte("w"), 0o644); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(d["up"], "new")); err != nil {
			return fmt.Errorf("write did not land in upper: %v", err)
		}
		e, _ = entry(d["merged"])
		if e.FSType != "overlay" || !strings.Contains(e.SuperOptions, "lowerdir=") {
			return fmt.Errorf("overlay entry %+v", e)
		}
		return nil
	})
}
