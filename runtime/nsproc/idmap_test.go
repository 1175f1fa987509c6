package nsproc

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// A map far over the kernel's limit is refused at once, by the limit (issue
// 11: 100,000 lines took 18 s in a quadratic overlap check first).
func TestParseIDMapLimitFirst(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&b, "%d %d 1\n", i, 100000+i)
	}
	start := time.Now()
	_, err := ParseIDMap(b.String())
	if err == nil || !strings.Contains(err.Error(), "at most 340") || !strings.Contains(err.Error(), "100000 lines") {
		t.Fatalf("want the 340-line limit, got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refusing 100,000 lines took %v", d)
	}
	b.Reset()
	for i := 0; i < MaxIDMapLines; i++ {
		fmt.Fprintf(&b, "%d %d 1\n", i, 1000+i)
	}
	if m, err := ParseIDMap(b.String()); err != nil || len(m) != MaxIDMapLines {
		t.Fatalf("340 lines: %v (%d lines)", err, len(m))
	}
}

// The O(n log n) overlap check finds exactly what comparing every pair finds.
func TestIDMapOverlapMatchesPairwise(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	pairwise := func(m []IDMap, start func(IDMap) int) bool {
		for i := range m {
			for j := 0; j < i; j++ {
				a, b := m[i], m[j]
				if start(a) < start(b)+b.Count && start(b) < start(a)+a.Count {
					return true
				}
			}
		}
		return false
	}
	in := func(m IDMap) int { return m.Inside }
	for k := 0; k < 2000; k++ {
		m := make([]IDMap, 1+r.Intn(12))
		for i := range m {
			m[i] = IDMap{r.Intn(200), r.Intn(200), 1 + r.Intn(30)}
		}
		i, j := overlap(m, in)
		want := pairwise(m, in)
		if (i >= 0) != want {
			t.Fatalf("%v: overlap=%d,%d, pairwise=%v", m, i, j, want)
		}
		if i >= 0 {
			a, b := m[i], m[j]
			if !(i < j && a.Inside < b.Inside+b.Count && b.Inside < a.Inside+a.Count) {
				t.Fatalf("%v: reported %d,%d, which do not overlap", m, i, j)
			}
		}
	}
	if _, err := ParseIDMap("0 1000 10\n5 2000 1"); err == nil || !strings.Contains(err.Error(), "overlap inside") {
		t.Fatalf("want an inside overlap, got %v", err)
	}
	if _, err := ParseIDMap("0 1000 10\n20 1005 1"); err == nil || !strings.Contains(err.Error(), "overlap outside") {
		t.Fatalf("want an outside overlap, got %v", err)
	}
}
