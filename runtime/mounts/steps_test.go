package mounts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"nsh/runtime/nsproc"
)

// TestContainerStepOrder: the set-up runs in runc's and bubblewrap's order,
// whatever the options: private first, the new root bound before anything is
// mounted on it, every mount before pivot_root, the old root detached right
// after it, read-only paths and masks after the pivot, masks last.
func TestContainerStepOrder(t *testing.T) {
	full := FullContainer()
	cases := []struct {
		c    Container
		want []string
	}{
		{full, []string{"make / rprivate", "bind rootfs onto itself", "mount proc", "mount sysfs", "mount /dev (tmpfs)",
			"mount mqueue", "pivot_root", "detach old root", "read-only paths", "mask paths"}},
		{Container{Rootfs: "/r"}, []string{"make / rprivate", "bind rootfs onto itself", "pivot_root", "detach old root"}},
		{Container{Rootfs: "/r", Dev: DevKernel, DevPts: true, Shm: true, MaskPaths: []string{"/proc/keys"}},
			[]string{"make / rprivate", "bind rootfs onto itself", "mount /dev (devtmpfs)", "mount /dev/pts and /dev/shm",
				"pivot_root", "detach old root", "mask paths"}},
		// without a rootfs the mounts go over the current root: no pivot
		{Container{Proc: true, Mqueue: true, ReadonlyPaths: []string{"/proc/sys"}},
			[]string{"make / rprivate", "mount proc", "mount mqueue", "read-only paths"}},
		{Container{}, []string{"make / rprivate"}},
	}
	for _, c := range cases {
		if got := c.c.Unprotected().StepNames(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Steps(%+v):\n  got  %q\n  want %q", c.c, got, c.want)
		}
	}
}

// TestProtectionStepOrder: the protections follow every mount, descriptors
// first, the seccomp filter last, unless no_new_privs is off: then the
// filter is loaded while CAP_SYS_ADMIN is still there, before the drop.
func TestProtectionStepOrder(t *testing.T) {
	mountsOnly := []string{"make / rprivate", "bind rootfs onto itself", "pivot_root", "detach old root"}
	cases := []struct {
		unsafe []string
		want   []string
	}{
		{nil, []string{"close inherited descriptors", "drop capabilities", "no_new_privs", "seccomp filter"}},
		{[]string{"no_new_privs"}, []string{"close inherited descriptors", "seccomp filter", "drop capabilities"}},
		{[]string{"caps", "fds"}, []string{"no_new_privs", "seccomp filter"}},
		{[]string{"seccomp"}, []string{"close inherited descriptors", "drop capabilities", "no_new_privs"}},
		{Protections, nil},
	}
	for _, c := range cases {
		got := Container{Rootfs: "/r", Unsafe: c.unsafe}.StepNames()
		if want := append(append([]string(nil), mountsOnly...), c.want...); !reflect.DeepEqual(got, want) {
			t.Errorf("unsafe %q:\n  got  %q\n  want %q", c.unsafe, got, want)
		}
	}
	if err := (Container{Unsafe: []string{"capabilities"}}).Validate(); err == nil || !strings.Contains(err.Error(), `"capabilities" is not a protection (valid: fds, caps, no_new_privs, seccomp)`) {
		t.Errorf("Validate(unsafe capabilities) = %v", err)
	}
}

func TestContainerValidate(t *testing.T) {
	for _, c := range []struct {
		c    Container
		want string
	}{
		{Container{Rootfs: "rel"}, "absolute"},
		{Container{Dev: "udev"}, `dev "udev" is not valid`},
		{Container{MaskPaths: []string{"/ok", "proc/keys"}}, `mask: "proc/keys" is not an absolute path`},
		{Container{ReadonlyPaths: []string{"sys"}}, `readonly: "sys" is not an absolute path`},
		{Container{Rootfs: "/r", Dev: DevKernel, MaskPaths: DefaultMaskPaths}, ""},
	} {
		err := c.c.Validate()
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", c.c, err, c.want)
		}
	}
	if err := (Container{Rootfs: "/nonexistent-nsh"}).Unprotected().Setup(); err == nil || !strings.Contains(err.Error(), "ENOENT") {
		t.Errorf("Setup with a missing rootfs: %v, want stat's ENOENT", err)
	}
}

