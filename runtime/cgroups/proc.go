package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// Membership is one line of /proc/PID/cgroup joined with the layout: where
// the process sits in one hierarchy, and what limits and usage apply there.
type Membership struct {
	HierarchyID int               // 0 for the v2 hierarchy
	Version     int               // 1 or 2
	Controllers []string          // v1: the hierarchy's controllers; v2: those enabled in that cgroup
	Name        string            // v1 named hierarchy ("systemd"), else ""
	Path        string            // path inside the hierarchy, as the kernel shows it
	Dir         string            // the directory on this mount table; "" if not mounted/visible
	Limits      map[string]string // portable limit name -> value (see Portable), where readable
	Usage       map[string]int64  // cpu.usage_ns, memory.current, memory.peak, pids.current, where readable
}

// ProcessCgroups reads /proc/PID/cgroup (pid 0: the calling thread) and joins
// each line with the layout seen from the calling thread.
func ProcessCgroups(pid int) ([]Membership, error) {
	l, err := Detect()
	if err != nil {
		return nil, err
	}
	return l.ProcessCgroups(pid)
}

// ProcessCgroups is the package ProcessCgroups on a given layout.
func (l *Layout) ProcessCgroups(pid int) ([]Membership, error) {
	p := "/proc/thread-self/cgroup"
	if pid > 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/cgroup"
	} else if pid < 0 {
		return nil, fmt.Errorf("cgroups.process: pid must be >= 0 (0: the calling thread), got %d", pid)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, kerr.New(fmt.Sprintf("open(%s)", p), errnoOf(err), kerr.Rules{
			{Errno: unix.ENOENT, Rule: "no such process (or not visible from this pid namespace's /proc)"},
		})
	}
	defer f.Close()
	var out []Membership
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		id, _ := strconv.Atoi(parts[0])
		m := Membership{HierarchyID: id, Path: parts[2], Version: 1}
		var h *Hierarchy
		if id == 0 && parts[1] == "" {
			m.Version = 2
			h = l.V2
		} else {
			for _, c := range strings.Split(parts[1], ",") {
				if strings.HasPrefix(c, "name=") {
					m.Name = strings.TrimPrefix(c, "name=")
				} else if c != "" {
					m.Controllers = append(m.Controllers, c)
				}
			}
			h = l.v1Match(m.Controllers, m.Name)
		}
		if h != nil {
			m.Dir = dirIn(h, m.Path)
		}
		if m.Dir != "" {
			if m.Version == 2 {
				if s, err := readFile(m.Dir, "cgroup.controllers"); err == nil {
					m.Controllers = strings.Fields(s)
				}
			}
			fillView(l, h, &m)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, kerr.New(fmt.Sprintf("read(%s)", p), errnoOf(err), nil)
	}
	return out, nil
}

// v1Match finds the v1 hierarchy with exactly these controllers (or name).
func (l *Layout) v1Match(ctrls []string, name string) *Hierarchy {
	for _, h := range l.Hierarchies {
		if h.Version != 1 {
			continue
		}
		if name != "" {
			if h.Name == name {
				return h
			}
			continue
		}
		if len(h.Controllers) == len(ctrls) && len(ctrls) > 0 {
			all := true
			for _, c := range ctrls {
				all = all && contains(h.Controllers, c)
			}
			if all {
				return h
			}
		}
	}
	return nil
}

// dirIn maps a hierarchy path to a directory under h's mount, or "" when the
// path lies outside what the mount shows.
func dirIn(h *Hierarchy, path string) string {
	root := strings.TrimSuffix(h.Root, "/")
	if path != root && !strings.HasPrefix(path, root+"/") {
		return ""
	}
	d := filepath.Join(h.Mount, strings.TrimPrefix(path, root))
	if !exists(d) {
		return ""
	}
	return d
}

// fillView reads the limits and usage that apply in m.Dir.
func fillView(l *Layout, h *Hierarchy, m *Membership) {
	g := &Group{layout: l, dirs: []groupDir{{h: h, dir: m.Dir}}, v1swap: -2}
	m.Limits = map[string]string{}
	m.Usage = map[string]int64{}
	for _, name := range Portable {
		ctrl, _, _ := strings.Cut(name, ".")
		if ctrl == "cpu" && name != "cpu.max" && m.Version == 1 && !contains(m.Controllers, "cpu") {
			continue
		}
		if d, _ := g.dirOf(ctrl); d == "" {
			continue
		}
		if m.Version == 2 && !contains(m.Controllers, ctrl) && m.Path != "/" {
			continue
		}
		if v, err := g.Get(name); err == nil {
			m.Limits[name] = v
		}
	}
	if st, err := g.Stats(); err == nil {
		for k, v := range map[string]int64{"cpu.usage_ns": st.CPUUsageNs, "memory.current": st.MemoryCurrent,
			"memory.peak": st.MemoryPeak, "pids.current": st.PidsCurrent} {
			if v >= 0 {
				m.Usage[k] = v
			}
		}
	}
}
