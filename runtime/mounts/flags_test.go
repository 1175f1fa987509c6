package mounts

import (
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
