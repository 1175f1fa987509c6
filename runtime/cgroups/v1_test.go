package cgroups

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

func TestV1LimitsProcsStats(t *testing.T) {
	l := needRoot(t)
	needControllers(t, l, 1, "cpu", "memory", "pids")
	g := newGroup(t, l, []string{"cpu", "memory", "pids"})
	t.Logf("paths: %v", g.Paths())

	if err := g.Set("cpu.weight", "200"); err != nil {
		t.Fatal(err)
	}
	if s, err := g.Read("cpu.shares"); err != nil || s != "5219" {
		t.Errorf("cpu.shares = %q, %v; want 5219 for weight 200", s, err)
	}
	if w, err := g.Get("cpu.weight"); err != nil || w != "200" {
		t.Errorf("Get(cpu.weight) = %q, %v", w, err)
	}
	if err := g.Set("cpu.shares", "512"); err != nil {
		t.Fatal(err)
	}
	if s, _ := g.Read("cpu.shares"); s != "512" {
		t.Errorf("cpu.shares = %s, want 512", s)
	}
	// v1 clamps cpu.shares silently; Set refuses out-of-range first.
	var ve *ValueError
	if err := g.Set("cpu.shares", "300000"); !errors.As(err, &ve) {
		t.Errorf("Set(cpu.shares, 300000) = %v, want a ValueError", err)
	}
	if err := g.Set("cpu.max", "50000 100000"); err != nil {
		t.Fatal(err)
	}
	if q, _ := g.Read("cpu.cfs_quota_us"); q != "50000" {
		t.Errorf("cfs_quota_us = %s", q)
	}
	if v, _ := g.Get("cpu.max"); v != "50000 100000" {
		t.Errorf("Get(cpu.max) = %q", v)
	}
	if err := g.Set("cpu.max", "max"); err != nil {
		t.Fatal(err)
	}
	if q, _ := g.Read("cpu.cfs_quota_us"); q != "-1" {
		t.Errorf("cfs_quota_us = %s, want -1", q)
	}
	// Raw write of a bad value: the kernel's EINVAL with the valid range.
	var ke *kerr.Error
	if err := g.Write("cpu.cfs_period_us", "10"); !errors.Is(err, unix.EINVAL) || !errors.As(err, &ke) ||
		ke.Call != fmt.Sprintf("write(%s/cpu.cfs_period_us, %q)", g.Paths()[0], "10") {
		t.Errorf("Write(cpu.cfs_period_us, 10) = %v, want a kerr.Error: the write(2) the kernel refused, EINVAL", err)
	} else {
		t.Logf("raw EINVAL: %v", err)
	}

	if err := g.Set("memory.max", "64M"); err != nil {
		t.Fatal(err)
	}
	if v, _ := g.Read("memory.limit_in_bytes"); v != strconv.Itoa(64<<20) {
		t.Errorf("memory.limit_in_bytes = %s", v)
	}
	if v, _ := g.Get("memory.max"); v != strconv.Itoa(64<<20) {
		t.Errorf("Get(memory.max) = %s", v)
	}
	if exists(g.Paths()[0]) && func() bool { _, v := g.dirOf("memory"); return v == 1 }() {
		if _, err := g.Read("memory.memsw.limit_in_bytes"); err == nil {
			if err := g.Set("memory.swap.max", "16M"); err != nil {
				t.Errorf("Set(memory.swap.max): %v", err)
			}
			if v, _ := g.Get("memory.swap.max"); v != strconv.Itoa(16<<20) {
				t.Errorf("Get(memory.swap.max) = %s", v)
			}
			if err := g.Set("memory.max", "128M"); err != nil { // raising keeps limit <= memsw
				t.Errorf("raise memory.max with swap set: %v", err)
			}
			if v, _ := g.Read("memory.memsw.limit_in_bytes"); v != strconv.Itoa(144<<20) {
				t.Errorf("memsw = %s, want 144M", v)
			}
		}
	}
	// Unknown file: ENOENT naming the files the group has.
	if _, err := g.Read("memory.nonsense"); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "memory.limit_in_bytes") {
		t.Errorf("Read(memory.nonsense) = %v", err)
	}
	if err := g.Write("freezer.state", "FROZEN"); err == nil || !strings.Contains(err.Error(), "not created with the freezer") {
		t.Errorf("Write(freezer.state) on a group without freezer = %v", err)
	}

	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid
	if err := g.Add(pid); err != nil {
		t.Fatal(err)
	}
	procs, err := g.Procs()
	if err != nil || len(procs) != 1 || procs[0] != pid {
		t.Errorf("Procs = %v, %v; want [%d]", procs, err, pid)
	}
	text := procCgroupText(t, pid)
	for _, c := range []string{"cpu", "memory", "pids"} {
		want := fmt.Sprintf(":%s:/%s/%s", c, Parent, g.Name())
		if !strings.Contains(text, want) {
			t.Errorf("/proc/%d/cgroup lacks %q:\n%s", pid, want, text)
		}
	}
	ms, err := l.ProcessCgroups(pid)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range ms {
		if contains(m.Controllers, "memory") {
			found = true
			if m.Limits["memory.max"] != strconv.Itoa(128<<20) && m.Limits["memory.max"] != strconv.Itoa(64<<20) {
				t.Errorf("memory membership limits %v", m.Limits)
			}
			if _, ok := m.Usage["memory.current"]; !ok {
				t.Errorf("memory membership usage %v lacks memory.current", m.Usage)
			}
			t.Logf("membership: %+v", m)
		}
	}
	if !found {
		t.Errorf("no memory membership in %+v", ms)
	}
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats: %+v", st)
	// v1 does not move memory charges with a migrating process (unless
	// memory.move_charge_at_immigrate, deprecated): a process added after it
	// touched its memory shows ~0 here. Without cpuacct, the cpu usage comes
	// from the v2 cpu.stat on a hybrid host, and is -1 on pure v1.
	if st.MemoryCurrent < 0 || st.MemoryPeak < st.MemoryCurrent || st.PidsCurrent != 1 ||
		(l.V2 != nil) != (st.CPUUsageNs >= 0) {
		t.Errorf("stats %+v: want memory >= 0, peak >= current, 1 pid, cpu usage iff v2 mounted", st)
	}
	// rmdir of a populated cgroup: EBUSY with the rule.
	if err := removeTreeOnce(g.Paths()[0]); !errors.Is(err, unix.EBUSY) {
		t.Errorf("rmdir populated = %v, want EBUSY", err)
	} else {
		t.Logf("rmdir populated: %v", err)
	}
}

