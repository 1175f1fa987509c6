package mounts

import (
	"nsh/internal/nshtest"

	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseFlags(t *testing.T) {
	cases := []struct {
		in    string
		flags uintptr
		data  string
	}{
		{"", 0, ""},
		{"nosuid,nodev,ro,noexec,relatime", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_RDONLY | unix.MS_NOEXEC | unix.MS_RELATIME, ""},
		{"bind,rec", unix.MS_BIND | unix.MS_REC, ""},
		{"rbind", unix.MS_BIND | unix.MS_REC, ""},
		{"ro,rw", 0, ""},
		{"nosuid,size=64m,mode=755", unix.MS_NOSUID, "size=64m,mode=755"},
		{" rprivate ", unix.MS_PRIVATE | unix.MS_REC, ""},
	}
	for _, c := range cases {
		f, d, err := ParseFlags(c.in)
		if err != nil || f != c.flags || d != c.data {
			t.Errorf("ParseFlags(%q) = %#x, %q, %v; want %#x, %q", c.in, f, d, err, c.flags, c.data)
		}
	}
	_, _, err := ParseFlags("nosuid,bogus")
	if err == nil || !strings.Contains(err.Error(), `"bogus"`) || !strings.Contains(err.Error(), "nodev") {
		t.Errorf("unknown word: error %v should name it and list the valid words", err)
	}
	if got := FormatFlags(unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY); got != "ro,bind,rec" {
		t.Errorf("FormatFlags = %q", got)
	}
}

// validSize and validMode are the regexps they replace (the binary no
// longer links regexp).
func TestTmpfsOptionChecksAreTheRegexps(t *testing.T) {
	sizeRe := regexp.MustCompile(`^[0-9]+[kKmMgG%]?$`)
	modeRe := regexp.MustCompile(`^[0-7]{3,4}$`)
	nshtest.RandomStrings(3, 4, 100000, 7, "0178kKmMgG%x -", func(s string) {
		if got, want := validSize(s), sizeRe.MatchString(s); got != want {
			t.Fatalf("validSize(%q) = %v, the regexp says %v", s, got, want)
		}
		if got, want := validMode(s), modeRe.MatchString(s); got != want {
			t.Fatalf("validMode(%q) = %v, the regexp says %v", s, got, want)
		}
	})
}
