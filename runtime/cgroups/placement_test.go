package cgroups

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sameDir fails unless f is the directory dir.
func sameDir(t *testing.T, f *os.File, dir string) {
	t.Helper()
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(dir, &b); err != nil {
		t.Fatal(err)
	}
	if a.Dev != b.Dev || a.Ino != b.Ino {
		t.Errorf("placement file is not %s", dir)
	}
}

// On a pure v2 host (the fake tree) a child is born in the group: a v2
// directory to clone into and nothing to do while held.
func TestPlaceFakeV2(t *testing.T) {
	l, mnt := fakeV2(t)
	g, err := l.Create("demo", []string{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	p, err := g.Place()
	if err != nil {
		t.Fatal(err)
	}
	if p.File == nil || p.NeedsHold() {
		t.Fatalf("v2 placement: file %v, needs hold %v; want a file and no hold", p.File, p.NeedsHold())
	}
	sameDir(t, p.File, filepath.Join(mnt, Parent, "demo"))
	if err := p.Join(4242); err != nil {
		t.Errorf("Join without v1 directories: %v", err)
	}
	if err := p.Close(); err != nil || p.Close() != nil {
		t.Errorf("Close: %v", err)
	}
}

// On a hybrid host (a fake one: v1 pids and memory trees plus a cgroup2
// tree, all temporary directories) the child is born in the v2 directory
// and joined to the v1 ones while held; Join never writes the v2 tree.
func TestPlaceFakeHybrid(t *testing.T) {
	root := t.TempDir()
	var mi strings.Builder
	mi.WriteString("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")
	for i, c := range []string{"pids", "memory"} {
		if err := os.MkdirAll(filepath.Join(root, c), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&mi, "%d 22 0:%d / %s rw - cgroup cgroup rw,%s\n", 30+i, 40+i, filepath.Join(root, c), c)
	}
	v2 := filepath.Join(root, "unified")
	if err := os.MkdirAll(v2, 0o755); err != nil {
		t.Fatal(err)
	}
	writeT(t, filepath.Join(v2, "cgroup.controllers"), "")
	fmt.Fprintf(&mi, "40 22 0:50 / %s rw - cgroup2 cgroup2 rw\n", v2)
	writeT(t, filepath.Join(root, "mountinfo"), mi.String())
	l, err := DetectFrom(filepath.Join(root, "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Mode != ModeHybrid {
		t.Fatalf("mode %s, want hybrid", l.Mode)
	}
	g, err := l.Create("demo", []string{"pids"})
	if err != nil {
		t.Fatal(err)
	}
	leaves := []string{filepath.Join(root, "pids", Parent, "demo"), filepath.Join(v2, Parent, "demo")}
	for _, d := range leaves {
		writeT(t, filepath.Join(d, "cgroup.procs"), "")
	}
	t.Cleanup(func() {
		for _, d := range leaves { // plain files: empty them so Remove kills nothing
			os.Remove(filepath.Join(d, "cgroup.procs"))
		}
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
	})
	p, err := g.Place()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.File == nil || !p.NeedsHold() {
		t.Fatalf("hybrid placement: file %v, needs hold %v; want both", p.File, p.NeedsHold())
	}
	sameDir(t, p.File, leaves[1])
	if err := p.Join(0); err == nil {
		t.Error("Join(0) succeeded: 0 would move the caller itself")
	}
	if err := p.Join(4242); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(leaves[0], "cgroup.procs")); string(b) != "4242" {
		t.Errorf("v1 cgroup.procs = %q, want 4242", b)
	}
	if b, _ := os.ReadFile(filepath.Join(leaves[1], "cgroup.procs")); len(b) != 0 {
		t.Errorf("v2 cgroup.procs = %q: Join must not write the v2 tree (the child is born there)", b)
	}
	if _, err := os.Stat(filepath.Join(root, "memory", Parent, "demo")); err == nil {
		t.Error("a group asked for pids only got a memory directory")
	}
}

// placeAndRun starts `cat /proc/self/cgroup` in g through its placement, on
// the thread run gives, holding it (the gated shell) when the placement
// says so, and returns what the child printed.
func placeAndRun(t *testing.T, g *Group, run func(func())) (string, *Placement) {
	t.Helper()
	var p *Placement
	var err error
	run(func() { p, err = g.Place() }) // paths are the namespace's
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var attr *syscall.SysProcAttr
	if p.File != nil {
		attr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(p.File.Fd())}
	}
	if !p.NeedsHold() {
		cmd := exec.Command("cat", "/proc/self/cgroup")
		cmd.SysProcAttr = attr
		var out bytes.Buffer
		cmd.Stdout = &out
		run(func() { err = cmd.Run() })
		if err != nil {
			t.Fatalf("clone3 with CLONE_INTO_CGROUP: %v", err)
		}
		return out.String(), p
	}
	gp := startGatedWith(t, "cat /proc/self/cgroup", attr, run)
	run(func() { err = p.Join(gp.pid()) })
	if err != nil {
		t.Fatal(err)
	}
	gp.release(t)
	if err := gp.wait(t, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return gp.out.String(), p
}

// wantIn fails unless every hierarchy of g shows the child in /nsh/NAME.
func wantIn(t *testing.T, g *Group, text string) {
	t.Helper()
	path := fmt.Sprintf(":/%s/%s\n", Parent, g.Name())
	for _, d := range g.dirs {
		want := "0::" + path[1:]
		if d.h.Version == 1 {
			want = strings.Join(d.h.Controllers, ",")
			if d.h.Name != "" {
				want = "name=" + d.h.Name
			}
			want += path
		}
		if !strings.Contains(text, want) {
			t.Errorf("the child's /proc/self/cgroup lacks %q:\n%s", want, text)
		}
	}
}

// The host as it is (hybrid here): born in the v2 directory, joined to the
// v1 ones before its own code runs.
func TestPlaceHost(t *testing.T) {
	l := needRoot(t)
	var ctrls []string
	for _, c := range []string{"pids", "memory"} {
		if _, ok := l.Controller(c); ok {
			ctrls = append(ctrls, c)
		}
	}
	g := newGroup(t, l, ctrls)
	out, p := placeAndRun(t, g, func(f func()) { f() })
	t.Logf("%s host, controllers %v, hold %v:\n%s", l.Mode, ctrls, p.NeedsHold(), out)
	wantIn(t, g, out)
	if hasV1 := l.Mode == ModeV1 || l.Mode == ModeHybrid; p.NeedsHold() != (hasV1 && len(ctrls) > 0) {
		t.Errorf("NeedsHold %v on a %s host with %v", p.NeedsHold(), l.Mode, ctrls)
	}
}

// mountNS runs functions on one OS thread in a private mount namespace
// arranged by prepare, so Detect there sees another layout than the host's.
type mountNS struct{ fns chan func() }

func newMountNS(t *testing.T, prepare func() error) *mountNS {
	t.Helper()
	m := &mountNS{fns: make(chan func())}
	errc := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with its namespace
		err := unix.Unshare(unix.CLONE_NEWNS)
		if err == nil {
			err = unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
		}
		if err == nil {
			err = prepare()
		}
		errc <- err
		if err != nil {
			return
		}
		for fn := range m.fns {
			fn()
		}
	}()
	if err := <-errc; err != nil {
		t.Fatalf("private mount namespace: %v", err)
	}
	t.Cleanup(func() { close(m.fns) })
	return m
}

// do runs f on the namespace's thread and waits for it.
func (m *mountNS) do(f func()) {
	done := make(chan struct{})
	m.fns <- func() { defer close(done); f() }
	<-done
}

// create makes a group from the namespace's view, removed there at cleanup.
func (m *mountNS) create(t *testing.T, ctrls []string) (*Layout, *Group) {
	t.Helper()
	var l *Layout
	var g *Group
	var err error
	name := fmt.Sprintf("t%d-%d-%s", os.Getpid(), testSeq.Add(1), t.Name())
	m.do(func() {
		if l, err = Detect(); err == nil {
			g, err = l.Create(name, ctrls)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.do(func() { err = g.Remove() })
		if err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
	return l, g
}

// A pure v2 layout, as in cmd/nsh's TestCgroupModuleV2: /sys/fs/cgroup
// replaced by a cgroup2 mount. The child is born in the group, unheld.
func TestPlacePureV2(t *testing.T) {
	host := needV2(t)
	m := newMountNS(t, func() error {
		if err := unix.Unmount("/sys/fs/cgroup", unix.MNT_DETACH); err != nil && err != unix.EINVAL {
			return fmt.Errorf("umount /sys/fs/cgroup: %w", err)
		}
		return unix.Mount("none", "/sys/fs/cgroup", "cgroup2", 0, "")
	})
	l, g := m.create(t, []string{})
	if l.Mode != ModeV2 || l.V2.Mount != "/sys/fs/cgroup" {
		t.Fatalf("mode %s in the namespace (host %s), want v2 at /sys/fs/cgroup", l.Mode, host.Mode)
	}
	out, p := placeAndRun(t, g, m.do)
	if p.NeedsHold() {
		t.Error("a v2-only group needs no hold")
	}
	wantIn(t, g, out)
}

// A pure v1 layout: the host's cgroup2 mount detached. No v2 directory to
// be born in: the child is held and joined.
func TestPlacePureV1(t *testing.T) {
	host := needRoot(t)
	needControllers(t, host, 1, "pids")
	m := newMountNS(t, func() error {
		for _, h := range host.Hierarchies {
			if h.Version == 2 {
				if err := unix.Unmount(h.Mount, unix.MNT_DETACH); err != nil {
					return fmt.Errorf("umount %s: %w", h.Mount, err)
				}
			}
		}
		return nil
	})
	l, g := m.create(t, []string{"pids"})
	if l.Mode != ModeV1 {
		t.Fatalf("mode %s in the namespace, want v1", l.Mode)
	}
	out, p := placeAndRun(t, g, m.do)
	if !p.NeedsHold() || p.File != nil {
		t.Errorf("v1 placement: hold %v, file %v; want a hold and no file", p.NeedsHold(), p.File)
	}
	wantIn(t, g, out)
}
