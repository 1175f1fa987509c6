package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Copy copies the tree at src to dst (created; it must not exist or be
// empty), the way an image is copied for a container: directories, regular
// files with their mode bits (setuid, setgid, sticky included), owners when
// allowed, modification times, and symlinks as links. Device nodes, fifos
// and sockets are skipped: a container gets its /dev from mounts.
func Copy(src, dst string) error {
	src = filepath.Clean(src)
	if ents, err := os.ReadDir(dst); err == nil && len(ents) > 0 {
		return fmt.Errorf("copy: destination %s is not empty (an image is copied only into a new or empty directory)", dst)
	}
	type dirTime struct {
		path string
		mt   time.Time
	}
	var dirs []dirTime
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return fileErr(err)
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case fi.IsDir():
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fileErr(err)
			}
			chown(out, fi)
			dirs = append(dirs, dirTime{out, fi.ModTime()})
			return callErr(unix.Chmod(out, modeBits(fi)), "chmod(%q, %#o)", out, modeBits(fi))
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fileErr(err)
			}
			if err := os.Symlink(target, out); err != nil {
				return fileErr(err)
			}
			chown(out, fi)
			return nil
		case fi.Mode().IsRegular():
			if err := copyFile(p, out, fi); err != nil {
				return err
			}
			return fileErr(os.Chtimes(out, fi.ModTime(), fi.ModTime()))
		default:
			return nil // device, fifo, socket
		}
	})
	if err != nil {
		return err
	}
	// Directory times last, since filling a directory changes its mtime.
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Chtimes(dirs[i].path, dirs[i].mt, dirs[i].mt)
	}
	return nil
}
