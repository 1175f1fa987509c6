package cgroups

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func needV2(t *testing.T) *Layout {
	l := needRoot(t)
	if l.V2 == nil {
		t.Skip("no cgroup2 mount on this host")
	}
	return l
}

// A v2-only group (no controllers): procs, freeze, kill, CLONE_INTO_CGROUP.
func TestV2PlainGroup(t *testing.T) {
	l := needV2(t)
	g := newGroup(t, l, []string{})
	if p := g.Paths(); len(p) != 1 || !strings.HasPrefix(p[0], l.V2.Mount+"/"+Parent+"/") {
		t.Fatalf("Paths %v: want one dir under %s/%s", p, l.V2.Mount, Parent)
	}
	spin := startGated(t, "while :; do :; done")
	if err := g.Add(spin.pid()); err != nil {
		t.Fatal(err)
	}
	spin.release(t)
	want := fmt.Sprintf("0::/%s/%s", Parent, g.Name())
	if txt := procCgroupText(t, spin.pid()); !strings.Contains(txt, want) {
		t.Errorf("/proc/%d/cgroup lacks %q:\n%s", spin.pid(), want, txt)
	}
	if procs, _ := g.Procs(); len(procs) != 1 || procs[0] != spin.pid() {
		t.Errorf("Procs = %v", procs)
	}
	ev, _ := g.Events()
	if ev.Populated != 1 {
		t.Errorf("populated = %d", ev.Populated)
	}
	time.Sleep(100 * time.Millisecond)
	if err := g.Freeze(); err != nil {
		t.Fatal(err)
	}
	a, _ := g.Stats()
	time.Sleep(300 * time.Millisecond)
	b, _ := g.Stats()
	if ev, _ := g.Events(); ev.Frozen != 1 {
		t.Errorf("frozen = %d after Freeze", ev.Frozen)
	}
	if err := g.Thaw(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	c, _ := g.Stats()
	t.Logf("v2 cpu.stat usage: frozen %d -> %d, thawed -> %d", a.CPUUsageNs, b.CPUUsageNs, c.CPUUsageNs)
	if b.CPUUsageNs != a.CPUUsageNs || c.CPUUsageNs <= b.CPUUsageNs {
		t.Errorf("usage should stand still while frozen and move after thaw")
	}
	if err := g.Kill(); err != nil { // cgroup.kill
		t.Fatal(err)
	}
	err := spin.wait(t, 5*time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("spinner ended with %v, want SIGKILL", err)
	}
}

func TestV2CloneIntoCgroup(t *testing.T) {
	l := needV2(t)
	t.Logf("v2 controllers here: %v", l.V2.Controllers)
	g := newGroup(t, l, []string{})
	fd, err := g.V2FD()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := exec.Command("cat", "/proc/self/cgroup")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("clone3 with CLONE_INTO_CGROUP: %v", err)
	}
	want := fmt.Sprintf("0::/%s/%s\n", Parent, g.Name())
	if !strings.Contains(string(out), want) {
		t.Errorf("child saw\n%s\nwant a line %q", out, want)
	}
}

// The no-internal-process rule: a v2 cgroup holding processes cannot enable
// controllers for children. Needs one controller on the v2 side.
func TestV2NoInternalProcess(t *testing.T) {
	l := needV2(t)
	if len(l.V2.Controllers) == 0 {
		t.Skip("no controller available on the v2 side here: subtree_control has nothing to enable")
	}
	var ctrl string
	for _, c := range l.V2.Controllers {
		if h, _ := l.Controller(c); h == l.V2 {
			ctrl = c
			break
		}
	}
	if ctrl == "" {
		t.Skip("every v2-listed controller is bound to v1")
	}
	g := newGroup(t, l, []string{ctrl})
	sc, _ := readFile(l.V2.Mount+"/"+Parent, "cgroup.subtree_control")
	if !strings.Contains(sc, ctrl) {
		t.Errorf("nsh parent subtree_control %q lacks %s", sc, ctrl)
	}
	if have := filesFor(g.Paths()[len(g.Paths())-1], ctrl); len(have) == 0 {
		t.Errorf("group has no %s.* files", ctrl)
	} else {
		t.Logf("%s files: %v", ctrl, have)
	}
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	if err := g.Add(sleep.Process.Pid); err != nil {
		t.Fatal(err)
	}
	_, err := l.Create(g.Name()+"/kid", []string{ctrl})
	if !errors.Is(err, unix.EBUSY) {
		t.Errorf("Create under a populated v2 group = %v, want EBUSY", err)
	} else {
		t.Logf("rule: %v", err)
	}
	if exists(g.v2dir() + "/kid") {
		t.Error("failed Create left its directory")
	}
}
