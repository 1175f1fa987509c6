package transcript

import (
	"nsh/internal/nshtest"

	"regexp"
	"testing"
)

// The regexp stripEscapes replaces (the binary no longer links regexp).
var escapesRe = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>]`)

func TestStripEscapesIsTheRegexp(t *testing.T) {
	fixed := []string{
		"", "plain", "\x1b[1;31mred\x1b[0m", "\x1b]0;title\x07x", "\x1b]0;title\x1b\\x",
		"\x1b]0;unterminated", "\x1b]0;bad\x1bz", "\x1b(Bx\x1b)0y", "\x1b=\x1b>", "\x1b", "a\x1b",
		"\x1b[", "\x1b[12", "\x1b[?25l", "\x1b[ q", "\x1b[1 ", "\x1b(", "\x1b(C", "\x1b\x1b[m",
	}
	for _, s := range fixed {
		if got, want := stripEscapes(s), escapesRe.ReplaceAllString(s, ""); got != want {
			t.Errorf("stripEscapes(%q) = %q, the regexp gives %q", s, got, want)
		}
	}
	// random strings over the bytes that matter
	nshtest.RandomStrings(1, 2, 200000, 12, "\x1b\x07\\[]()=>;?09AB C/@~z\r\n\x7f", func(s string) {
		if got, want := stripEscapes(s), escapesRe.ReplaceAllString(s, ""); got != want {
			t.Fatalf("stripEscapes(%q) = %q, the regexp gives %q", s, got, want)
		}
	})
}
