package procview

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// NSNode is one namespace in the hierarchy view.
type NSNode struct {
	Type     string // "pid" or "user"
	Inode    uint64
	Parent   uint64 // 0 at the top of what we can see
	Owner    uint64 // the owning user namespace (for pid); the parent for user
	OwnerUID int    // user namespaces: uid of the creator; -1 unknown
	Level    int
	Members  []int // processes in it, as this procfs numbers them
	Children []*NSNode
	Sample   string // a member's command, for reading
}

// NSTree is the PID- and user-namespace hierarchies.
type NSTree struct {
	PID  []*NSNode // roots
	User []*NSNode
	All  map[string]map[uint64]*NSNode
}

// NSTree scans every process and builds the PID and user namespace
// hierarchies with ioctl_ns (NS_GET_PARENT, NS_GET_USERNS, NS_GET_OWNER_UID).
func (p *Proc) NSTree() (*NSTree, error) {
	pids, err := p.Pids()
	if err != nil {
		return nil, err
	}
	t := &NSTree{All: map[string]map[uint64]*NSNode{"pid": {}, "user": {}}}
	for _, pid := range pids {
		for _, typ := range []string{"pid", "user"} {
			fd, err := p.OpenNS(pid, typ)
			if err != nil {
				continue
			}
			t.addChain(typ, fd, pid, p)
		}
	}
	for _, typ := range []string{"pid", "user"} {
		var roots []*NSNode
		for _, n := range t.All[typ] {
			if par, ok := t.All[typ][n.Parent]; ok && n.Parent != 0 {
				par.Children = append(par.Children, n)
			} else {
				roots = append(roots, n)
			}
		}
		for _, n := range t.All[typ] {
			sort.Slice(n.Children, func(i, j int) bool { return n.Children[i].Inode < n.Children[j].Inode })
			sort.Ints(n.Members)
		}
		sort.Slice(roots, func(i, j int) bool { return roots[i].Inode < roots[j].Inode })
		setLevels(roots, 0)
		if typ == "pid" {
			t.PID = roots
		} else {
			t.User = roots
		}
	}
	return t, nil
}

func setLevels(ns []*NSNode, l int) {
	for _, n := range ns {
		n.Level = l
		setLevels(n.Children, l+1)
	}
}

// addChain records the namespace open at fd (closing fd), with pid as a
// member, and its ancestors.
func (t *NSTree) addChain(typ string, fd int, pid int, p *Proc) {
	member := true
	for i := 0; i < 40; i++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil {
			unix.Close(fd)
			return
		}
		n, seen := t.All[typ][st.Ino]
		if !seen {
			n = &NSNode{Type: typ, Inode: st.Ino, OwnerUID: -1}
			if ufd, err := unix.IoctlRetInt(fd, unix.NS_GET_USERNS); err == nil {
				n.Owner = inodeOf(ufd)
				unix.Close(ufd)
			}
			if typ == "user" {
				var uid uint32
				if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.NS_GET_OWNER_UID), uintptrOf(&uid)); e == 0 {
					n.OwnerUID = int(uid)
				}
			}
			t.All[typ][st.Ino] = n
		}
		if member {
			n.Members = append(n.Members, pid)
			if n.Sample == "" {
				if s, err := p.ReadStatus(pid); err == nil {
					n.Sample = p.Cmdline(pid, s.Name)
				}
			}
			member = false
		}
		if seen && i > 0 {
			unix.Close(fd)
			return // ancestors already known
		}
		pfd, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
		unix.Close(fd)
		if err != nil {
			return
		}
		if n.Parent == 0 {
			n.Parent = inodeOf(pfd)
		}
		fd = pfd
	}
	unix.Close(fd)
}

func inodeOf(fd int) uint64 {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0
	}
	return st.Ino
}

func (t *NSTree) draw(b *strings.Builder, ns []*NSNode, prefix string) {
	for i, n := range ns {
		branch, next := "├─ ", "│  "
		if i == len(ns)-1 {
			branch, next = "└─ ", "   "
		}
		extra := ""
		if n.Type == "user" && n.OwnerUID >= 0 {
			extra = fmt.Sprintf(" owner uid %d", n.OwnerUID)
		}
		if n.Type == "pid" && n.Owner != 0 {
			extra = fmt.Sprintf(" owned by user:[%d]", n.Owner)
		}
		members := fmt.Sprintf("%d processes", len(n.Members))
		if len(n.Members) > 0 {
			members += fmt.Sprintf(", e.g. %d %s", n.Members[0], clip(n.Sample, 40))
		}
		fmt.Fprintf(b, "%s%s%s:[%d] level %d%s, %s\n", prefix, branch, n.Type, n.Inode, n.Level, extra, members)
		t.draw(b, n.Children, prefix+next)
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// String draws both hierarchies.
func (t *NSTree) String() string {
	var b strings.Builder
	b.WriteString("PID namespaces\n")
	t.draw(&b, t.PID, "")
	b.WriteString("user namespaces\n")
	t.draw(&b, t.User, "")
	return strings.TrimRight(b.String(), "\n")
}

// DOT is both hierarchies as a Graphviz digraph, parent to child.
func (t *NSTree) DOT() string {
	var b strings.Builder
	b.WriteString("digraph nstree {\n  node [shape=box, fontname=\"monospace\"];\n")
	var walk func(ns []*NSNode)
	walk = func(ns []*NSNode) {
		for _, n := range ns {
			fmt.Fprintf(&b, "  \"%s\" [label=\"%s\\nlevel %d, %d processes\"];\n", ID(n.Type, n.Inode), ID(n.Type, n.Inode), n.Level, len(n.Members))
			for _, c := range n.Children {
				fmt.Fprintf(&b, "  \"%s\" -> \"%s\";\n", ID(n.Type, n.Inode), ID(c.Type, c.Inode))
			}
			walk(n.Children)
		}
	}
	walk(t.PID)
	walk(t.User)
	b.WriteString("}\n")
	return b.String()
}
