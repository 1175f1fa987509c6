package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// RemoveTree deletes the tree at dir like rm -rf --one-file-system: it never
// descends into a directory on another mount (a mount point under dir,
// such as a bind mount of the host's /etc or a container's /proc), so a
// forgotten mount cannot make it delete files outside the tree. When it meets
// one it removes what it can and returns an error naming the mount point.
func RemoveTree(dir string) error {
	id, err := mountID(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	var busy []string
	removeOneFS(dir, id, &busy)
	if len(busy) > 0 {
		return fmt.Errorf("remove %s: not removed: %q is a mount point or on another filesystem (umount it first)", dir, busy[0])
	}
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// mountID is the id of the mount path is on (statx STATX_MNT_ID), which,
// unlike st_dev, also tells a bind mount from the filesystem it shows.
func mountID(path string) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID|unix.STATX_TYPE, &stx); err != nil {
		return 0, err
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
