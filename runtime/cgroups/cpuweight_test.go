package cgroups

import (
	"math"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestCPUWeightRatio is the measured check behind the cpushares experiment:
// two groups pinned to CPU 0 with cpu.weight 200 and 400, two busy loops
// each, for ~3 s; the CPU time ratio should be near 2. NSH_CPU_RUNS=N
// repeats it and reports the spread.
func TestCPUWeightRatio(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 3 s per run")
	}
	l := needRoot(t)
	ctrls := []string{"cpu", "cpuset"}
	if h, ok := l.Controller("cpuacct"); ok && h.Version == 1 {
		ctrls = append(ctrls, "cpuacct")
	}
	needControllers(t, l, 1, "cpu", "cpuset")
	runs := 1
	if n, err := strconv.Atoi(os.Getenv("NSH_CPU_RUNS")); err == nil && n > 0 {
		runs = n
	}
	var ratios []float64
	for r := 0; r < runs; r++ {
		lo := newGroup(t, l, ctrls)
		hi := newGroup(t, l, ctrls)
		for _, x := range []struct {
			g *Group
			w string
		}{{lo, "200"}, {hi, "400"}} {
			if err := x.g.Set("cpuset.cpus", "0"); err != nil {
				t.Fatal(err)
			}
			if err := x.g.Set("cpu.weight", x.w); err != nil {
				t.Fatal(err)
			}
		}
		var spins []*gated
		for _, g := range []*Group{lo, hi, lo, hi} {
			s := startGated(t, "while :; do :; done")
			if err := g.Add(s.pid()); err != nil {
				t.Fatal(err)
			}
			spins = append(spins, s)
		}
		for _, s := range spins {
			s.release(t)
		}
		time.Sleep(300 * time.Millisecond) // let both settle in
		a0, b0 := cpuUsage(t, lo), cpuUsage(t, hi)
		time.Sleep(3 * time.Second)
		a1, b1 := cpuUsage(t, lo), cpuUsage(t, hi)
		if err := lo.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := hi.Kill(); err != nil {
			t.Fatal(err)
		}
		ratio := float64(b1-b0) / float64(a1-a0)
		ratios = append(ratios, ratio)
		t.Logf("run %d: weight 200 used %.3f s, weight 400 used %.3f s, ratio %.3f (sum %.2f s in 3 s on one CPU)",
			r+1, float64(a1-a0)/1e9, float64(b1-b0)/1e9, ratio, float64(a1-a0+b1-b0)/1e9)
		if err := lo.Remove(); err != nil {
			t.Fatal(err)
		}
		if err := hi.Remove(); err != nil {
			t.Fatal(err)
		}
	}
	mean, min, max := 0.0, math.Inf(1), math.Inf(-1)
	for _, r := range ratios {
		mean += r / float64(len(ratios))
		min, max = math.Min(min, r), math.Max(max, r)
	}
	t.Logf("ratio over %d runs: mean %.3f, min %.3f, max %.3f", len(ratios), mean, min, max)
	if mean < 1.6 || mean > 2.5 {
		t.Errorf("mean ratio %.3f, want about 2 (1.6..2.5)", mean)
	}
}
