package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrRemoveRoot refuses to remove "/" (whatever path leads there).
var ErrRemoveRoot = errors.New("refusing to remove /")

// RemoveTree deletes the tree at dir like rm -rf --one-file-system: it never
// descends into a directory on another mount (a mount point under dir,
// such as a bind mount of the host's /etc or a container's /proc), so a
// forgotten mount cannot make it delete files outside the tree. When it meets
// one it removes what it can and returns an error naming the mount point.
// It refuses "/" (ErrRemoveRoot), whatever path leads there; a symbolic
// link is removed, not followed; a missing dir is no error.
func RemoveTree(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fileErr(err)
	}
	if fi, err := os.Lstat(abs); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		// a link is removed, never followed (as rm -rf does)
		return fileErr(os.Remove(abs))
	}
	if real, err := filepath.EvalSymlinks(abs); abs == "/" || (err == nil && real == "/") {
		return ErrRemoveRoot
	}
	dir = abs
	id, err := mountID(dir)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	var busy []string
	removeOneFS(dir, id, &busy)
	if len(busy) > 0 {
		return fmt.Errorf("remove %s: not removed: %q is a mount point or on another filesystem (umount it first)", dir, busy[0])
	}
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
		return fileErr(err)
	}
	return nil
}

// TempDir creates a new directory /tmp/PREFIX-XXXX with mode 755 (for a
// root filesystem other users' processes may enter); prefix must be a plain
// name.
func TempDir(prefix string) (string, error) {
	if prefix == "" || strings.Contains(prefix, "/") || prefix == "." || prefix == ".." {
		return "", fmt.Errorf("prefix %q must be a plain name without slashes", prefix)
	}
	dir, err := os.MkdirTemp("", prefix+"-")
	if err != nil {
		return "", fileErr(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.Remove(dir)
		return "", fileErr(err)
	}
	return dir, nil
}

// mountID is the id of the mount path is on (statx STATX_MNT_ID), which,
// unlike st_dev, also tells a bind mount from the filesystem it shows.
func mountID(path string) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID|unix.STATX_TYPE, &stx); err != nil {
		return 0, callErr(err, "statx(%q, STATX_MNT_ID)", path)
	}
	return stx.Mnt_id, nil
}

func removeOneFS(dir string, dev uint64, busy *[]string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		*busy = append(*busy, dir)
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		id, err := mountID(p)
		if err != nil {
			continue
		}
		if id != dev {
			*busy = append(*busy, p)
			continue
		}
		if e.IsDir() {
			removeOneFS(p, dev, busy)
			if err := os.Remove(p); err != nil {
				*busy = append(*busy, p)
			}
			continue
		}
		os.Remove(p)
	}
}