// Create sets limits in the order v1 accepts whatever order they are given
// in: memory.limit_in_bytes before memory.memsw.limit_in_bytes.
func TestV1CreateWithLimits(t *testing.T) {
	l := needRoot(t)
	needControllers(t, l, 1, "memory")
	name := fmt.Sprintf("t%d-%d-limits", os.Getpid(), testSeq.Add(1))
	g, err := l.Create(name, []string{"memory"}, Setting{"memory_swap_max", "16M"}, Setting{"memory.max", "64M"})
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			t.Skipf("no swap accounting (memory.memsw.*) here: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
	})
	if v, _ := g.Read("memory.memsw.limit_in_bytes"); v != strconv.Itoa(80<<20) {
		t.Errorf("memsw = %s, want 80M (64M + 16M swap)", v)
	}
	if v, _ := g.Get("memory_swap_max"); v != strconv.Itoa(16<<20) {
		t.Errorf("Get(memory_swap_max) = %s", v)
	}
}

// removeTreeOnce is rmdir without retries, to see the kernel's answer.
func removeTreeOnce(dir string) error {
	return rmdirErr(dir)
}

func TestV1CpusetTrap(t *testing.T) {
	l := needRoot(t)
	needControllers(t, l, 1, "cpuset")
	g := newGroup(t, l, []string{"cpuset"})
	dir, _ := g.dirOf("cpuset")
	mems, _ := readFile(dir, "cpuset.mems")
	if mems == "" {
		t.Fatal("Create did not copy cpuset.mems from the parent")
	}
	if err := g.Set("cpuset.cpus", "0"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := g.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// Show the trap on a bare child: mkdir without filling mems, then add.
	bare := dir + "/bare"
	if err := os.Mkdir(bare, 0o755); err != nil {
		t.Fatal(err)
	}
	err := writeFile(bare, "cgroup.procs", strconv.Itoa(cmd.Process.Pid))
	if !errors.Is(err, unix.ENOSPC) {
		t.Errorf("adding to an unfilled v1 cpuset = %v, want ENOSPC", err)
	} else {
		t.Logf("trap: %v", err)
	}
}

func TestV1PidsMax(t *testing.T) {
	l := needRoot(t)
	needControllers(t, l, 1, "pids")
	g := newGroup(t, l, []string{"pids"})
	if err := g.Set("pids.max", "5"); err != nil {
		t.Fatal(err)
	}
	sh := startGated(t, "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done 2>/dev/null; wait")
	if err := g.Add(sh.pid()); err != nil {
		t.Fatal(err)
	}
	sh.release(t)
	sh.wait(t, 10*time.Second)
	ev, err := g.Events()
	if err != nil {
		t.Fatal(err)
	}
	st, _ := g.Stats()
	t.Logf("events %+v, stats %+v", ev, st)
	if ev.PidsMax <= 0 {
		t.Errorf("pids.events max = %d, want > 0", ev.PidsMax)
	}
	if st.PidsPeak > 5 {
		t.Errorf("pids.peak %d above pids.max 5", st.PidsPeak)
	}
}

func TestV1OOMKill(t *testing.T) {
	l := needRoot(t)
	needControllers(t, l, 1, "memory")
	g := newGroup(t, l, []string{"memory"})
	if err := g.Set("memory.max", "32M"); err != nil {
		t.Fatal(err)
	}
	hog := startGated(t, "exec tail /dev/zero")
	if err := g.Add(hog.pid()); err != nil {
		t.Fatal(err)
	}
	hog.release(t)
	err := hog.wait(t, 30*time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("hog exited with %v, want a signal", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("hog status %v, want killed by SIGKILL", ws)
	}
	ev, err := g.Events()
	if err != nil {
		t.Fatal(err)
	}
	st, _ := g.Stats()
	t.Logf("events %+v, stats %+v", ev, st)
	if ev.OOMKill < 1 {
		t.Errorf("OOMKill = %d, want >= 1", ev.OOMKill)
	}
	if st.MemoryPeak > 32<<20 || st.MemoryPeak < 16<<20 {
		t.Errorf("memory peak %d, want close to the 32M limit", st.MemoryPeak)
	}
}

// cpuUsage reads a group's cpuacct usage.
func cpuUsage(t *testing.T, g *Group) int64 {
	t.Helper()
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st.CPUUsageNs
}

func TestV1FreezeThaw(t *testing.T) {
	l := needRoot(t)
	needControllers(t, l, 1, "freezer", "cpuacct")
	g := newGroup(t, l, []string{"freezer", "cpuacct"})
	spin := startGated(t, "while :; do :; done")
	if err := g.Add(spin.pid()); err != nil {
		t.Fatal(err)
	}
	spin.release(t)
	time.Sleep(200 * time.Millisecond)
	if err := g.Freeze(); err != nil {
		t.Fatal(err)
	}
	if fr, _ := g.Frozen(); !fr {
		t.Error("Frozen() false after Freeze")
	}
	a := cpuUsage(t, g)
	time.Sleep(300 * time.Millisecond)
	b := cpuUsage(t, g)
	if b != a {
		t.Errorf("cpu usage moved while frozen: %d -> %d", a, b)
	}
	if err := g.Thaw(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	c := cpuUsage(t, g)
	t.Logf("usage frozen %d -> %d, thawed -> %d", a, b, c)
	if c <= b {
		t.Errorf("cpu usage did not move after Thaw")
	}
	// Kill a frozen group: the v1 path has to thaw for SIGKILL to land.
	if err := g.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	spin.wait(t, 5*time.Second)
}

func TestV1RemoveKills(t *testing.T) {
	l := needRoot(t)
	needControllers(t, l, 1, "memory", "pids", "cpu")
	name := fmt.Sprintf("t%d-rm", os.Getpid())
	g, err := l.Create(name, []string{"memory", "pids", "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Remove() })
	// a child cgroup made behind the group's back must go too
	if err := os.Mkdir(g.Paths()[0]+"/kid", 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := g.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	paths := g.Paths()
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Errorf("sleep ended with %v, want killed", err)
	}
	for _, p := range paths {
		if exists(p) {
			t.Errorf("%s still exists", p)
		}
	}
	if err := g.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if err := g.Add(os.Getpid()); err == nil {
		t.Error("Add to a removed group succeeded")
	}
}
