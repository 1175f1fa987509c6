package files

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

func errnoOf(t *testing.T, err error) unix.Errno {
	t.Helper()
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		t.Fatalf("want a kerr.Error, got %v", err)
	}
	return ke.Errno
}

func TestStatTypesAndDevices(t *testing.T) {
	d := t.TempDir()
	if err := Mkdir(filepath.Join(d, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Symlink("sub", filepath.Join(d, "ln")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{d + "/sub": "dir", "/dev/null": "char", "/proc/self/exe": "file"} {
		in, err := Stat(path, true)
		if err != nil || in.Type != want {
			t.Fatalf("stat(%s) = %+v, %v; want type %s", path, in, err, want)
		}
	}
	in, err := Stat(d+"/ln", false)
	if err != nil || in.Type != "symlink" || in.Size != 3 {
		t.Fatalf("lstat of a link: %+v, %v", in, err)
	}
	null, _ := Stat("/dev/null", true)
	if null.Rdev != [2]uint32{1, 3} || !null.HasMountID || null.MountID == 0 {
		t.Fatalf("/dev/null is 1:3 with a mount id, got %+v", null)
	}
	if _, err := Stat(d+"/none", true); errnoOf(t, err) != unix.ENOENT {
		t.Fatalf("stat of nothing: %v", err)
	}
}

func TestDirectoryCalls(t *testing.T) {
	d := t.TempDir()
	old := Umask(0o022)
	defer Umask(old)
	if CurrentUmask() != 0o022 {
		t.Fatalf("umask not read back")
	}
	if err := Mkdir(d+"/a", 0o777); err != nil {
		t.Fatal(err)
	}
	if in, _ := Stat(d+"/a", true); in.Mode != 0o755 {
		t.Fatalf("mkdir 0777 with umask 022 gives 0755, got %o", in.Mode)
	}
	if err := Mkdir(d+"/a", 0o777); errnoOf(t, err) != unix.EEXIST {
		t.Fatalf("mkdir twice: %v", err)
	}
	if err := Mknod(d+"/a/fifo", "fifo", 0, 0, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Rmdir(d + "/a"); errnoOf(t, err) != unix.ENOTEMPTY {
		t.Fatalf("rmdir of a full directory: %v", err)
	}
	es, err := Readdir(d + "/a")
	if err != nil || len(es) != 1 || es[0] != (Entry{"fifo", "fifo"}) {
		t.Fatalf("readdir: %v %v", es, err)
	}
	if err := Chmod(d+"/a/fifo", 0o640); err != nil {
		t.Fatal(err)
	}
	if in, _ := Stat(d+"/a/fifo", true); in.Mode != 0o640 || in.Type != "fifo" {
		t.Fatalf("chmod: %+v", in)
	}
	if _, err := Readdir(d + "/a/fifo"); errnoOf(t, err) != unix.ENOTDIR {
		t.Fatalf("readdir of a fifo: %v", err)
	}
	os.Remove(d + "/a/fifo")
	if err := Rmdir(d + "/a"); err != nil {
		t.Fatal(err)
	}
	if err := Mknod(d+"/x", "pipe", 0, 0, 0); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func TestPrivilegedNodes(t *testing.T) {
	d := t.TempDir()
	err := Mknod(d+"/null", "char", 1, 3, 0o666)
	if os.Geteuid() != 0 {
		if errnoOf(t, err) != unix.EPERM {
			t.Fatalf("mknod char as a user: want EPERM, got %v", err)
		}
		if err := Chown(d, 0, 0, true); errnoOf(t, err) != unix.EPERM {
			t.Fatalf("chown to root as a user: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	in, _ := Stat(d+"/null", true)
	if in.Type != "char" || in.Rdev != [2]uint32{1, 3} {
		t.Fatalf("mknod 1:3: %+v", in)
	}
	if err := Chown(d+"/null", 65534, 65534, true); err != nil {
		t.Fatal(err)
	}
	if in, _ := Stat(d+"/null", true); in.UID != 65534 || in.GID != 65534 {
		t.Fatalf("chown: %+v", in)
	}
}

func TestOpenClose(t *testing.T) {
	f, err := Open("/proc/self/ns/net", []string{"rdonly"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := Close(f); err != nil {
		t.Fatal(err)
	}
	if err := Close(f); errnoOf(t, err) != unix.EBADF {
		t.Fatalf("close twice: %v", err)
	}
	if _, err := Open(t.TempDir(), []string{"wronly"}, 0); errnoOf(t, err) != unix.EISDIR {
		t.Fatalf("open a directory for writing: %v", err)
	}
	if _, err := Open("/x", []string{"bogus"}, 0); err == nil {
		t.Fatal("bogus flag accepted")
	}
}

func TestChdirChroot(t *testing.T) {
	if err := Chdir("/nonexistent/x"); errnoOf(t, err) != unix.ENOENT {
		t.Fatalf("chdir: %v", err)
	}
	if os.Geteuid() != 0 {
		if err := Chroot("/"); errnoOf(t, err) != unix.EPERM {
			t.Fatalf("chroot as a user: %v", err)
		}
	}
}
