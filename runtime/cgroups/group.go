package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// Parent is the directory, under every hierarchy's mount, that holds nsh's
// own cgroups: <mount>/nsh/<name>. On v2 it holds no processes itself, so it
// may enable controllers for its children (the no-internal-process rule).
const Parent = "nsh"

// Group is one cgroup made by Create: a directory in each hierarchy it needs.
// The caller keeps track of every Group it creates and calls Remove (which is
// idempotent) when done.
type Group struct {
	name   string
	layout *Layout
	dirs   []groupDir // v1 directories in mount order, then the v2 one
	ctrls  []string   // controllers asked for (canonical names)
	v1swap int64      // memory.swap.max last set on v1 (-1: max, -2: never set)
	// rootOn lists controllers Create enabled in the v2 root's
	// cgroup.subtree_control; Remove turns them off again once no nsh
	// group is left.
	rootOn []string
}

type groupDir struct {
	h   *Hierarchy
	dir string
}

// Create detects the layout and creates the cgroup name (may contain "/" for
// nesting) under "nsh" in each hierarchy holding one of controllers, plus the
// v2 tree whenever one is mounted (for cgroup.kill, cgroup.freeze and
// CLONE_INTO_CGROUP). An entry of controllers may list several, as a v1
// mount's options do: "cpu,memory". nil controllers means every controller
// of the host; an empty non-nil list means none: only the v2 directory (an
// error on pure v1).
// limits are set right away, portable ones in the order of Limits, then the
// others in the order given; every value is checked (CheckValue) before
// anything is created, and a failure leaves nothing behind.
func Create(name string, controllers []string, limits ...Setting) (*Group, error) {
	l, err := Detect()
	if err != nil {
		return nil, err
	}
	return l.Create(name, controllers, limits...)
}

// Create is the package Create on a given layout.
func (l *Layout) Create(name string, controllers []string, limits ...Setting) (*Group, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	for _, s := range limits {
		if err := CheckValue(s.Name, s.Value); err != nil {
			return nil, err
		}
	}
	g, err := l.create(name, controllers)
	if err != nil {
		return nil, err
	}
	for _, s := range inLimitOrder(limits) {
		if err := g.Set(s.Name, s.Value); err != nil {
			g.Remove()
			return nil, err
		}
	}
	return g, nil
}

