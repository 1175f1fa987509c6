package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Sample is what one run of one side measured. A run does Ops operations
// (Ops container starts, Ops processes, one lab...).
type Sample struct {
	Ops    int
	Wall   time.Duration // elapsed, fork to reaping (or request to reply for a server)
	CPU    time.Duration // user+sys of the process(es) and their reaped children
	MaxRSS int64         // KiB, wait4's ru_maxrss of the largest process (see peakRSS: not the program's own)
	// Inner is the time the work itself took in ms as the side measured it
	// (nsh's sys.now around its loop; NaN when the side reports none), so a
	// figure can leave out the start-up of the measuring process.
	Inner float64            // -1 in the JSON output for NaN
	Parts map[string]float64 `json:",omitempty"` // named parts of Inner (lab setup, ping, close), ms
}

func (s Sample) wallPerOp() float64  { return ms(s.Wall) / float64(s.Ops) }
func (s Sample) cpuPerOp() float64   { return ms(s.CPU) / float64(s.Ops) }
func (s Sample) innerPerOp() float64 { return s.Inner / float64(s.Ops) }

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// Side is one of the two things a comparison times. Run does one run of
// Ops operations.
type Side struct {
	Name string
	Ops  int
	Run  func(ops int) (Sample, error)
	// CPUNote says how coarse the CPU figure is when it is not from wait4.
	CPUNote string
	// Argv is the program a run executes, when it is one fixed program
	// (for PeakRSS).
	Argv []string
}

// Comparison times A against B in Pairs pairs. Each pair runs A and B
// back to back, alternating which goes first (A B, B A, A B, ...), so that a
// drift of the machine's speed hits both sides of a pair alike, and a side
// that slows down whatever runs after it (the kernel's asynchronous
// namespace cleanup) burdens both equally often. The ratios are A/B per pair.
type Comparison struct {
	Key    string // short name for -only
	Title  string
	A, B   Side
	Pairs  int
	Warm   int           // unrecorded runs of each side first
	Settle time.Duration // pause after every run
	// Headline says which ratio the summary table leads with: "inner" when
	// both sides report their own timing of the same work, else "wall".
	Headline string
	// PeakRSS > 0 measures each side's peak RSS (its Argv) that many
	// times after the pairs, in runs of their own (ptrace slows them).
	PeakRSS  int
	Setup    func() error // before the first run (start a server, build a bundle)
	Teardown func()
	Note     string
}

// Result is a comparison's samples and per-pair ratios.
type Result struct {
	C                *Comparison
	A, B             []Sample
	Wall, CPU, Inner []float64 // A/B per pair, per operation
	Order            []string  // "AB" or "BA" per pair
	RSSA, RSSB       []float64 // peak RSS in MB per measuring run (PeakRSS)
	Retried          []string  // runs that failed once and were run again, with the error
}

