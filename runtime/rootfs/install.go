package rootfs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxLinks bounds symlink chains, as the kernel's 40 (ELOOP).
const maxLinks = 40

// install copies the host path p (absolute) into root at the same path,
// recreating every symlink met on the way (a directory link such as
// /lib -> usr/lib, or libfoo.so.1 -> libfoo.so.1.2) and then following it,
// so the names the loader looks up exist in root as they do on the host.
// A final directory is created empty; a final regular file is copied.
func install(root, p string) error {
	return installDepth(root, filepath.Clean(p), 0)
}

func installDepth(root, p string, depth int) error {
	if depth > maxLinks {
		return fmt.Errorf("install %s: too many levels of symbolic links", p)
	}
	if !filepath.IsAbs(p) {
		return fmt.Errorf("install %s: not an absolute path", p)
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i, comp := range parts {
		next := filepath.Join(cur, comp)
		dst := filepath.Join(root, next)
		last := i == len(parts)-1
		fi, err := os.Lstat(next)
		if err != nil {
			return fileErr(err)
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(next)
			if err != nil {
				return fileErr(err)
			}
			if err := ensureSymlink(target, dst); err != nil {
				return err
			}
			resolved := target
			if !filepath.IsAbs(target) {
				resolved = filepath.Join(cur, target)
			}
			return installDepth(root, filepath.Join(append([]string{resolved}, parts[i+1:]...)...), depth+1)
		case fi.IsDir():
			if err := ensureDir(dst, fi); err != nil {
				return err
			}
		case fi.Mode().IsRegular() && last:
			return copyFile(next, dst, fi)
		default:
			return fmt.Errorf("install %s: %s is a %v, not a directory or regular file", p, next, fi.Mode().Type())
		}
		cur = next
	}
	return nil
}

// ensureSymlink makes dst a symlink to target unless it already is one.
func ensureSymlink(target, dst string) error {
	if old, err := os.Readlink(dst); err == nil {
		if old == target {
			return nil
		}
		return fmt.Errorf("%s already links to %s, not %s", dst, old, target)
	}
	return fileErr(os.Symlink(target, dst))
}

// ensureDir makes dst a directory with fi's permissions unless it exists.
func ensureDir(dst string, fi os.FileInfo) error {
	if st, err := os.Lstat(dst); err == nil {
		if st.IsDir() {
			return nil
		}
		return fmt.Errorf("%s exists and is not a directory", dst)
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return fileErr(err)
	}
	return callErr(unix.Chmod(dst, modeBits(fi)), "chmod(%q, %#o)", dst, modeBits(fi))
}

// modeBits is fi's permission bits including setuid, setgid and sticky,
// as chmod(2) takes them.
func modeBits(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Mode & 0o7777
	}
	return uint32(fi.Mode().Perm())
}

// copyFile copies the regular file src to dst (which must not exist),
// keeping its mode bits and, when allowed, its owner.
func copyFile(src, dst string, fi os.FileInfo) error {
	in, err := os.Open(src)
	if err != nil {
		return fileErr(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if os.IsExist(err) {
		return nil // already installed (shared by two binaries)
	}
	if err != nil {
		return fileErr(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fileErr(err)
	}
	if err := out.Close(); err != nil {
		return fileErr(err)
	}
	chown(dst, fi)
	return callErr(unix.Chmod(dst, modeBits(fi)), "chmod(%q, %#o)", dst, modeBits(fi))
}

// chown gives dst fi's owner; failure (not root) leaves the caller's.
func chown(dst string, fi os.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		_ = os.Lchown(dst, int(st.Uid), int(st.Gid))
	}
}