// inLimitOrder sorts settings of portable limits into the order of Limits,
// the others after them as given.
func inLimitOrder(limits []Setting) []Setting {
	rank := func(s Setting) int {
		if l, ok := LookupLimit(s.Name); ok {
			for i := range Limits {
				if Limits[i].Name == l.Name {
					return i
				}
			}
		}
		return len(Limits)
	}
	out := append([]Setting(nil), limits...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

func (l *Layout) create(name string, controllers []string) (*Group, error) {
	g := &Group{name: name, layout: l, v1swap: -2}
	want := map[*Hierarchy]bool{}
	var v2ctrls []string
	if controllers == nil {
		controllers = l.Controllers()
	}
	controllers = splitWords(controllers)
	for _, c := range controllers {
		h, ok := l.Controller(c)
		if !ok {
			return nil, fmt.Errorf("unknown controller %q (this %s host has: %s)", c, l.Mode, strings.Join(l.Controllers(), ", "))
		}
		cc := l.canonical(c)
		if !contains(g.ctrls, cc) {
			g.ctrls = append(g.ctrls, cc)
		}
		want[h] = true
		if h.Version == 2 && !contains(v2ctrls, cc) {
			v2ctrls = append(v2ctrls, cc)
		}
	}
	if l.V2 != nil {
		want[l.V2] = true
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("cgroup %q: no controllers asked for and no cgroup v2 mount: name at least one of: %s", name, strings.Join(l.Controllers(), ", "))
	}
	for _, h := range l.Hierarchies {
		if !want[h] {
			continue
		}
		var dir string
		var err error
		for try := 0; try < 5; try++ { // a concurrent Remove may rmdir an empty parent under us
			dir, err = createIn(h, name, v2ctrls, &g.rootOn)
			if err == nil || !errors.Is(err, unix.ENOENT) {
				break
			}
		}
		if err != nil {
			g.Remove()
			return nil, err
		}
		g.dirs = append(g.dirs, groupDir{h: h, dir: dir})
	}
	return g, nil
}

// splitWords splits comma-separated entries ("cpu,memory") into words.
func splitWords(list []string) []string {
	var out []string
	for _, w := range list {
		for _, c := range strings.Split(w, ",") {
			if c = strings.TrimSpace(c); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// CheckName checks a group name for Create: relative words separated by
// "/" (the group becomes nsh/NAME in each hierarchy).
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("cgroup name is empty; give a name like \"demo\" or \"lab/a\"")
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("cgroup name %q must be relative words separated by \"/\", without empty, \".\" or \"..\" parts", name)
		}
		for _, r := range part {
			if r < ' ' || r == 0x7f {
				return fmt.Errorf("cgroup name %q contains a control character", name)
			}
		}
	}
	return nil
}

// createIn makes <mount>/nsh/<name> in h, with its parents. On v2 it enables
// ctrls in each ancestor's cgroup.subtree_control on the way down; on v1
// cpuset it fills cpuset.cpus and cpuset.mems of every new directory from
// its parent (a new v1 cpuset starts with both empty and refuses processes
// with ENOSPC until they are set).
func createIn(h *Hierarchy, name string, ctrls []string, rootOn *[]string) (string, error) {
	parts := append([]string{Parent}, strings.Split(name, "/")...)
	dir := h.Mount
	for i, p := range parts {
		if h.Version == 2 && len(ctrls) > 0 {
			added, err := enableSubtree(dir, ctrls)
			if err != nil {
				return "", err
			}
			if dir == h.Mount {
				*rootOn = append(*rootOn, added...)
			}
		}
		parent := dir
		dir = filepath.Join(dir, p)
		leaf := i == len(parts)-1
		err := unix.Mkdir(dir, 0o755)
		if err == unix.EEXIST && !leaf {
			continue
		}
		if err == unix.EEXIST {
			return "", &kerr.Error{Call: fmt.Sprintf("mkdir(%s)", dir), Errno: unix.EEXIST,
				Rule: "a cgroup of that name exists already: pick another name (add a unique id) or remove the old one"}
		}
		if err != nil {
			return "", kerr.New(fmt.Sprintf("mkdir(%s)", dir), err, mkdirRules)
		}
		if h.Version == 1 && contains(h.Controllers, "cpuset") {
			if err := fillCpuset(parent, dir); err != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

// enableSubtree writes "+c" for each controller not yet in dir's subtree_control.
func enableSubtree(dir string, ctrls []string) ([]string, error) {
	cur, err := readFile(dir, "cgroup.subtree_control")
	if err != nil {
		return nil, err
	}
	have := strings.Fields(cur)
	var add []string
	for _, c := range ctrls {
		if !contains(have, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil, nil
	}
	if err := writeFile(dir, "cgroup.subtree_control", strings.Join(add, " ")); err != nil {
		return nil, err
	}
	for i := range add {
		add[i] = add[i][1:]
	}
	return add, nil
}

// fillCpuset copies cpuset.cpus and cpuset.mems from parent to dir where dir's
// are empty. This is the classic v1 trap: without it, adding a process fails
// with ENOSPC.
func fillCpuset(parent, dir string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := readFile(dir, f)
		if err != nil {
			return err
		}
		if cur != "" {
			continue
		}
		v, err := readFile(parent, f)
		if err != nil {
			return err
		}
		if err := writeFile(dir, f, v); err != nil {
			return err
		}
	}
	return nil
}

// Removed reports whether Remove has removed every directory of the group.
func (g *Group) Removed() bool { return len(g.dirs) == 0 }

// Name is the name given to Create.
func (g *Group) Name() string { return g.name }

// Layout is the layout the group was created in.
func (g *Group) Layout() *Layout { return g.layout }

// Controllers lists the controllers the group was created with.
func (g *Group) Controllers() []string { return append([]string(nil), g.ctrls...) }

// Paths lists the group's directories, one per hierarchy.
func (g *Group) Paths() []string {
	out := make([]string, len(g.dirs))
	for i, d := range g.dirs {
		out[i] = d.dir
	}
	return out
}

// v2dir is the group's directory in the v2 tree, or "".
func (g *Group) v2dir() string {
	for _, d := range g.dirs {
		if d.h.Version == 2 {
			return d.dir
		}
	}
	return ""
}

// dirOf is the group's directory in the hierarchy of controller c, or "".
func (g *Group) dirOf(c string) (string, int) {
	h, ok := g.layout.Controller(c)
	if !ok {
		return "", 0
	}
	for _, d := range g.dirs {
		if d.h == h {
			return d.dir, h.Version
		}
	}
	return "", 0
}

// dirFor finds the directory holding an interface file, by its controller
// prefix ("memory.max" -> the memory hierarchy). cgroup.* files go to the v2
// directory when there is one. A file the v2 tree has without the controller
// being there (cpu.stat, memory.pressure on a hybrid host) is found there.
func (g *Group) dirFor(file string) (string, error) {
	if strings.ContainsAny(file, "/\x00") || file == "" || file == "." || file == ".." {
		return "", fmt.Errorf("%q is not a cgroup interface file name (a plain name like \"pids.max\", no \"/\")", file)
	}
	ctrl, h := g.layout.hierarchyOfFile(file)
	v2 := g.v2dir()
	if ctrl == "cgroup" {
		// v1-only core files (tasks, notify_on_release, cgroup.clone_children) live in v1 dirs.
		if v2 != "" && exists(filepath.Join(v2, file)) {
			return v2, nil
		}
		for _, d := range g.dirs {
			if d.h.Version == 1 && exists(filepath.Join(d.dir, file)) {
				return d.dir, nil
			}
		}
		if v2 != "" {
			return v2, nil
		}
		if len(g.dirs) > 0 {
			return g.dirs[0].dir, nil
		}
		return "", fmt.Errorf("cgroups: group %q has no directories (removed?)", g.name)
	}
	if h != nil {
		for _, d := range g.dirs {
			if d.h == h && exists(filepath.Join(d.dir, file)) {
				return d.dir, nil
			}
		}
	}
	if v2 != "" && exists(filepath.Join(v2, file)) {
		return v2, nil
	}
	if h != nil {
		for _, d := range g.dirs {
			if d.h == h {
				return d.dir, nil // the ENOENT then lists what it has
			}
		}
		return "", fmt.Errorf("group %q was not created with the %s controller (it lives at %s); create it with %q in its controller list",
			g.name, ctrl, h.Mount, ctrl)
	}
	return "", fmt.Errorf("no hierarchy on this host has the %s controller for %s; available: %s",
		ctrl, file, strings.Join(g.layout.Controllers(), ", "))
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// Write writes value to an interface file, found by its controller prefix.
func (g *Group) Write(file, value string) error {
	dir, err := g.dirFor(file)
	if err != nil {
		return err
	}
	return writeFile(dir, file, value)
}

// Read reads an interface file, found by its controller prefix.
func (g *Group) Read(file string) (string, error) {
	dir, err := g.dirFor(file)
	if err != nil {
		return "", err
	}
	return readFile(dir, file)
}

// Add moves process pid into the group in every hierarchy (cgroup.procs).
func (g *Group) Add(pid int) error {
	if pid < 0 {
		return fmt.Errorf("cgroups.add: pid must be >= 0 (0 means the calling process), got %d", pid)
	}
	if len(g.dirs) == 0 {
		return fmt.Errorf("cgroups.add: group %q has no directories (removed?)", g.name)
	}
	for _, d := range g.dirs {
		if err := writeFile(d.dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// HasV2 reports whether the group has a cgroup v2 directory (so a child can
// be born in it with CLONE_INTO_CGROUP, see Place).
func (g *Group) HasV2() bool { return g.v2dir() != "" }

// Procs lists the processes in the group itself (not its children), from
// every hierarchy, sorted and without duplicates. Pids are as seen from the
// caller's pid namespace.
func (g *Group) Procs() ([]int, error) {
	seen := map[int]bool{}
	for _, d := range g.dirs {
		pids, err := readPids(d.dir)
		if err != nil {
			return nil, err
		}
		for _, p := range pids {
			seen[p] = true
		}
	}
	out := make([]int, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Ints(out)
	return out, nil
}

func readPids(dir string) ([]int, error) {
	s, err := readFile(dir, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(s) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// V2FD opens the group's v2 directory for clone3's CLONE_INTO_CGROUP:
// exec.Cmd{SysProcAttr: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}}.
// The caller closes fd. On a hybrid host this works whether or not any
// controller is enabled on the v2 side; the child's v1 memberships are
// inherited from the parent as usual.
func (g *Group) V2FD() (int, error) {
	dir := g.v2dir()
	if dir == "" {
		return -1, fmt.Errorf("cgroups.v2fd: group %q has no cgroup v2 directory (this host mounts %s cgroups only); CLONE_INTO_CGROUP needs cgroup v2", g.name, g.layout.Mode)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, kerr.New(fmt.Sprintf("open(%s)", dir), err, openRules)
	}
	return fd, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// String is how a group prints: name, layout, controllers, processes and
// directories, or that it was removed.
func (g *Group) String() string {
	if len(g.dirs) == 0 {
		return fmt.Sprintf("cgroup %s/%s (removed)", Parent, g.name)
	}
	ctrls := strings.Join(g.ctrls, ",")
	if ctrls == "" {
		ctrls = "no controllers"
	}
	n := "?"
	if p, err := g.Procs(); err == nil {
		n = strconv.Itoa(len(p))
	}
	return fmt.Sprintf("cgroup %s/%s (%s host; %s; %s processes) at %s", Parent, g.name,
		g.layout.Mode, ctrls, n, strings.Join(g.Paths(), " "))
}
