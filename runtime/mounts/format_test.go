package mounts

import (
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	root := Entry{ID: 21, Parent: 1, Target: "/", Source: "/dev/sda1", FSType: "ext4", Options: "rw,relatime", Propagation: []string{"shared:1"}}
	proc := Entry{ID: 22, Parent: 21, Target: "/proc", Source: "proc", FSType: "proc", Options: "rw,nosuid", Propagation: []string{"private"}}
	tab := FormatTable("mounts of the shell", []Entry{root, proc})
	lines := strings.Split(tab, "\n")
	if len(lines) != 4 || lines[0] != "mounts of the shell" || !strings.Contains(lines[1], "TARGET") ||
		!strings.Contains(lines[2], "/dev/sda1") || !strings.HasSuffix(lines[3], "rw,nosuid") {
		t.Errorf("FormatTable:\n%s", tab)
	}
	ro := root
	ro.Options = "ro,relatime"
	a, b, ch := Diff([]Entry{root, proc}, []Entry{ro})
	diff := FormatDiff("before", "after", a, b, ch)
	if !strings.Contains(diff, "before (-) vs after (+)") || !strings.Contains(diff, "- /proc") ||
		!strings.Contains(diff, "~ /") || !strings.Contains(diff, "ro,relatime") {
		t.Errorf("FormatDiff:\n%s", diff)
	}
	if d := FormatDiff("a", "b", nil, nil, nil); !strings.Contains(d, "(no difference)") {
		t.Errorf("FormatDiff of equal tables: %q", d)
	}
}
