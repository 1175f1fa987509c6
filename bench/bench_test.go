package main

// The harness's own tests: the statistics and the pairing on made-up
// samples, and a tiny real paired comparison of processes (and, as root, a
// few of make bench's own comparisons at their smallest). Nothing here
// asserts a timing of the machine: they check that the harness measures and
// computes what it says.

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"nsh/internal/nshtest"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestQuantiles(t *testing.T) {
	s := spreadOf([]float64{4, 1, math.NaN(), 3, 2})
	if s.N != 4 || s.Min != 1 || s.Max != 4 || !near(s.Med, 2.5) || !near(s.P25, 1.75) || !near(s.P75, 3.25) {
		t.Errorf("spreadOf(1..4 and a NaN) = %+v, want N=4 min 1 p25 1.75 med 2.5 p75 3.25 max 4", s)
	}
	if s := spreadOf([]float64{7}); s.N != 1 || s.Med != 7 || s.P25 != 7 || s.P75 != 7 {
		t.Errorf("spreadOf(7) = %+v", s)
	}
	if s := spreadOf([]float64{1, 2, 3}); s.Med != 2 || !near(s.P25, 1.5) {
		t.Errorf("spreadOf(1,2,3) = %+v, want med 2, p25 1.5", s)
	}
	if s := spreadOf(nil); s.N != 0 || !math.IsNaN(s.Med) || s.ratioText() != "-" {
		t.Errorf("spreadOf(nil) = %+v (%s)", s, s.ratioText())
	}
	if !math.IsNaN(ratio(1, 0)) || !math.IsNaN(ratio(math.NaN(), 1)) || ratio(3, 2) != 1.5 {
		t.Error("ratio: want NaN for an unknown or zero denominator, a/b otherwise")
	}
}

func TestParseInner(t *testing.T) {
	var s Sample
	if err := parseInner("noise\ninner 12.5 setup=10 ping=0.5 close=2\n", &s); err != nil {
		t.Fatal(err)
	}
	if s.Inner != 12.5 || s.Parts["setup"] != 10 || s.Parts["ping"] != 0.5 || s.Parts["close"] != 2 {
		t.Errorf("parsed %+v", s)
	}
	for _, bad := range []string{"", "inner x", "inner 1 setup", "inner 1 a=b"} {
		if err := parseInner(bad, &Sample{}); err == nil {
			t.Errorf("parseInner(%q): no error", bad)
		}
	}
}

// clock is a made-up machine whose speed drifts: every run takes its base
// time times a factor that changes from run to run.
type clock struct {
	runs  int
	speed func(run int) float64
	order []string
}

func (c *clock) side(name string, base time.Duration) Side {
	return Side{Name: name, Ops: 2, Run: func(ops int) (Sample, error) {
		f := c.speed(c.runs)
		c.runs++
		c.order = append(c.order, name)
		w := time.Duration(float64(base) * f * float64(ops))
		return Sample{Ops: ops, Wall: w, CPU: w / 2, Inner: ms(w) * 0.9}, nil
	}}
}

