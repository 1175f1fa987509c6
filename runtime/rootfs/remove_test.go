package rootfs

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRemoveTreeStopsAtMounts: a directory bound into the tree must survive
// RemoveTree, which reports the mount point instead of deleting through it.
func TestRemoveTreeStopsAtMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a mount namespace and a bind mount")
	}
	base := t.TempDir()
	keep := filepath.Join(base, "keep")
	tree := filepath.Join(base, "tree")
	for _, d := range []string{keep, filepath.Join(tree, "a", "m")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(keep, "precious"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(tree, "a", "file"), []byte("y"), 0o644)

	errc := make(chan error, 1)
	go func() {
		// this goroutine's thread goes into a mount namespace and dies with it
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
			errc <- err
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			errc <- err
			return
		}
		if err := unix.Mount(keep, filepath.Join(tree, "a", "m"), "", unix.MS_BIND, ""); err != nil {
			errc <- err
			return
		}
		errc <- RemoveTree(tree)
	}()
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "mount point") {
		t.Fatalf("RemoveTree over a bind mount: got %v, want an error naming the mount point", err)
	}
	if _, serr := os.Stat(filepath.Join(keep, "precious")); serr != nil {
		t.Fatalf("RemoveTree deleted through the bind mount: %v", serr)
	}
	if _, serr := os.Stat(filepath.Join(tree, "a", "file")); !os.IsNotExist(serr) {
		t.Fatalf("RemoveTree left an ordinary file behind: %v", serr)
	}
	if err := RemoveTree(tree); err != nil {
		t.Fatalf("RemoveTree without the mount: %v", err)
	}
}
