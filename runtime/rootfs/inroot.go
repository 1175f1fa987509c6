package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// inRoot resolves name (a path inside root) to a host path, following the
// rootfs's own symlinks as if root were "/": an absolute link such as
// lib64/ld-linux-x86-64.so.2 -> /lib/... must lead into root, not to the
// host. The last component is not followed if it is missing.
func inRoot(root, name string) (string, error) {
	parts := strings.Split(strings.Trim(filepath.Clean("/"+name), "/"), "/")
	cur := "/"
	for links := 0; len(parts) > 0; {
		comp := parts[0]
		parts = parts[1:]
		if comp == "" {
			continue
		}
		next := filepath.Join(cur, comp)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("rootfs: %s: too many levels of symbolic links", name)
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", fileErr(err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(cur, target)
		}
		parts = append(strings.Split(strings.Trim(filepath.Clean(target), "/"), "/"), parts...)
		cur = "/"
	}
	return filepath.Join(root, cur), nil
}
