package rootfs

import (
	"os"
	"path/filepath"
	"syscall"
)

// Size is what du reports for dir, in bytes: the blocks allocated to every
// file, directory and symlink under it, each inode counted once (hard links
// and files shared with nothing else alike). Sparse files count only their
// allocated blocks.
func Size(dir string) (int64, error) {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var total int64
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return fileErr(err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		k := inode{uint64(st.Dev), st.Ino}
		if seen[k] {
			return nil
		}
		seen[k] = true
		total += st.Blocks * 512
		return nil
	})
	return total, err
}