// runPairs runs c's pairs and returns the samples and ratios.
func runPairs(c *Comparison) (*Result, error) {
	if c.Setup != nil {
		if err := c.Setup(); err != nil {
			return nil, fmt.Errorf("%s: set-up: %w", c.Key, err)
		}
	}
	if c.Teardown != nil {
		defer c.Teardown()
	}
	r := &Result{C: c}
	// A run that fails is retried once (a busy machine can lose a ping);
	// the report says so. A second failure ends the comparison.
	one := func(s *Side) (Sample, error) {
		x, err := s.Run(s.Ops)
		if err != nil {
			r.Retried = append(r.Retried, fmt.Sprintf("%s: %v", s.Name, err))
			x, err = s.Run(s.Ops)
		}
		if err != nil {
			return x, fmt.Errorf("%s: %s: %w", c.Key, s.Name, err)
		}
		if x.Ops == 0 {
			x.Ops = s.Ops
		}
		if c.Settle > 0 {
			time.Sleep(c.Settle)
		}
		return x, nil
	}
	if len(c.A.Argv) > 0 && len(c.B.Argv) > 0 {
		if err := evictPrograms(c.A.Argv, c.B.Argv); err != nil {
			return nil, fmt.Errorf("%s: evicting the programs from the page cache: %w", c.Key, err)
		}
	}
	for i := 0; i < c.Warm; i++ {
		if _, err := one(&c.A); err != nil {
			return nil, err
		}
		if _, err := one(&c.B); err != nil {
			return nil, err
		}
	}
	for i := 0; i < c.Pairs; i++ {
		var a, b Sample
		var err error
		if i%2 == 0 {
			r.Order = append(r.Order, "AB")
			if a, err = one(&c.A); err == nil {
				b, err = one(&c.B)
			}
		} else {
			r.Order = append(r.Order, "BA")
			if b, err = one(&c.B); err == nil {
				a, err = one(&c.A)
			}
		}
		if err != nil {
			return r, err
		}
		r.add(a, b)
	}
	for i := 0; i < c.PeakRSS; i++ {
		a, err := peakRSS(c.A.Argv)
		if err != nil {
			return r, fmt.Errorf("%s: peak RSS of %s: %w", c.Key, c.A.Name, err)
		}
		b, err := peakRSS(c.B.Argv)
		if err != nil {
			return r, fmt.Errorf("%s: peak RSS of %s: %w", c.Key, c.B.Name, err)
		}
		r.RSSA = append(r.RSSA, float64(a)/1024)
		r.RSSB = append(r.RSSB, float64(b)/1024)
	}
	return r, nil
}

// add records one pair.
func (r *Result) add(a, b Sample) {
	r.A = append(r.A, a)
	r.B = append(r.B, b)
	r.Wall = append(r.Wall, ratio(a.wallPerOp(), b.wallPerOp()))
	r.CPU = append(r.CPU, ratio(a.cpuPerOp(), b.cpuPerOp()))
	r.Inner = append(r.Inner, ratio(a.innerPerOp(), b.innerPerOp()))
}

// ratio is a/b, NaN when either is unknown or b is not positive.
func ratio(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || b <= 0 {
		return math.NaN()
	}
	return a / b
}

// Spread summarises a set of figures: its quartiles and extremes.
type Spread struct {
	N                       int
	Min, P25, Med, P75, Max float64
}

// spreadOf ignores NaNs; N is 0 when nothing is left.
func spreadOf(xs []float64) Spread {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return Spread{Min: math.NaN(), P25: math.NaN(), Med: math.NaN(), P75: math.NaN(), Max: math.NaN()}
	}
	sort.Float64s(v)
	return Spread{N: len(v), Min: v[0], P25: quantile(v, 0.25), Med: quantile(v, 0.5), P75: quantile(v, 0.75), Max: v[len(v)-1]}
}

// quantile of sorted v, interpolating linearly between the closest ranks
// (the "type 7" definition of R and numpy's default).
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	h := q * float64(len(v)-1)
	lo := int(math.Floor(h))
	if lo >= len(v)-1 {
		return v[len(v)-1]
	}
	return v[lo] + (h-float64(lo))*(v[lo+1]-v[lo])
}

func median(xs []float64) float64 { return spreadOf(xs).Med }

// ratioText: "1.02x (IQR 0.97-1.08, range 0.71-1.44)".
func (s Spread) ratioText() string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx (IQR %.2f-%.2f, range %.2f-%.2f)", s.Med, s.P25, s.P75, s.Min, s.Max)
}