// TestContainerStepByStep runs the full set-up one step at a time on a
// thread in a mount namespace of its own, and after each step asserts what
// the kernel now shows.
func TestContainerStepByStep(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "marker"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Container{Rootfs: root, Proc: true, Sys: true, Dev: DevMinimal, DevPts: true, Shm: true, Mqueue: true,
		ReadonlyPaths: DefaultReadonlyPaths, MaskPaths: DefaultMaskPaths}.Unprotected() // in this process: the protections are TestContainerProtections'
	find := func(target string) (Entry, error) {
		tab, err := List(0)
		if err != nil {
			return Entry{}, err
		}
		if e, ok := Find(tab, target); ok {
			return e, nil
		}
		return Entry{}, fmt.Errorf("nothing mounted at %s", target)
	}
	fstype := func(target, want string) error {
		e, err := find(target)
		if err == nil && e.FSType != want {
			err = fmt.Errorf("%s is %s, want %s", target, e.FSType, want)
		}
		return err
	}
	roots := func() (n int, targets []string, err error) {
		tab, err := List(0)
		for _, e := range tab {
			if e.Target == "/" {
				n++
			}
			targets = append(targets, e.Target)
		}
		return n, targets, err
	}
	checks := map[string]func() error{
		"make / rprivate": func() error {
			tab, err := List(0)
			for _, e := range tab {
				if e.Shared != 0 || e.Master != 0 {
					return fmt.Errorf("%s is still %s", e.Target, e.Kind())
				}
			}
			return err
		},
		"bind rootfs onto itself": func() error { _, err := find(root); return err },
		"mount proc":              func() error { return fstype(root+"/proc", "proc") },
		"mount sysfs": func() error {
			e, err := find(root + "/sys")
			if err == nil && (e.FSType != "sysfs" || !strings.HasPrefix(e.Options, "ro")) {
				err = fmt.Errorf("/sys is %s %s, want sysfs ro", e.FSType, e.Options)
			}
			return err
		},
		"mount /dev (tmpfs)": func() error {
			var st unix.Stat_t
			if err := unix.Stat(root+"/dev/null", &st); err != nil || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
				return fmt.Errorf("dev/null is not the null device: %v", err)
			}
			return errors.Join(fstype(root+"/dev", "tmpfs"), fstype(root+"/dev/pts", "devpts"), fstype(root+"/dev/shm", "tmpfs"))
		},
		"mount mqueue": func() error { return fstype(root+"/dev/mqueue", "mqueue") },
		"pivot_root": func() error {
			if b, err := os.ReadFile("/marker"); err != nil || string(b) != "inside" {
				return fmt.Errorf("/marker after pivot_root: %q %v", b, err)
			}
			// the old root is stacked on the new one until it is detached
			if n, targets, err := roots(); err != nil || n < 2 {
				return fmt.Errorf("%d mounts at / after pivot_root, want the new and the old root (%v, %v)", n, targets, err)
			}
			return nil
		},
		"detach old root": func() error {
			n, targets, err := roots()
			if err != nil || n != 1 {
				return fmt.Errorf("%d mounts at / after detaching, want 1 (%v, %v)", n, targets, err)
			}
			for _, tg := range targets {
				if tg != "/" && !strings.HasPrefix(tg, "/proc") && !strings.HasPrefix(tg, "/sys") && !strings.HasPrefix(tg, "/dev") {
					return fmt.Errorf("a host mount is still visible: %s (all: %v)", tg, targets)
				}
			}
			if wd, _ := os.Getwd(); wd != "/" {
				return fmt.Errorf("cwd is %q, want /", wd)
			}
			return nil
		},
		"read-only paths": func() error {
			if err := os.WriteFile("/proc/sys/kernel/hostname", []byte("x"), 0); !errors.Is(err, unix.EROFS) {
				return fmt.Errorf("writing /proc/sys/kernel/hostname: %v, want EROFS", err)
			}
			return nil
		},
		"mask paths": func() error {
			var st unix.Stat_t
			if err := unix.Stat("/proc/keys", &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
				return fmt.Errorf("/proc/keys is not masked by /dev/null: %v", err)
			}
			if ents, err := os.ReadDir("/sys/firmware"); err != nil || len(ents) != 0 {
				return fmt.Errorf("/sys/firmware shows %d entries (%v), want none", len(ents), err)
			}
			return nil
		},
	}
	inMountNS(t, func() error {
		s, err := c.begin()
		if err != nil {
			return err
		}
		defer s.end()
		for _, st := range c.Steps() {
			check, ok := checks[st.Name]
			if !ok {
				return fmt.Errorf("step %q has no check in this test", st.Name)
			}
			if err := st.run(s); err != nil {
				return fmt.Errorf("step %q: %w", st.Name, err)
			}
			if err := check(); err != nil {
				return fmt.Errorf("after step %q: %w", st.Name, err)
			}
			t.Logf("%-28s ok", st.Name)
		}
		return nil
	})
}

