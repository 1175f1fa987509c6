package rootfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestDepsOfSh(t *testing.T) {
	deps, err := Deps("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	var libc, interp bool
	for _, d := range deps {
		libc = libc || filepath.Base(d) == "libc.so.6"
		interp = interp || strings.HasPrefix(filepath.Base(d), "ld-linux")
	}
	if !libc || !interp {
		t.Errorf("Deps(/bin/sh) = %v: want libc.so.6 and the ld-linux interpreter", deps)
	}
	if _, err := Deps("/etc/passwd"); err == nil {
		t.Error("Deps of a text file succeeded")
	}
}

// runIn runs argv chrooted into dir and returns its output.
func runIn(t *testing.T, dir string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: dir}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/bin:/usr/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chroot %s %v: %v (%s)", dir, argv, err, out)
	}
	return string(out)
}

func TestBuildAndRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chroot(2) needs CAP_SYS_CHROOT")
	}
	dir := filepath.Join(t.TempDir(), "root")
	res, err := Build(dir, Options{
		Binaries:   []string{"/bin/sh", "/bin/echo", "ls"},
		ExtraFiles: map[string]string{"/etc/motd": "hello\n", "/lib64/../srv/x": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := runIn(t, dir, "/bin/echo", "1"); got != "1\n" {
		t.Errorf("chroot /bin/echo 1 printed %q, want \"1\\n\"", got)
	}
	if got := runIn(t, dir, "/bin/sh", "-c", "echo $((6*7)); ls /etc"); !strings.Contains(got, "42") || !strings.Contains(got, "passwd") {
		t.Errorf("sh in the rootfs printed %q", got)
	}
	for _, f := range []string{"etc/passwd", "etc/group", "etc/hostname", "etc/motd", "srv/x", "tmp", "proc"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("rootfs lacks %s: %v", f, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "tmp")); fi == nil || fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("/tmp is not sticky: %v", fi)
	}
	if res.Files < 5 || res.Bytes < 1<<20 {
		t.Errorf("Result %+v looks too small", res)
	}
	t.Logf("built %+v", res)
}

func TestSizeAndCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if _, err := Build(src, Options{Binaries: []string{"/bin/echo"}}); err != nil {
		t.Fatal(err)
	}
	before, err := Size(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "big"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	after, _ := Size(src)
	if after-before < 1<<20 {
		t.Errorf("Size grew by %d after a 1 MiB file, want at least 1 MiB", after-before)
	}
	// A hard link adds no blocks.
	os.Link(filepath.Join(src, "big"), filepath.Join(src, "big2"))
	if linked, _ := Size(src); linked != after {
		t.Errorf("Size counted a hard link again: %d -> %d", after, linked)
	}
	os.Chmod(filepath.Join(src, "big"), 0o755|os.ModeSetuid)
	dst := filepath.Join(dir, "dst")
	if err := Copy(src, dst); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dst, "big"))
	if err != nil || fi.Mode()&os.ModeSetuid == 0 {
		t.Errorf("copy lost the setuid bit: %v %v", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "bin")); err != nil && !isDir(filepath.Join(dst, "bin")) {
		t.Errorf("copy lost /bin: %q %v", l, err)
	}
	if err := Copy(src, dst); err == nil {
		t.Error("Copy into a non-empty directory succeeded")
	}
	if os.Geteuid() == 0 {
		if got := runIn(t, dst, "/bin/echo", "copied"); got != "copied\n" {
			t.Errorf("echo in the copy printed %q", got)
		}
	}
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

func TestInRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755)
	os.Symlink("/usr/lib", filepath.Join(root, "lib"))
	os.Symlink("../../etc", filepath.Join(root, "usr/lib/up"))
	for name, want := range map[string]string{
		"/lib/x":        "/usr/lib/x",
		"lib/up/passwd": "/etc/passwd",
		"/../../etc":    "/etc",
	} {
		got, err := inRoot(root, name)
		if err != nil || got != filepath.Join(root, want) {
			t.Errorf("inRoot(%q) = %q, %v; want %q", name, got, err, filepath.Join(root, want))
		}
	}
}

func TestBusyboxAbsent(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err == nil {
		t.Skip("host has busybox; covered by building with it")
	}
	_, err := Build(t.TempDir(), Options{Busybox: true})
	if err == nil || !strings.Contains(err.Error(), "busybox") {
		t.Errorf("Busybox without /bin/busybox: %v", err)
	}
}
