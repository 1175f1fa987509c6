// Package cgroups creates and drives control groups on v1, v2 and hybrid
// hosts: it finds where each controller lives (from mountinfo), creates a
// group in every hierarchy it needs, maps portable limit names (cpu.weight,
// cpu.max, memory.max, memory.swap.max, pids.max, cpuset.cpus) to the host's
// files (the one table: Limits), checks names and values before the kernel
// sees them, moves processes in, places a new child in a group from its
// first instruction on (Place), reads usage and event counters, freezes,
// kills and removes. Kernel refusals are kerr.Errors naming the call (the
// mkdir, open, write or read of the file); refused input is a plain error
// or a *ValueError. It is plain Go: no Lua, no goroutines.
package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"nsh/runtime/kerr"
)

// Mode says which cgroup versions a host mounts.
type Mode int

const (
	// ModeNone: no cgroup file system is mounted.
	ModeNone Mode = iota
	// ModeV1: only legacy (v1) hierarchies.
	ModeV1
	// ModeV2: only the unified (v2) hierarchy.
	ModeV2
	// ModeHybrid: v1 hierarchies plus a cgroup2 mount (often /sys/fs/cgroup/unified).
	ModeHybrid
)

func (m Mode) String() string {
	switch m {
	case ModeV1:
		return "v1"
	case ModeV2:
		return "v2"
	case ModeHybrid:
		return "hybrid"
	}
	return "none"
}

// Hierarchy is one mounted cgroup hierarchy.
type Hierarchy struct {
	Version     int      // 1 or 2
	Mount       string   // mount point, e.g. /sys/fs/cgroup/memory
	Root        string   // the hierarchy path shown at Mount ("/" unless bind-mounted or in a cgroup namespace)
	Controllers []string // v1: the controllers bound to it; v2: those listed in cgroup.controllers
	Name        string   // v1 named hierarchy (name=systemd gives "systemd"); "" otherwise
	Dev         string   // major:minor of the superblock (identifies the hierarchy)
}

// Layout is where the cgroup hierarchies and controllers live on this host,
// as seen from the mount namespace of the thread that detected it.
type Layout struct {
	Mode        Mode
	Hierarchies []*Hierarchy // v1 hierarchies in mount order, then the v2 one
	V2          *Hierarchy   // nil when no cgroup2 is mounted
	byCtrl      map[string]*Hierarchy
}

// v1Controller says whether o is a controller name a v1 mount's options
// can carry.
func v1Controller(o string) bool {
	switch o {
	case "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio", "blkio",
		"perf_event", "hugetlb", "pids", "rdma", "misc":
		return true
	}
	return false
}

// Detect reads the calling thread's mountinfo (/proc/thread-self/mountinfo,
// so a caller sitting in another mount namespace sees its own mounts).
func Detect() (*Layout, error) {
	return DetectFrom("/proc/thread-self/mountinfo")
}

// DetectFrom reads a mountinfo file (a test can give a fake one whose cgroup2
// mount point is a temporary directory holding a cgroup.controllers file).
func DetectFrom(mountinfoPath string) (*Layout, error) {
	f, err := os.Open(mountinfoPath)
	if err != nil {
		return nil, kerr.New(fmt.Sprintf("open(%s)", mountinfoPath), errnoOf(err), nil)
	}
	defer f.Close()
	l := &Layout{byCtrl: map[string]*Hierarchy{}}
	seen := map[string]*Hierarchy{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		h := parseMountinfoLine(sc.Text())
		if h == nil {
			continue
		}
		if prev, ok := seen[h.Dev]; ok {
			// The same hierarchy mounted twice: prefer the mount showing its root.
			if prev.Root != "/" && h.Root == "/" {
				*prev = *h
			}
			continue
		}
		seen[h.Dev] = h
		l.Hierarchies = append(l.Hierarchies, h)
	}
	if err := sc.Err(); err != nil {
		return nil, kerr.New(fmt.Sprintf("read(%s)", mountinfoPath), errnoOf(err), nil)
	}
	// v1 first, v2 last, so v1 wins a controller name in the (impossible in a
	// live kernel, possible in a fake table) case both claim it.
	sort.SliceStable(l.Hierarchies, func(i, j int) bool {
		return l.Hierarchies[i].Version < l.Hierarchies[j].Version
	})
	hasV1 := false
	for _, h := range l.Hierarchies {
		if h.Version == 2 {
			if l.V2 == nil {
				l.V2 = h
			}
			b, err := os.ReadFile(filepath.Join(h.Mount, "cgroup.controllers"))
			if err == nil {
				h.Controllers = strings.Fields(string(b))
			}
		} else {
			hasV1 = true
		}
		for _, c := range h.Controllers {
			if _, ok := l.byCtrl[c]; !ok {
				l.byCtrl[c] = h
			}
		}
	}
	switch {
	case hasV1 && l.V2 != nil:
		l.Mode = ModeHybrid
	case hasV1:
		l.Mode = ModeV1
	case l.V2 != nil:
		l.Mode = ModeV2
	}
	return l, nil
}

