package statedir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirIsMadePrivateAndTidied(t *testing.T) {
	d := filepath.Join(t.TempDir(), "state")
	t.Setenv(StateDirEnv, d)
	got, err := Sub("labs")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{d, got} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v, mode %v; want 0700", p, err, st.Mode())
		}
	}
	if e, err := Existing("labs"); err != nil || e != got {
		t.Fatalf("Existing = %q, %v", e, err)
	}
	if _, err := Existing("nothing"); !os.IsNotExist(err) {
		t.Fatalf("Existing(nothing): %v, want not-exist", err)
	}
	Tidy("labs")
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Fatalf("Tidy left %s: %v", d, err)
	}
}

func TestDirRefusesWhatOthersCouldChange(t *testing.T) {
	tmp := t.TempDir()
	link := filepath.Join(tmp, "link")
	os.Symlink(tmp, link)
	open := filepath.Join(tmp, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, nil, 0o600)
	for p, want := range map[string]string{link: "not a directory", open: "others may write", file: "not a directory"} {
		t.Setenv(StateDirEnv, p)
		if _, err := Dir(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Dir() at %s: %v, want %q", p, err, want)
		}
	}
	if os.Geteuid() == 0 {
		foreign := filepath.Join(tmp, "foreign")
		os.Mkdir(foreign, 0o700)
		os.Chown(foreign, 1000, 1000)
		t.Setenv(StateDirEnv, foreign)
		if _, err := Dir(); err == nil || !strings.Contains(err.Error(), "belongs to uid 1000") {
			t.Errorf("Dir() at a foreign directory: %v", err)
		}
	}
}

func TestTrusted(t *testing.T) {
	tmp := t.TempDir()
	ok := filepath.Join(tmp, "ok")
	os.WriteFile(ok, []byte("x"), 0o755)
	if err := Trusted(ok, false); err != nil {
		t.Fatalf("own file: %v", err)
	}
	if err := Trusted(tmp, false); err == nil {
		t.Errorf("a directory passed as a file")
	}
	gw := filepath.Join(tmp, "gw")
	os.WriteFile(gw, nil, 0o600)
	os.Chmod(gw, 0o620)
	if err := Trusted(gw, false); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("group-writable: %v", err)
	}
	ln := filepath.Join(tmp, "ln")
	os.Symlink(ok, ln)
	if err := Trusted(ln, false); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("link: %v", err)
	}
	// a sticky, world-writable directory above is fine (as /tmp is) ...
	sticky := filepath.Join(tmp, "sticky")
	os.Mkdir(sticky, 0o700)
	os.Chmod(sticky, os.ModeSticky|0o777)
	in := filepath.Join(sticky, "f")
	os.WriteFile(in, nil, 0o644)
	if err := Trusted(in, false); err != nil {
		t.Errorf("under a sticky directory: %v", err)
	}
	// ... but a non-sticky one is not
	os.Chmod(sticky, 0o777)
	if err := Trusted(in, false); err == nil {
		t.Errorf("under a world-writable directory: trusted")
	}
	b, err := ReadTrusted(ok)
	if err != nil || string(b) != "x" {
		t.Errorf("ReadTrusted = %q, %v", b, err)
	}
}

func TestStartTime(t *testing.T) {
	a, err := StartTime(os.Getpid())
	if err != nil || a == 0 {
		t.Fatalf("StartTime(self) = %d, %v", a, err)
	}
	if one, err := StartTime(1); err != nil || one > a {
		t.Errorf("PID 1 started at %d, after this test (%d)? %v", one, a, err)
	}
	// a pid nobody has is "no such file", as os.ReadFile said
	if _, err := StartTime(1 << 30); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("StartTime of a pid nobody has: %v, want a not-exist error", err)
	}
}

func TestHostUIDOutsideAUserNamespace(t *testing.T) {
	b, _ := os.ReadFile("/proc/self/uid_map")
	if strings.Fields(string(b))[2] != "4294967295" {
		t.Skip("running inside a user namespace")
	}
	if HostUID() != os.Geteuid() {
		t.Errorf("HostUID = %d, euid %d", HostUID(), os.Geteuid())
	}
}
