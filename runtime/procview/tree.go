package procview

import (
	"fmt"
	"sort"
	"strings"
)

// TreeRow is one process in a tree view.
type TreeRow struct {
	Depth    int // depth in the process tree below the root
	Pid      int // as this procfs sees it
	PPid     int
	NSpid    []int  // outermost first
	PidNS    uint64 // the process's own PID namespace
	Boundary bool   // first process of a PID namespace within the tree
	Cmd      string
}

// Tree is a process and its descendants.
type Tree struct {
	Rows   []TreeRow
	Levels int // number of PID columns (deepest level + 1)
}

// Tree builds the process tree under root (root included).
func (p *Proc) Tree(root int) (*Tree, error) {
	pids, err := p.Pids()
	if err != nil {
		return nil, err
	}
	stats := map[int]*Status{}
	children := map[int][]int{}
	for _, pid := range pids {
		st, err := p.ReadStatus(pid)
		if err != nil {
			continue
		}
		stats[pid] = st
		children[st.PPid] = append(children[st.PPid], pid)
	}
	if _, ok := stats[root]; !ok {
		st, err := p.ReadStatus(root) // the kernel's reason it is not there
		if err != nil {
			return nil, err
		}
		stats[root] = st
	}
	t := &Tree{}
	var walk func(pid, depth int, parentNS uint64)
	walk = func(pid, depth int, parentNS uint64) {
		st := stats[pid]
		ns, _ := p.Inode(pid, "pid")
		row := TreeRow{Depth: depth, Pid: pid, PPid: st.PPid, NSpid: st.NSpid, PidNS: ns,
			Boundary: parentNS != 0 && ns != parentNS, Cmd: p.Cmdline(pid, st.Name)}
		t.Rows = append(t.Rows, row)
		if len(st.NSpid) > t.Levels {
			t.Levels = len(st.NSpid)
		}
		kids := children[pid]
		sort.Ints(kids)
		for _, k := range kids {
			if depth < 64 {
				walk(k, depth+1, ns)
			}
		}
	}
	rootParentNS, _ := p.Inode(stats[root].PPid, "pid")
	walk(root, 0, rootParentNS)
	return t, nil
}

// String prints the tree with one PID column per namespace level, starting
// at the root's own level; a line marks where a new PID namespace begins.
func (t *Tree) String() string {
	if len(t.Rows) == 0 {
		return "(empty)"
	}
	first := 0
	var b strings.Builder
	for l := first; l < t.Levels; l++ {
		fmt.Fprintf(&b, "%-8s", fmt.Sprintf("L%d", l))
	}
	b.WriteString("COMMAND\n")
	for _, r := range t.Rows {
		for l := first; l < t.Levels; l++ {
			cell := ""
			if l < len(r.NSpid) {
				cell = fmt.Sprint(r.NSpid[l])
			}
			fmt.Fprintf(&b, "%-8s", cell)
		}
		indent := strings.Repeat("  ", r.Depth)
		mark := ""
		if r.Boundary {
			mark = fmt.Sprintf("  <== new PID namespace pid:[%d], level %d", r.PidNS, len(r.NSpid)-1)
		}
		fmt.Fprintf(&b, "%s%s%s\n", indent, r.Cmd, mark)
	}
	return strings.TrimRight(b.String(), "\n")
}
