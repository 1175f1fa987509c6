package mounts

import (
	"fmt"
	"strings"
)

// FormatTable prints a mount table under title, the way findmnt --list
// does: id, parent, target, source, fstype, propagation, options.
func FormatTable(title string, es []Entry) string {
	var b strings.Builder
	b.WriteString(title + "\n")
	w := [4]int{6, 6, 6, 11}
	for _, e := range es {
		w[0] = max(w[0], len(e.Target))
		w[1] = max(w[1], len(e.Source))
		w[2] = max(w[2], len(e.FSType))
		w[3] = max(w[3], len(strings.Join(e.Propagation, " ")))
	}
	w[0], w[1] = min(w[0], 40), min(w[1], 24)
	fmt.Fprintf(&b, "  %4s %4s  %-*s %-*s %-*s %-*s %s\n", "ID", "PAR", w[0], "TARGET", w[1], "SOURCE", w[2], "FSTYPE", w[3], "PROPAGATION", "OPTIONS")
	for _, e := range es {
		fmt.Fprintf(&b, "  %4d %4d  %-*s %-*s %-*s %-*s %s\n", e.ID, e.Parent, w[0], e.Target, w[1], e.Source, w[2], e.FSType, w[3], strings.Join(e.Propagation, " "), e.Options)
	}
	return strings.TrimRight(b.String(), "\n")
}

// FormatDiff prints what Diff found between table a (named an) and b (bn):
// "-" rows only in a, "+" rows only in b, "~" and ">" a changed row before
// and after.
func FormatDiff(an, bn string, onlyA, onlyB []Entry, changed [][2]Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mount tables: %s (-) vs %s (+)\n", an, bn)
	line := func(mark string, e Entry) {
		fmt.Fprintf(&b, "  %s %-36s %-10s %-14s %-22s %s\n", mark, e.Target, e.FSType, e.Source, strings.Join(e.Propagation, " "), e.Options)
	}
	for _, e := range onlyA {
		line("-", e)
	}
	for _, e := range onlyB {
		line("+", e)
	}
	for _, c := range changed {
		line("~", c[0])
		line(">", c[1])
	}
	if len(onlyA)+len(onlyB)+len(changed) == 0 {
		b.WriteString("  (no difference)\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
