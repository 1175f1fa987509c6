package mounts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

type pivotReport struct {
	Root    []string // names in "/" after the pivot
	Marker  string   // contents of /marker
	Targets []string // mount points after the pivot
	Cwd     string
}

// helperPivot runs in a child in its own mount namespace.
func helperPivot(rootfs string) (any, error) {
	if err := PivotInto(rootfs); err != nil {
		return nil, err
	}
	var r pivotReport
	ents, err := os.ReadDir("/")
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		r.Root = append(r.Root, e.Name())
	}
	b, err := os.ReadFile("/marker")
	if err != nil {
		return nil, err
	}
	r.Marker = string(b)
	// There is no /proc in the new root: mount one to read our table.
	if err := os.Mkdir("/proc", 0o555); err != nil {
		return nil, err
	}
	if err := Mount("proc", "/proc", "proc", "nosuid,nodev,noexec", ""); err != nil {
		return nil, err
	}
	tab, err := List(0)
	if err != nil {
		return nil, err
	}
	for _, e := range tab {
		r.Targets = append(r.Targets, e.Target)
	}
	r.Cwd, _ = os.Getwd()
	return r, nil
}

func TestPivotIntoChild(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	var r pivotReport
	err := runChild(t, "pivot", dir, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}, &r)
	if err != nil {
		t.Fatal(err)
	}
	if r.Marker != "inside" || r.Cwd != "/" {
		t.Errorf("after PivotInto: /marker=%q cwd=%q, want \"inside\" and \"/\"", r.Marker, r.Cwd)
	}
	// The old root is detached: only the new root and our /proc remain.
	if fmt.Sprint(r.Targets) != "[/ /proc]" {
		t.Errorf("mounts after PivotInto = %v, want [/ /proc]", r.Targets)
	}
	t.Logf("child root %v, mounts %v", r.Root, r.Targets)
}

// TestPivotIntoThread pivots one locked thread only: unshare(CLONE_NEWNS)
// gave it its own fs struct, so the other threads keep the host's root.
func TestPivotIntoThread(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "marker"), []byte("x"), 0o644)
	inMountNS(t, func() error {
		if err := PivotInto(dir); err != nil {
			return err
		}
		if _, err := os.Stat("/marker"); err != nil {
			return fmt.Errorf("pivoted thread does not see /marker: %v", err)
		}
		return nil
	})
	// That thread has exited; this one never saw the pivot.
	if _, err := os.Stat(filepath.Join(dir, "marker")); err != nil {
		t.Fatalf("test thread lost its root: %v", err)
	}
	if _, err := os.Stat("/marker"); err == nil {
		t.Fatalf("pivot leaked to the test thread")
	}
}

// TestPivotRootErrors checks the causes of pivot_root(2) failures one by one,
// in the order the kernel tests them.
func TestPivotRootErrors(t *testing.T) {
	base := t.TempDir()
	newRoot := filepath.Join(base, "new")
	tmp := filepath.Join(base, "tmp")
	for _, d := range []string{newRoot, tmp, filepath.Join(newRoot, "old")} {
		os.MkdirAll(d, 0o755)
	}
	inMountNS(t, func() error {
		// A plain directory on the root's own mount: the kernel's
		// "new_mnt == root_mnt" test comes before the mount-point test,
		// so this is EBUSY, not EINVAL.
		err := PivotRoot(newRoot, filepath.Join(newRoot, "old"))
		if !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("new_root on the root mount: got %v, want EBUSY", err)
		}
		t.Logf("new_root on the root's mount: %v", err)
		if err := Tmpfs(tmp, "1m", ""); err != nil {
			return err
		}
		inTmp := filepath.Join(tmp, "d")
		os.MkdirAll(filepath.Join(inTmp, "old"), 0o755)
		os.MkdirAll(filepath.Join(tmp, "other"), 0o755)
		cases := []struct {
			why          string
			setup        func() error
			newR, putOld string
		}{
			{"new_root is not a mount point", nil, inTmp, filepath.Join(inTmp, "old")},
			// put_old must not be on the root's mount either (EBUSY), so
			// it sits on the tmpfs, outside new_root.
			{"put_old is not under new_root", func() error { return Bind(newRoot, newRoot, false, false) }, newRoot, filepath.Join(tmp, "other")},
			{"new_root is a shared mount", func() error { return MakePropagation(newRoot, "shared", false) }, newRoot, filepath.Join(newRoot, "old")},
			{"new_root's parent mount is shared", func() error {
				if err := Bind(inTmp, inTmp, false, false); err != nil {
					return err
				}
				return MakePropagation(tmp, "shared", false)
			}, inTmp, filepath.Join(inTmp, "old")},
		}
		for _, c := range cases {
			if c.setup != nil {
				if err := c.setup(); err != nil {
					return err
				}
			}
			err := PivotRoot(c.newR, c.putOld)
			if !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("%s: pivot_root gave %v, want EINVAL", c.why, err)
			}
			t.Logf("%s: %v", c.why, err)
		}
		// With the shared flag gone it works: the parent of new_root
		// (the test's / copy) is private since inMountNS made it so.
		return MakePropagation(newRoot, "private", false)
	})
}
