package procview

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"nsh/runtime/nsproc"

	"golang.org/x/sys/unix"
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
	// Threads are the PIDs of the process's other threads in its own PID
	// namespace (each thread takes a PID there); nil when it has one.
	Threads []int
	// Nsh: the process is this nsh's binary or a child nsh re-executed
	// (argv "nsh --nsh-child"), so its threads are the Go runtime's, not
	// the lesson's.
	Nsh bool
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
		if st.Thread > 1 {
			row.Threads = p.threadPids(pid)
			row.Nsh = p.sameExe(pid) || strings.HasPrefix(row.Cmd, "nsh "+nsproc.ChildFlag)
		}
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
		if len(r.Threads) > 0 {
			who := ""
			if r.Nsh {
				who = ": nsh's Go runtime"
			}
			mark += fmt.Sprintf("  [threads %s%s]", strings.Trim(fmt.Sprint(r.Threads), "[]"), who)
		}
		fmt.Fprintf(&b, "%s%s%s\n", indent, r.Cmd, mark)
	}
	return strings.TrimRight(b.String(), "\n")
}

// threadPids are the PIDs, in the process's own (innermost) PID namespace,
// of its threads other than the leader.
func (p *Proc) threadPids(pid int) []int {
	fd, err := unix.Openat(p.fd, strconv.Itoa(pid)+"/task", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), "task")
	names, _ := f.Readdirnames(-1)
	f.Close()
	var out []int
	for _, n := range names {
		tid, err := strconv.Atoi(n)
		if err != nil || tid == pid {
			continue
		}
		b, err := p.ReadFile(strconv.Itoa(pid) + "/task/" + n + "/status")
		if err != nil {
			continue
		}
		if ns := ParseStatus(tid, string(b)).NSpid; len(ns) > 0 {
			out = append(out, ns[len(ns)-1])
		}
	}
	sort.Ints(out)
	return out
}

// sameExe: process pid runs the binary this process runs.
func (p *Proc) sameExe(pid int) bool {
	var a unix.Stat_t
	if unix.Fstatat(p.fd, strconv.Itoa(pid)+"/exe", &a, 0) != nil {
		return false
	}
	b, err := os.Stat("/proc/self/exe")
	if err != nil {
		return false
	}
	st, ok := b.Sys().(*syscall.Stat_t)
	return ok && st.Dev == a.Dev && st.Ino == a.Ino
}
