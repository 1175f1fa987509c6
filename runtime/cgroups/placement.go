package cgroups

import (
	"fmt"
	"os"
	"strconv"
)

// Placement puts a new child into a group before it runs a single
// instruction of its own, on v1, v2 and hybrid hosts alike:
//
//   - cgroup v2: the child is born in the group. clone3 with
//     CLONE_INTO_CGROUP takes the group's directory (File, for
//     SysProcAttr.CgroupFD / nsproc.Spec.CgroupFD), so the child never runs
//     outside it, not even for the instructions before exec.
//   - cgroup v1 has no such flag: the child must be started held (stopped
//     between clone and its own code, as nsproc's Hold does) and Join moves
//     it into each v1 directory before it is released.
//   - a hybrid host needs both: born in the v2 directory, joined to the v1
//     ones while held.
type Placement struct {
	// File is the group's v2 directory opened for CLONE_INTO_CGROUP, or nil
	// when the group has none (pure v1). The caller closes it once the child
	// is started (Close does).
	File *os.File
	name string
	v1   []string // the v1 directories Join writes the child into
}

// Place prepares the start of a child in g (see Placement).
func (g *Group) Place() (*Placement, error) {
	if len(g.dirs) == 0 {
		return nil, fmt.Errorf("group %q has no directories (removed?)", g.name)
	}
	p := &Placement{name: g.name}
	for _, d := range g.dirs {
		if d.h.Version == 1 {
			p.v1 = append(p.v1, d.dir)
		}
	}
	if g.HasV2() {
		fd, err := g.V2FD()
		if err != nil {
			return nil, err
		}
		p.File = os.NewFile(uintptr(fd), "cgroup "+g.v2dir())
	}
	return p, nil
}

// NeedsHold reports whether the child must be started held and given to
// Join before it is released: the group has v1 directories, which a child
// cannot be born in.
func (p *Placement) NeedsHold() bool { return len(p.v1) > 0 }

// Join moves the held child pid into the group's v1 directories (writes
// cgroup.procs of each). Without v1 directories it does nothing.
func (p *Placement) Join(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("placing a child in group %q: pid must be > 0, got %d", p.name, pid)
	}
	for _, dir := range p.v1 {
		if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// Close closes File (if any); a second Close does nothing.
func (p *Placement) Close() error {
	if p.File == nil {
		return nil
	}
	err := p.File.Close()
	p.File = nil
	return err
}
