package nsproc

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// IDMap is one line of uid_map or gid_map: Count ids starting at Inside in
// the namespace are Outside.. in the parent user namespace.
type IDMap struct {
	Inside, Outside, Count int
}

// ParseIDMap reads "0 1000 1" or several such lines (newline- or
// comma-separated). Errors name the line and say what a line must be.
func ParseIDMap(s string) ([]IDMap, error) {
	var out []IDMap
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == ';' })
	// The kernel's limit first: a map of 100,000 lines is refused at once,
	// before any work on its lines.
	n := 0
	for _, line := range lines {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	if n > MaxIDMapLines {
		return nil, fmt.Errorf("id map has %d lines; the kernel accepts at most %d", n, MaxIDMapLines)
	}
	for _, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("id map line %q: want three numbers \"INSIDE OUTSIDE COUNT\" (e.g. \"0 1000 1\")", strings.TrimSpace(line))
		}
		var v [3]int
		for i, w := range f {
			n, err := strconv.ParseUint(w, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("id map line %q: %q is not a non-negative number", strings.TrimSpace(line), w)
			}
			v[i] = int(n)
		}
		if v[2] == 0 {
			return nil, fmt.Errorf("id map line %q: COUNT must be at least 1", strings.TrimSpace(line))
		}
		out = append(out, IDMap{v[0], v[1], v[2]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty id map: want lines \"INSIDE OUTSIDE COUNT\" (e.g. \"0 1000 1\")")
	}
	if i, j := overlap(out, func(m IDMap) int { return m.Inside }); i >= 0 {
		return nil, fmt.Errorf("id map lines %q and %q overlap inside the namespace (the kernel refuses overlapping ranges)", out[i], out[j])
	}
	if i, j := overlap(out, func(m IDMap) int { return m.Outside }); i >= 0 {
		return nil, fmt.Errorf("id map lines %q and %q overlap outside the namespace (the kernel refuses overlapping ranges)", out[i], out[j])
	}
	return out, nil
}

// MaxIDMapLines is the kernel's limit on the lines of one uid_map or
// gid_map (since Linux 4.15; 5 before).
const MaxIDMapLines = 340

// overlap finds two lines whose ranges (from start(line), Count long)
// overlap, in O(n log n): sorted by start, a range overlaps an earlier one
// exactly when it starts before the furthest end seen so far. It returns
// their indices in the map's order (-1, -1: none).
func overlap(m []IDMap, start func(IDMap) int) (int, int) {
	idx := make([]int, len(m))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return start(m[idx[a]]) < start(m[idx[b]]) })
	far := -1 // index of the range with the furthest end so far
	for _, i := range idx {
		if far >= 0 && start(m[i]) < start(m[far])+m[far].Count {
			if far < i {
				return far, i
			}
			return i, far
		}
		if far < 0 || start(m[i])+m[i].Count > start(m[far])+m[far].Count {
			far = i
		}
	}
	return -1, -1
}

// FormatIDMap is the text written to uid_map or gid_map.
func FormatIDMap(m []IDMap) string {
	var b strings.Builder
	for _, l := range m {
		fmt.Fprintf(&b, "%d %d %d\n", l.Inside, l.Outside, l.Count)
	}
	return b.String()
}

func toSys(m []IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, l := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: l.Inside, HostID: l.Outside, Size: l.Count}
	}
	return out
}

var uidMapRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "uid_map can be written only once, by a process in the namespace or its parent; a writer without CAP_SETUID in the parent user namespace " +
		"may map only its own euid (one line, count 1); and every id outside must be mapped in the writer's user namespace"},
	{Errno: unix.EINVAL, Rule: "the map is malformed for the kernel: a line that is not three numbers, a range reaching 2^32, overlapping ranges, " +
		"or more than 340 lines"},
}

var gidMapRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "gid_map can be written only once, by a process with CAP_SETGID in the parent user namespace; " +
		"an unprivileged writer must first write \"deny\" to setgroups (so the mapped root cannot drop supplementary groups), " +
		"and may map only its own egid (one line, count 1); every id outside must be mapped in the writer's user namespace"},
	{Errno: unix.EINVAL, Rule: "the map is malformed for the kernel: a line that is not three numbers, a range reaching 2^32, overlapping ranges, " +
		"or more than 340 lines"},
}

var setgroupsRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "setgroups can no longer be changed once gid_map has been written (and \"allow\" cannot be restored in a namespace whose parent says \"deny\")"},
}

// WriteUIDMap writes /proc/PID/uid_map.
func WriteUIDMap(pid int, m []IDMap) error {
	return writeProc(pid, "uid_map", FormatIDMap(m), uidMapRules)
}

// WriteGIDMap writes /proc/PID/gid_map.
func WriteGIDMap(pid int, m []IDMap) error {
	return writeProc(pid, "gid_map", FormatIDMap(m), gidMapRules)
}

// WriteIDMapText writes text unchecked to /proc/PID/uid_map or gid_map
// (which), so the kernel judges it.
func WriteIDMapText(pid int, which, text string) error {
	rules := uidMapRules
	switch which {
	case "uid_map":
	case "gid_map":
		rules = gidMapRules
	default:
		return fmt.Errorf("no id map file %q (uid_map or gid_map)", which)
	}
	return writeProc(pid, which, text, rules)
}

// WriteSetgroups writes "allow" or "deny" to /proc/PID/setgroups.
func WriteSetgroups(pid int, v string) error {
	if v != "allow" && v != "deny" {
		return fmt.Errorf("setgroups must be \"allow\" or \"deny\", not %q", v)
	}
	return writeProc(pid, "setgroups", v, setgroupsRules)
}

func writeProc(pid int, file, text string, rules kerr.Rules) error {
	path := ProcDir(pid) + "/" + file
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return kerr.New(fmt.Sprintf("open(%q)", path), err, rules)
	}
	defer f.Close()
	_, err = f.Write([]byte(text))
	return kerr.New(fmt.Sprintf("write(%q, %q)", path, strings.TrimSpace(text)), err, rules)
}

// String is the map line as written to uid_map ("0 1000 1").
func (m IDMap) String() string { return fmt.Sprintf("%d %d %d", m.Inside, m.Outside, m.Count) }
