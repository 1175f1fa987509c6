package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

func writeT(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDetectHostLayout(t *testing.T) {
	l, err := Detect()
	if err != nil {
		t.Fatal(err)
	}
	if l.Mode == ModeNone {
		t.Skip("no cgroup file system mounted")
	}
	for _, c := range l.Controllers() {
		h, _ := l.Controller(c)
		t.Logf("%-10s v%d %s", c, h.Version, h.Mount)
	}
	if l.V2 != nil {
		t.Logf("v2 mount %s controllers %v", l.V2.Mount, l.V2.Controllers)
	}
	// Cross-check with /proc/self/cgroup: every v1 line has a hierarchy.
	ms, err := l.ProcessCgroups(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no memberships for this process")
	}
	for _, m := range ms {
		if m.Dir == "" {
			t.Errorf("membership %+v has no directory on this layout", m)
		}
	}
}

// A fake pure-v2 host: a temp dir as the cgroup2 mount, with a fake mountinfo.
func fakeV2(t *testing.T) (*Layout, string) {
	t.Helper()
	root := t.TempDir()
	mnt := filepath.Join(root, "cg space") // exercises \040 unescaping
	if err := os.MkdirAll(filepath.Join(mnt, Parent), 0o755); err != nil {
		t.Fatal(err)
	}
	writeT(t, filepath.Join(mnt, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n")
	writeT(t, filepath.Join(mnt, "cgroup.subtree_control"), "")
	writeT(t, filepath.Join(mnt, Parent, "cgroup.subtree_control"), "")
	mi := filepath.Join(root, "mountinfo")
	esc := strings.ReplaceAll(mnt, " ", `\040`)
	writeT(t, mi, "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"+
		"30 22 0:26 / "+esc+" rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n")
	l, err := DetectFrom(mi)
	if err != nil {
		t.Fatal(err)
	}
	return l, mnt
}

func TestDetectFakeV2(t *testing.T) {
	l, mnt := fakeV2(t)
	if l.Mode != ModeV2 || l.V2 == nil || l.V2.Mount != mnt {
		t.Fatalf("mode %s v2 %+v, want v2 at %s", l.Mode, l.V2, mnt)
	}
	for _, c := range []string{"cpu", "cpuacct", "io", "blkio", "memory", "pids", "cpuset"} {
		h, ok := l.Controller(c)
		if !ok || h != l.V2 {
			t.Errorf("controller %s: %v %v, want the v2 mount", c, h, ok)
		}
	}
	if _, ok := l.Controller("freezer"); ok {
		t.Error("freezer is no controller on v2 (cgroup.freeze is core)")
	}
}

func TestDetectFakeV1AndHybrid(t *testing.T) {
	dir := t.TempDir()
	mi := filepath.Join(dir, "mountinfo")
	v1 := "25 22 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n" +
		"26 25 0:23 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n" +
		"27 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n" +
		"28 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
		"29 25 0:25 /sub /mnt/memsub rw - cgroup cgroup rw,memory\n" + // same hierarchy again
		"30 25 0:26 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n" +
		"31 25 0:27 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n"
	writeT(t, mi, v1)
	l, err := DetectFrom(mi)
	if err != nil {
		t.Fatal(err)
	}
	if l.Mode != ModeV1 || len(l.Hierarchies) != 5 {
		t.Fatalf("mode %s, %d hierarchies; want v1 and 5", l.Mode, len(l.Hierarchies))
	}
	if h, _ := l.Controller("cpuacct"); h == nil || h.Mount != "/sys/fs/cgroup/cpu,cpuacct" {
		t.Errorf("cpuacct at %+v", h)
	}
	if h, _ := l.Controller("io"); h == nil || h.Mount != "/sys/fs/cgroup/blkio" {
		t.Errorf("io alias should find blkio, got %+v", h)
	}
	if h := l.v1Match(nil, "systemd"); h == nil {
		t.Error("named hierarchy systemd not found")
	}
	writeT(t, mi, v1+"32 25 0:28 / /nonexistent/unified rw - cgroup2 cgroup2 rw\n")
	l, err = DetectFrom(mi)
	if err != nil {
		t.Fatal(err)
	}
	if l.Mode != ModeHybrid || l.V2 == nil {
		t.Fatalf("mode %s, want hybrid", l.Mode)
	}
}

// File mapping on the fake v2 tree: Set writes the v2 files.
func TestSetMapsToV2Files(t *testing.T) {
	l, mnt := fakeV2(t)
	g, err := l.Create("demo", []string{"cpu", "memory", "pids", "cpuset"})
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := os.ReadFile(filepath.Join(mnt, "cgroup.subtree_control"))
	if got := strings.Fields(string(sc)); len(got) != 4 || got[0] != "+cpu" {
		t.Errorf("root subtree_control got %q, want +cpu +memory +pids +cpuset", sc)
	}
	leaf := filepath.Join(mnt, Parent, "demo")
	if p := g.Paths(); len(p) != 1 || p[0] != leaf {
		t.Fatalf("Paths %v, want [%s]", p, leaf)
	}
	for _, f := range []string{"cpu.weight", "cpu.max", "memory.max", "memory.swap.max", "pids.max", "cpuset.cpus"} {
		writeT(t, filepath.Join(leaf, f), "")
	}
	cases := []struct{ name, value, file, want string }{
		{"cpu.weight", "200", "cpu.weight", "200"},
		{"cpu.shares", "1024", "cpu.weight", "40"},
		{"cpu.max", "50000 100000", "cpu.max", "50000 100000"},
		{"cpu.max", "max", "cpu.max", "max"},
		{"memory.max", "64M", "memory.max", "67108864"},
		{"memory.max", "max", "memory.max", "max"},
		{"memory.swap.max", "0", "memory.swap.max", "0"},
		{"pids.max", "5", "pids.max", "5"},
		{"cpuset.cpus", "0", "cpuset.cpus", "0"},
	}
	for _, c := range cases {
		if err := g.Set(c.name, c.value); err != nil {
			t.Errorf("Set(%s, %s): %v", c.name, c.value, err)
			continue
		}
		b, _ := os.ReadFile(filepath.Join(leaf, c.file))
		if string(b) != c.want {
			t.Errorf("Set(%s, %s) wrote %s=%q, want %q", c.name, c.value, c.file, b, c.want)
		}
	}
	for _, bad := range [][2]string{{"cpu.weight", "0"}, {"cpu.weight", "10001"}, {"cpu.shares", "1"},
		{"cpu.max", "10 100000"}, {"pids.max", "-3"}, {"memory.max", "lots"}} {
		err := g.Set(bad[0], bad[1])
		var ve *ValueError
		if !errors.As(err, &ve) || ve.Name != bad[0] || CheckValue(bad[0], bad[1]) == nil {
			t.Errorf("Set(%s, %s) = %v, want a ValueError (refused before the kernel sees it)", bad[0], bad[1], err)
		} else {
			t.Logf("Set(%s, %s): %v", bad[0], bad[1], err)
		}
	}
	// Unknown file: ENOENT listing the group's files for that controller.
	err = g.Write("memory.bogus", "1")
	var ke *kerr.Error
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "memory.max") || !errors.As(err, &ke) ||
		ke.Call != "open("+filepath.Join(leaf, "memory.bogus")+", O_WRONLY)" {
		t.Errorf("Write(memory.bogus) = %v; want the open(2) refused, ENOENT, listing memory.max", err)
	}
	if _, err := g.Read("memory.bogus"); !errors.As(err, &ke) || ke.Call != "open("+filepath.Join(leaf, "memory.bogus")+")" {
		t.Errorf("Read(memory.bogus) = %v; want the open(2) refused", err)
	}
	// The fake tree is plain files: remove them, then Remove the group.
	for _, f := range []string{"cpu.weight", "cpu.max", "memory.max", "memory.swap.max", "pids.max", "cpuset.cpus"} {
		os.Remove(filepath.Join(leaf, f))
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := g.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if _, err := os.Stat(leaf); err == nil {
		t.Error("leaf still there")
	}
}

func TestWeightShares(t *testing.T) {
	if WeightToShares(1) != 2 || WeightToShares(10000) != 262144 || WeightToShares(200) != 5219 {
		t.Errorf("WeightToShares: 1->%d 200->%d 10000->%d", WeightToShares(1), WeightToShares(200), WeightToShares(10000))
	}
	for w := int64(1); w <= 10000; w++ {
		if got := SharesToWeight(WeightToShares(w)); got != w {
			t.Fatalf("weight %d -> shares %d -> weight %d", w, WeightToShares(w), got)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"64M": 64 << 20, "1G": 1 << 30, "512k": 512 << 10, "4096": 4096,
		"1.5G": 3 << 29, "max": -1, "-1": -1, "32MiB": 32 << 20, "2MB": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-5", "12Q"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded", bad)
		}
	}
}

func TestCreateRejectsBadNames(t *testing.T) {
	l, _ := fakeV2(t)
	for _, n := range []string{"", "../x", "a//b", "/abs", "a/./b", "bad\nname"} {
		if _, err := l.Create(n, nil); err == nil {
			t.Errorf("Create(%q) succeeded", n)
		}
	}
	if _, err := l.Create("x", []string{"nosuch"}); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("unknown controller error = %v; want it to list the available ones", err)
	}
}

// The one limits table: names and keys resolve to the same limit, and
// Create checks every value before it makes a directory.
func TestLimitsTableAndCreateChecksFirst(t *testing.T) {
	for _, l := range Limits {
		for _, n := range []string{l.Name, l.Key()} {
			if got, ok := LookupLimit(n); !ok || got != l {
				t.Errorf("LookupLimit(%q) = %v, %v", n, got, ok)
			}
		}
	}
	if _, ok := LookupLimit("memory.limit_in_bytes"); ok {
		t.Error("a raw v1 file is no portable limit")
	}
	l, mnt := fakeV2(t)
	_, err := l.Create("bad", []string{"pids"}, Setting{"pids_max", "-3"})
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Name != "pids.max" || !strings.Contains(err.Error(), "0..4194304") {
		t.Errorf("Create with pids_max=-3: %v, want a ValueError naming the range", err)
	}
	if _, err := os.Stat(filepath.Join(mnt, Parent, "bad")); err == nil {
		t.Error("a refused value left a directory")
	}
	got := inLimitOrder([]Setting{{"pids.max", "1"}, {"memory.swap.max", "1"}, {"cpu.stat.x", "1"}, {"memory_max", "1"}})
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if strings.Join(names, " ") != "memory_max memory.swap.max pids.max cpu.stat.x" {
		t.Errorf("order %v: want memory before swap, raw files last", names)
	}
}

// A controllers entry may list several, as v1 mount options do.
func TestCreateSplitsControllerLists(t *testing.T) {
	l, _ := fakeV2(t)
	g, err := l.Create("list", []string{"cpu, memory", "pids"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	if got := strings.Join(g.Controllers(), " "); got != "cpu memory pids" {
		t.Errorf("controllers %q, want cpu memory pids", got)
	}
	if _, err := l.Create("list2", []string{"cpu,nosuch"}); err == nil || !strings.Contains(err.Error(), `unknown controller "nosuch"`) {
		t.Errorf("unknown controller in a list: %v", err)
	}
}