// parseMountinfoLine returns the hierarchy a cgroup/cgroup2 mount line shows,
// or nil for any other line.
//
//	36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
func parseMountinfoLine(line string) *Hierarchy {
	fields := strings.Fields(line)
	sep := -1
	for i, f := range fields {
		if f == "-" {
			sep = i
			break
		}
	}
	if sep < 6 || len(fields) < sep+4 {
		return nil
	}
	fstype := fields[sep+1]
	h := &Hierarchy{Dev: fields[2], Root: unescape(fields[3]), Mount: unescape(fields[4])}
	switch fstype {
	case "cgroup2":
		h.Version = 2
	case "cgroup":
		h.Version = 1
		for _, o := range strings.Split(fields[sep+3], ",") {
			switch {
			case strings.HasPrefix(o, "name="):
				h.Name = strings.TrimPrefix(o, "name=")
			case v1Controller(o):
				h.Controllers = append(h.Controllers, o)
			}
		}
	default:
		return nil
	}
	return h
}

// unescape undoes mountinfo's octal escapes (\040 for a space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOct(s[i+1]) && isOct(s[i+2]) && isOct(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }

// canonical maps alias controller names to the name this layout uses:
// io and blkio are the same controller under v2 and v1 names; cpuacct is part
// of cpu in v2.
func (l *Layout) canonical(c string) string {
	if _, ok := l.byCtrl[c]; ok {
		return c
	}
	alias := map[string]string{"io": "blkio", "blkio": "io", "cpuacct": "cpu"}
	if a, ok := alias[c]; ok {
		if _, ok := l.byCtrl[a]; ok {
			return a
		}
	}
	return c
}

// Controller returns the hierarchy holding controller c (aliases io/blkio and,
// on v2, cpuacct->cpu are accepted).
func (l *Layout) Controller(c string) (*Hierarchy, bool) {
	h, ok := l.byCtrl[l.canonical(c)]
	return h, ok
}

// Controllers lists every controller available on this host, sorted.
func (l *Layout) Controllers() []string {
	var out []string
	for c := range l.byCtrl {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// hierarchyOf finds the hierarchy a cgroup file belongs to from its prefix
// ("memory.max" -> memory). "cgroup.*" files live in every hierarchy: the
// v2 one is preferred.
func (l *Layout) hierarchyOfFile(file string) (ctrl string, h *Hierarchy) {
	prefix, _, found := strings.Cut(file, ".")
	if !found {
		prefix = file // "tasks", "notify_on_release"
	}
	if prefix == "cgroup" || !found {
		return "cgroup", nil
	}
	c := l.canonical(prefix)
	return c, l.byCtrl[c]
}

// String is the layout as a table: one line per hierarchy with its version,
// mount, root and controllers, and what a hybrid host means.
func (l *Layout) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cgroup layout: %s\n", l.Mode)
	fmt.Fprintf(&b, "  %-3s %-28s %-10s %s\n", "VER", "MOUNT", "ROOT", "CONTROLLERS")
	for _, h := range l.Hierarchies {
		what := strings.Join(h.Controllers, ",")
		if h.Name != "" {
			what = strings.TrimPrefix(what+",", ",") + "name=" + h.Name
		}
		if what == "" {
			what = "(none available)"
		}
		fmt.Fprintf(&b, "  v%-2d %-28s %-10s %s\n", h.Version, h.Mount, h.Root, what)
	}
	switch l.Mode {
	case ModeHybrid:
		b.WriteString("  (hybrid: controllers bound to a v1 hierarchy are not available in v2; the v2 tree still gives cgroup.kill, cgroup.freeze, CLONE_INTO_CGROUP)\n")
	case ModeNone:
		b.WriteString("  (no cgroup file system is mounted here)\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