// perOp collects one figure per sample.
func perOp(ss []Sample, f func(Sample) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// fmtMS prints a time in ms with 3 significant digits or so.
func fmtMS(x float64) string {
	switch {
	case math.IsNaN(x):
		return "-"
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	case x >= 1:
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.3f", x)
}

// report prints a result as a block of text.
func (r *Result) report(w *strings.Builder) {
	c := r.C
	fmt.Fprintf(w, "== %s  [%s: %d pairs, order alternating A B / B A; %d warm-up run(s) each]\n", c.Title, c.Key, len(r.A), c.Warm)
	if len(c.A.Argv) > 0 && len(c.B.Argv) > 0 {
		fmt.Fprintf(w, "   both programs were evicted from the page cache before the warm-up: each side reads its binary back alike (evictPrograms)\n")
	}
	if c.Note != "" {
		fmt.Fprintf(w, "   %s\n", c.Note)
	}
	fmt.Fprintf(w, "   %-4s %-72s %6s %11s %11s %11s %8s\n", "", "side (medians over its runs)", "ops", "wall ms/op", "cpu ms/op", "inner ms/op", "peak RSS")
	side := func(tag string, s *Side, ss []Sample, rssRuns []float64) {
		rssText := "-"
		if len(rssRuns) > 0 {
			rssText = fmt.Sprintf("%.2f MB", median(rssRuns))
		}
		fmt.Fprintf(w, "   %-4s %-72s %6d %11s %11s %11s %8s\n", tag, s.Name, s.Ops,
			fmtMS(median(perOp(ss, Sample.wallPerOp))), fmtMS(median(perOp(ss, Sample.cpuPerOp))),
			fmtMS(median(perOp(ss, Sample.innerPerOp))), rssText)
		if len(ss) > 0 && len(ss[0].Parts) > 0 {
			var names []string
			for k := range ss[0].Parts {
				names = append(names, k)
			}
			sort.Strings(names)
			var parts []string
			for _, k := range names {
				parts = append(parts, fmt.Sprintf("%s %s", k, fmtMS(median(perOp(ss, func(x Sample) float64 { return x.Parts[k] })))))
			}
			fmt.Fprintf(w, "   %-4s   parts, ms: %s\n", "", strings.Join(parts, ", "))
		}
		if s.CPUNote != "" {
			fmt.Fprintf(w, "   %-4s   cpu: %s\n", "", s.CPUNote)
		}
	}
	side("A", &c.A, r.A, r.RSSA)
	side("B", &c.B, r.B, r.RSSB)
	if len(r.RSSA) > 0 {
		fmt.Fprintf(w, "   peak RSS: VmHWM at exit (ptrace exit stop), median of %d runs each: A %s MB, B %s MB\n", len(r.RSSA),
			rssList(r.RSSA), rssList(r.RSSB))
	}
	if s := spreadOf(r.Inner); s.N > 0 {
		fmt.Fprintf(w, "   A/B inner %s\n", s.ratioText())
	}
	fmt.Fprintf(w, "   A/B wall  %s\n", spreadOf(r.Wall).ratioText())
	fmt.Fprintf(w, "   A/B cpu   %s\n", spreadOf(r.CPU).ratioText())
	for _, e := range r.Retried {
		fmt.Fprintf(w, "   retried a run that failed: %s\n", short([]string{e}))
	}
}

func rssList(xs []float64) string {
	var p []string
	for _, x := range xs {
		p = append(p, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(p, " ")
}

// mdRow is the result as a row of the README's table.
func (r *Result) mdRow() string {
	c := r.C
	head := spreadOf(r.Wall)
	which := "wall"
	if c.Headline == "inner" && spreadOf(r.Inner).N > 0 {
		head, which = spreadOf(r.Inner), "inner"
	}
	cpu := spreadOf(r.CPU)
	fig := func(ss []Sample, rss []float64) string {
		w := median(perOp(ss, Sample.wallPerOp))
		if which == "inner" {
			w = median(perOp(ss, Sample.innerPerOp))
		}
		t := fmt.Sprintf("%s ms wall, %s ms CPU", fmtMS(w), fmtMS(median(perOp(ss, Sample.cpuPerOp))))
		if len(rss) > 0 {
			t += fmt.Sprintf(", %.1f MB peak RSS", median(rss))
		}
		return t
	}
	return fmt.Sprintf("| %s | %s: %s | %s: %s | **%.2fx** %s (IQR %.2f-%.2f, range %.2f-%.2f) | %.2fx (IQR %.2f-%.2f) | %d |",
		c.Title, c.A.Name, fig(r.A, r.RSSA), c.B.Name, fig(r.B, r.RSSB), head.Med, which, head.P25, head.P75, head.Min, head.Max,
		cpu.Med, cpu.P25, cpu.P75, len(r.A))
}