// TestContainerInPlace: without a rootfs the mounts cover the current root's
// directories, and the minimal /dev is moved over /dev (built aside, so the
// host's nodes stay reachable while it is built).
func TestContainerInPlace(t *testing.T) {
	inMountNS(t, func() error {
		if err := (Container{Dev: DevMinimal, DevPts: true, Shm: true, Mqueue: true}).Unprotected().Setup(); err != nil {
			return err
		}
		tab, err := List(0)
		if err != nil {
			return err
		}
		for target, want := range map[string]string{"/dev": "tmpfs", "/dev/pts": "devpts", "/dev/mqueue": "mqueue"} {
			if e, ok := Find(tab, target); !ok || e.FSType != want {
				return fmt.Errorf("%s: %+v, want %s", target, e, want)
			}
		}
		if _, ok := Find(tab, "/tmp/.nsh-dev"); ok {
			return fmt.Errorf("the scratch /dev is still mounted at /tmp/.nsh-dev")
		}
		return nil
	})
}

// TestEditSetup: options edit one container step, which travels as JSON.
func TestEditSetup(t *testing.T) {
	var s nsproc.Setup
	added, err := EditSetup(&s, func(c *Container) error { c.Rootfs = "/r"; return nil })
	if err != nil || !added {
		t.Fatalf("first edit: added %v, %v", added, err)
	}
	added, err = EditSetup(&s, func(c *Container) error { c.Proc = true; return nil })
	if err != nil || added || len(s.Steps) != 1 {
		t.Fatalf("second edit: added %v, %v, %d steps", added, err, len(s.Steps))
	}
	if _, err := EditSetup(&s, func(c *Container) error { c.MaskPaths = []string{"rel"}; return nil }); err == nil {
		t.Fatal("an edit with a relative mask path was accepted")
	}
	c, ok, err := ContainerOf(s)
	if err != nil || !ok || !reflect.DeepEqual(c, Container{Rootfs: "/r", Proc: true}) {
		t.Fatalf("ContainerOf = %+v %v %v, want rootfs /r and proc (the refused edit not kept)", c, ok, err)
	}
}

// TestContainerMaskNeedsDevNull: a file is masked by binding /dev/null over
// it, so a container without a /dev cannot mask files; the error says so.
func TestContainerMaskNeedsDevNull(t *testing.T) {
	root := t.TempDir()
	inMountNS(t, func() error {
		err := Container{Rootfs: root, Proc: true, MaskPaths: []string{"/proc/keys"}}.Unprotected().Setup()
		if err == nil || !strings.Contains(err.Error(), "no /dev/null") {
			return fmt.Errorf("masking a file without /dev/null: %v, want an error naming /dev/null", err)
		}
		return nil
	})
}
