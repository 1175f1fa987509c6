package rootfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// Options says what goes into a root filesystem.
type Options struct {
	Binaries []string // host programs to copy, each with its libraries, e.g. "/bin/sh"
	Busybox  bool     // copy the host's /bin/busybox and link every applet to it
	Nsh      string   // path of a static nsh binary to copy to /bin/nsh ("" for none)
	// ExtraFiles maps a path inside the rootfs to the contents to write there
	// (mode 0644; parent directories are created).
	ExtraFiles map[string]string
}

// Result describes a built rootfs.
type Result struct {
	Dir   string
	Files int   // non-directory entries (files and symlinks)
	Bytes int64 // total size of the regular files
}

// skeleton are the top-level directories with their modes. bin, sbin, lib
// and lib64 mirror the host: symlinks into /usr on a merged-/usr host.
var skeleton = []struct {
	name string
	mode uint32
}{
	{"bin", 0o755}, {"dev", 0o755}, {"etc", 0o755}, {"home", 0o755}, {"lib", 0o755},
	{"lib64", 0o755}, {"mnt", 0o755}, {"proc", 0o555}, {"root", 0o700}, {"run", 0o755},
	{"sbin", 0o755}, {"sys", 0o555}, {"tmp", 0o1777}, {"usr", 0o755}, {"usr/bin", 0o755},
	{"usr/sbin", 0o755}, {"usr/lib", 0o755}, {"var", 0o755}, {"var/tmp", 0o1777},
}

var etcFiles = [...]struct{ name, content string }{
	{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
	{"etc/group", "root:x:0:\nnogroup:x:65534:\n"},
	{"etc/hostname", "nsh\n"},
}

// ErrNoBusybox refuses Options.Busybox on a host without /bin/busybox.
var ErrNoBusybox = errors.New("Busybox: this host has no /bin/busybox (install the busybox package, or list Binaries instead)")

// Validate refuses options Build cannot carry out on this host.
func (opts Options) Validate() error {
	if opts.Busybox {
		if _, err := os.Stat("/bin/busybox"); err != nil {
			return ErrNoBusybox
		}
	}
	return nil
}

// CheckDir refuses a dir Build must not write into: one that exists and is
// not empty (Build writes a whole tree, etc/passwd included).
func CheckDir(dir string) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("dir %q is not empty: a root filesystem is built only into a new or empty directory", dir)
	}
	return nil
}

// Build makes a root filesystem in dir (created if missing; it must be
// empty) from files of the host: the skeleton, /etc files, the binaries
// with their shared libraries, busybox and nsh as asked. A failing file
// call is a kerr.Error naming it.
func Build(dir string, opts Options) (*Result, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fileErr(err)
	}
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fileErr(err)
	}
	for _, s := range skeleton {
		if err := skeletonDir(dir, s.name, s.mode); err != nil {
			return nil, err
		}
	}
	for _, f := range etcFiles {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.content), 0o644); err != nil {
			return nil, fileErr(err)
		}
	}
	bins := append([]string{}, opts.Binaries...)
	if opts.Busybox {
		bins = append(bins, "/bin/busybox")
	}
	for _, b := range bins {
		if err := installBinary(dir, b); err != nil {
			return nil, err
		}
	}
	if opts.Busybox {
		if err := busyboxLinks(dir); err != nil {
			return nil, err
		}
	}
	if opts.Nsh != "" {
		if err := putFile(dir, "/bin/nsh", opts.Nsh, 0o755); err != nil {
			return nil, err
		}
	}
	for name, content := range opts.ExtraFiles {
		p, err := inRoot(dir, name)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fileErr(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, fileErr(err)
		}
	}
	return count(dir)
}

// skeletonDir makes one top-level directory, or the host's symlink when
// the host has a symlink there (merged /usr).
func skeletonDir(root, name string, mode uint32) error {
	host := "/" + name
	if fi, err := os.Lstat(host); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return install(root, host)
	}
	p := filepath.Join(root, name)
	if fi, err := os.Lstat(p); err == nil {
		if fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		return fmt.Errorf("rootfs: %s exists and is not a directory", p)
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		return fileErr(err)
	}
	return callErr(unix.Chmod(p, mode), "chmod(%q, %#o)", p, mode)
}

// installBinary copies the program at path (a host path; a bare name is
// looked up in $PATH) and every library it loads.
func installBinary(root, path string) error {
	if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			return fmt.Errorf("rootfs: binary %q: %w", path, err)
		}
		path = p
	}
	deps, err := Deps(path)
	if err != nil {
		return err
	}
	for _, p := range append([]string{path}, deps...) {
		if err := install(root, p); err != nil {
			return err
		}
	}
	return nil
}

// busyboxLinks links every applet busybox lists to /bin/busybox, unless
// the rootfs already has a file of that name.
func busyboxLinks(root string) error {
	out, err := exec.Command("/bin/busybox", "--list-full").Output()
	if err != nil {
		return kerr.New("/bin/busybox --list-full", err, nil)
	}
	for _, applet := range strings.Fields(string(out)) {
		p, err := inRoot(root, "/"+applet)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fileErr(err)
		}
		if err := os.Symlink("/bin/busybox", p); err != nil {
			return fileErr(err)
		}
	}
	return nil
}

// putFile copies the host file src to name inside root with mode.
func putFile(root, name, src string, mode uint32) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fileErr(err)
	}
	p, err := inRoot(root, name)
	if err != nil {
		return err
	}
	os.Remove(p)
	if err := copyFile(src, p, fi); err != nil {
		return err
	}
	return callErr(unix.Chmod(p, mode), "chmod(%q, %#o)", p, mode)
}

// count walks root for Result.
func count(root string) (*Result, error) {
	r := &Result{Dir: root}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return fileErr(err)
		}
		if !fi.IsDir() {
			r.Files++
		}
		if fi.Mode().IsRegular() {
			r.Bytes += fi.Size()
		}
		return nil
	})
	return r, err
}