func TestPairsAlternateAndRatios(t *testing.T) {
	c := &clock{speed: func(int) float64 { return 1 }}
	cmp := &Comparison{Key: "t", A: c.side("A", 2*time.Millisecond), B: c.side("B", time.Millisecond), Pairs: 4, Warm: 1}
	r, err := runPairs(cmp)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(c.order, ""), "AB"+"ABBAABBA"; got != want {
		t.Errorf("run order %s, want %s (one warm-up each, then pairs alternating which side goes first)", got, want)
	}
	if strings.Join(r.Order, ",") != "AB,BA,AB,BA" || len(r.A) != 4 || len(r.B) != 4 {
		t.Errorf("recorded %v, %d and %d samples", r.Order, len(r.A), len(r.B))
	}
	for i := range r.Wall {
		if !near(r.Wall[i], 2) || !near(r.CPU[i], 2) || !near(r.Inner[i], 2) {
			t.Errorf("pair %d: ratios wall %v cpu %v inner %v, want 2", i, r.Wall[i], r.CPU[i], r.Inner[i])
		}
	}
	var b strings.Builder
	r.report(&b)
	for _, want := range []string{"A/B wall  2.00x (IQR 2.00-2.00, range 2.00-2.00)", "A/B cpu   2.00x", "A/B inner 2.00x", "4 pairs"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if row := r.mdRow(); !strings.Contains(row, "**2.00x** wall") {
		t.Errorf("markdown row %q", row)
	}
}

// TestPairingHoldsUnderDrift: the machine slows down 3x over the runs. Timed
// in blocks (all of A, then all of B) the ratio of 2 comes out near 1; the
// per-pair ratios stay near 2.
func TestPairingHoldsUnderDrift(t *testing.T) {
	const pairs = 10
	speed := func(run int) float64 { return 1 + 2*float64(run)/float64(2*pairs) }
	c := &clock{speed: speed}
	r, err := runPairs(&Comparison{Key: "drift", A: c.side("A", 2*time.Millisecond), B: c.side("B", time.Millisecond), Pairs: pairs})
	if err != nil {
		t.Fatal(err)
	}
	paired := spreadOf(r.Wall)
	// the same runs done in blocks: A's runs first, then B's
	var a, b float64
	for i := 0; i < pairs; i++ {
		a += 2 * speed(i)
		b += 1 * speed(pairs+i)
	}
	block := a / b
	if math.Abs(paired.Med-2) > 0.1 || paired.Min < 1.75 || paired.Max > 2.25 {
		t.Errorf("paired ratio %s, want about 2", paired.ratioText())
	}
	if math.Abs(block-2) < 0.5 {
		t.Errorf("block ratio %.2f: the made-up drift should have misled it", block)
	}
}

func TestPairedProcesses(t *testing.T) {
	cmp := &Comparison{Key: "procs",
		A:     Side{Name: "/bin/true", Ops: 2, Run: procLoop(fixed("/bin/true"))},
		B:     Side{Name: "sh -c :", Ops: 2, Run: procLoop(fixed("/bin/sh", "-c", ":"))},
		Pairs: 3}
	r, err := runPairs(cmp)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.A {
		if r.A[i].Wall <= 0 || r.B[i].Wall <= 0 || r.A[i].Ops != 2 || r.A[i].CPU < 0 {
			t.Errorf("pair %d: A %+v B %+v", i, r.A[i], r.B[i])
		}
	}
	if s := spreadOf(r.Wall); s.N != 3 {
		t.Errorf("wall ratios %v", r.Wall)
	}
	if _, err := procLoop(fixed("/bin/false"))(1); err == nil {
		t.Error("a failing process gave no error")
	}
}

// TestPeakRSS: the ptrace exit stop sees the program's own peak, which for
// /bin/true is far below the test binary's.
func TestPeakRSS(t *testing.T) {
	kb, err := peakRSS([]string{"/bin/true"})
	if err != nil {
		if strings.Contains(err.Error(), "operation not permitted") {
			t.Skipf("ptrace not allowed here: %v", err)
		}
		t.Fatal(err)
	}
	self := vmHWM(os.Getpid())
	if kb <= 0 || (self > 0 && kb >= self) {
		t.Errorf("peak RSS of /bin/true %d KiB, of this test %d KiB", kb, self)
	}
	if _, err := peakRSS([]string{"/bin/false"}); err == nil {
		t.Error("peakRSS of a failing program: no error")
	}
}

// TestSmokeComparisons runs some of make bench's own comparisons at their
// smallest (2 pairs of 2 operations), so a change that breaks a script or a
// side shows in make test. Labs, containers and crun are left to make bench.
func TestSmokeComparisons(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the comparisons make PID, mount and network namespaces")
	}
	bin, remove, err := nshtest.Build("../cmd/nsh")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	e := &env{nsh: bin, dir: t.TempDir(), benchDir: ".", mode: "smoke"}
	want := map[string]bool{"clone-spawn": true, "spawn-unshare": true, "startup": true}
	for _, c := range comparisons(e) {
		if !want[c.Key] {
			continue
		}
		delete(want, c.Key)
		if why := missing(c); why != "" {
			t.Logf("%s: skipped, %s", c.Key, why)
			continue
		}
		if _, err := exec.LookPath("unshare"); err != nil && c.Key == "spawn-unshare" {
			t.Logf("%s: skipped, no unshare(1)", c.Key)
			continue
		}
		r, err := runPairs(c)
		if err != nil {
			t.Errorf("%s: %v", c.Key, err)
			continue
		}
		if s := spreadOf(r.Wall); s.N != c.Pairs {
			t.Errorf("%s: %d wall ratios of %d pairs", c.Key, s.N, c.Pairs)
		}
		if c.Headline == "inner" && spreadOf(r.Inner).N != c.Pairs {
			t.Errorf("%s: the nsh sides reported no inner times: %+v", c.Key, r.A)
		}
		if c.PeakRSS > 0 && (len(r.RSSA) != c.PeakRSS || r.RSSA[0] <= 0) {
			t.Errorf("%s: peak RSS %v", c.Key, r.RSSA)
		}
		var b strings.Builder
		r.report(&b)
		t.Logf("\n%s", b.String())
	}
	for k := range want {
		t.Errorf("make bench has no comparison %q any more: update this test", k)
	}
}

func TestRetryOnce(t *testing.T) {
	calls := 0
	flaky := Side{Name: "flaky", Ops: 1, Run: func(ops int) (Sample, error) {
		calls++
		if calls == 2 {
			return Sample{}, errors.New("lost a ping")
		}
		return Sample{Ops: ops, Wall: time.Millisecond, Inner: math.NaN()}, nil
	}}
	steady := Side{Name: "steady", Ops: 1, Run: func(ops int) (Sample, error) {
		return Sample{Ops: ops, Wall: time.Millisecond, Inner: math.NaN()}, nil
	}}
	r, err := runPairs(&Comparison{Key: "retry", A: flaky, B: steady, Pairs: 3})
	if err != nil || len(r.Retried) != 1 || !strings.Contains(r.Retried[0], "lost a ping") || len(r.A) != 3 {
		t.Errorf("one failure: err %v, retried %q, %d pairs", err, r.Retried, len(r.A))
	}
	broken := Side{Name: "broken", Ops: 1, Run: func(int) (Sample, error) { return Sample{}, errors.New("always") }}
	if _, err := runPairs(&Comparison{Key: "broken", A: broken, B: steady, Pairs: 2}); err == nil || !strings.Contains(err.Error(), "always") {
		t.Errorf("a side failing twice: err %v", err)
	}
}
