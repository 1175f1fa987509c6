package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// TestKernelErrors: file failures come back as kerr.Error naming the call,
// the path and the errno.
func TestKernelErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("short\n"), 0o644)
	for _, c := range []struct {
		what  string
		err   error
		call  string
		errno unix.Errno
	}{
		{"Deps of a missing file", second(Deps(filepath.Join(dir, "missing"))), "open(", unix.ENOENT},
		{"Build under a regular file", second(Build(filepath.Join(file, "root"), Options{})), "mkdir(", unix.ENOTDIR},
		{"Size of a missing tree", second(Size(filepath.Join(dir, "missing"))), "lstat(", unix.ENOENT},
		{"Copy of a missing tree", Copy(filepath.Join(dir, "missing"), filepath.Join(dir, "dst")), "lstat(", unix.ENOENT},
	} {
		var ke *kerr.Error
		if !errors.As(c.err, &ke) || !strings.HasPrefix(ke.Call, c.call) || ke.Errno != c.errno {
			t.Errorf("%s: %v (%T), want a kerr.Error for %s...) with %v", c.what, c.err, c.err, c.call, c.errno)
		}
	}
	// A file that is not an ELF object: the call names the file, the text says why.
	_, err := Deps(file)
	var ke *kerr.Error
	if !errors.As(err, &ke) || !strings.Contains(ke.Call, file) || !strings.Contains(err.Error(), "not an ELF file") {
		t.Errorf("Deps of a text file: %v, want a kerr.Error saying it is not an ELF file", err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestRemoveTreeRefusesRoot: no path to "/" is removed; a link to it is
// removed as a link.
func TestRemoveTreeRefusesRoot(t *testing.T) {
	for _, p := range []string{"/", "//", "/tmp/..", "/./"} {
		if err := RemoveTree(p); !errors.Is(err, ErrRemoveRoot) {
			t.Errorf("RemoveTree(%q) = %v, want ErrRemoveRoot", p, err)
		}
	}
	wd, _ := os.Getwd()
	if err := os.Chdir("/"); err == nil {
		err := RemoveTree(".")
		os.Chdir(wd)
		if !errors.Is(err, ErrRemoveRoot) {
			t.Errorf("RemoveTree(\".\") in / = %v, want ErrRemoveRoot", err)
		}
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "root")
	if err := os.Symlink("/", link); err != nil {
		t.Fatal(err)
	}
	if err := RemoveTree(link); err != nil {
		t.Fatalf("RemoveTree of a link to /: %v", err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("the link is still there: %v", err)
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Fatalf("/etc/passwd is gone: %v", err)
	}
	if err := RemoveTree(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("RemoveTree of a missing dir: %v", err)
	}
}

func TestTempDir(t *testing.T) {
	d, err := TempDir("nsh-test")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(d)
	fi, err := os.Stat(d)
	if err != nil || fi.Mode().Perm() != 0o755 || !strings.HasPrefix(filepath.Base(d), "nsh-test-") {
		t.Errorf("TempDir: %s %v %v", d, fi, err)
	}
	for _, bad := range []string{"", "a/b", ".."} {
		if d, err := TempDir(bad); err == nil {
			os.Remove(d)
			t.Errorf("TempDir(%q) accepted", bad)
		}
	}
}

func TestBuildRefuses(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if _, err := Build(dir, Options{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Build into a non-empty dir: %v", err)
	}
}
