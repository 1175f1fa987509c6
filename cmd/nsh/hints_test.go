package main

import (
	"nsh/internal/nshtest"

	"regexp"
	"testing"
)

// firstWord and bareWord are the regexps they replace (the binary no
// longer links regexp).
func TestHintWordsAreTheRegexps(t *testing.T) {
	firstRe := regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.-]*)(\s|$)`)
	bareRe := regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$`)
	nshtest.RandomStrings(5, 6, 200000, 8, "aZ_09.- \t\n\r\f\v(=\"", func(s string) {
		w, ok := firstWord(s)
		m := firstRe.FindStringSubmatch(s)
		if ok != (m != nil) || ok && w != m[1] {
			t.Fatalf("firstWord(%q) = %q, %v; the regexp gives %q", s, w, ok, m)
		}
		w, ok = bareWord(s)
		m = bareRe.FindStringSubmatch(s)
		if ok != (m != nil) || ok && w != m[1] {
			t.Fatalf("bareWord(%q) = %q, %v; the regexp gives %q", s, w, ok, m)
		}
	})
}
