package rootfs

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"nsh/runtime/kerr"
)

// LibDirs are the directories searched for DT_NEEDED libraries after any
// DT_RPATH/DT_RUNPATH, in order.
var LibDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// Deps returns the host paths the dynamic loader opens to run the ELF file
// at path: its interpreter (PT_INTERP) and every DT_NEEDED library,
// recursively, each as the path the loader looks up (which may be a symlink).
// A static binary has none.
func Deps(path string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var walk func(p string, top bool) error
	walk = func(p string, top bool) error {
		f, err := openELF(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if top {
			if interp, err := interpreter(f); err != nil {
				return kerr.New(fmt.Sprintf("reading PT_INTERP of %q", p), err, nil)
			} else if interp != "" && !seen[interp] {
				seen[interp] = true
				out = append(out, interp)
			}
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return kerr.New(fmt.Sprintf("reading the dynamic section of %q", p), err, nil)
		}
		dirs := searchDirs(f, p)
		for _, name := range needed {
			lib, err := findLib(name, dirs, f)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if seen[lib] {
				continue
			}
			seen[lib] = true
			out = append(out, lib)
			if err := walk(lib, false); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(path, true); err != nil {
		return nil, err
	}
	return out, nil
}

// openELF opens the ELF file at p: a file the kernel cannot open is a
// kerr.Error for open(2), one that is no ELF object says so.
func openELF(p string) (*elf.File, error) {
	fd, err := os.Open(p)
	if err != nil {
		return nil, fileErr(err)
	}
	fd.Close()
	f, err := elf.Open(p)
	if err != nil {
		return nil, kerr.New(fmt.Sprintf("reading the ELF header of %q", p), fmt.Errorf("not an ELF file (%v)", err), nil)
	}
	return f, nil
}

// interpreter returns the PT_INTERP path of f, "" for a static binary.
func interpreter(f *elf.File) (string, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}

// searchDirs is DT_RPATH (ignored when DT_RUNPATH is present) or DT_RUNPATH,
// with $ORIGIN expanded, then LibDirs.
func searchDirs(f *elf.File, path string) []string {
	var dirs []string
	paths, _ := f.DynString(elf.DT_RUNPATH)
	if len(paths) == 0 {
		paths, _ = f.DynString(elf.DT_RPATH)
	}
	origin := filepath.Dir(path)
	for _, p := range paths {
		for _, d := range strings.Split(p, ":") {
			d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", origin), "$ORIGIN", origin)
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	return append(dirs, LibDirs...)
}

// findLib finds name in dirs, taking the first file that is an ELF object
// of the same class and machine as the one that needs it (a 32-bit libc in
// /lib must not satisfy a 64-bit binary).
func findLib(name string, dirs []string, need *elf.File) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		ok := f.Class == need.Class && f.Machine == need.Machine
		f.Close()
		if ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("library %s not found in %s", name, strings.Join(dirs, ":"))
}
