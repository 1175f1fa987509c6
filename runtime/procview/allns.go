package procview

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A Holder is something other than a member process that keeps a
// namespace alive: a bind mount of its nsfs file, an open descriptor, or a
// process whose next children will be born in it.
type Holder struct {
	Kind    string // "mount", "fd", "pid_for_children", "time_for_children", "owner"
	PID     int    // the process holding it (the mount: one in that mount namespace)
	FD      int    // Kind "fd": the descriptor number
	Path    string // Kind "mount": the mount point
	MountNS uint64 // Kind "mount": the mount namespace the mount is in
	// Note says what the holder is to its owner (nsh fills it in for its
	// own descriptors: "lab selftest's hub").
	Note string
}

func (h Holder) String() string {
	if h.Note != "" {
		n := h
		n.Note = ""
		return n.String() + " (" + h.Note + ")"
	}
	switch h.Kind {
	case "mount":
		return fmt.Sprintf("mounted at %s (mnt:[%d])", h.Path, h.MountNS)
	case "fd":
		return fmt.Sprintf("fd %d of %d", h.FD, h.PID)
	case "owner":
		return "owns namespaces that are alive"
	}
	return fmt.Sprintf("%s of %d", h.Kind, h.PID)
}

// NSEntry is one namespace of the machine, of any of the eight types.
type NSEntry struct {
	Type     string
	Inode    uint64
	Owner    uint64 // the user namespace that owns it (for a user namespace: its parent); 0 when not visible
	Parent   uint64 // pid and user namespaces: the parent; 0 at the top
	OwnerUID int    // user namespaces: the creator's uid; -1 unknown
	Members  []int  // processes in it, ascending
	Sample   string // a member's command
	Holders  []Holder
	Children []*NSEntry // in the tree: user namespaces it is the parent of and the namespaces it owns
}

// NSList is every namespace this procfs can see, and the ownership tree:
// user namespaces nest by parent, every other namespace under its owner.
type NSList struct {
	All   []*NSEntry // sorted by type, then inode
	Roots []*NSEntry
	by    map[string]*NSEntry
}

var nsLinkTypes = []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}

// Namespaces finds every namespace: those of every process (/proc/PID/ns),
// those bind-mounted (nsfs entries of every mount namespace's mountinfo),
// those open as descriptors (/proc/PID/fd), a process's pid_for_children and
// time_for_children, and the user namespaces that own them. Each is asked
// with ioctl_ns for its owner and parent.
func (p *Proc) Namespaces() (*NSList, error) {
	pids, err := p.Pids()
	if err != nil {
		return nil, err
	}
	l := &NSList{by: map[string]*NSEntry{}}
	mntRep := map[uint64]int{} // a process of each mount namespace
	for _, pid := range pids {
		for _, typ := range nsLinkTypes {
			ino, err := p.Inode(pid, typ)
			if err != nil {
				continue
			}
			e := l.entry(p, typ, ino, func() (int, error) { return p.OpenNS(pid, typ) })
			e.Members = append(e.Members, pid)
			if e.Sample == "" {
				if st, err := p.ReadStatus(pid); err == nil {
					e.Sample = p.Cmdline(pid, st.Name)
				}
			}
			if typ == "mnt" {
				if _, ok := mntRep[ino]; !ok {
					mntRep[ino] = pid
				}
			}
		}
		for _, typ := range []string{"pid", "time"} {
			own, err1 := p.Inode(pid, typ)
			next, err2 := p.Inode(pid, typ+"_for_children")
			if err1 == nil && err2 == nil && own != next {
				e := l.entry(p, typ, next, func() (int, error) { return p.OpenNS(pid, typ+"_for_children") })
				e.Holders = append(e.Holders, Holder{Kind: typ + "_for_children", PID: pid})
			}
		}
		p.fdHolders(l, pid)
	}
	for mnt, pid := range mntRep {
		p.mountHolders(l, mnt, pid)
	}
	for _, e := range l.All {
		sort.Ints(e.Members)
		if len(e.Holders) > 1 || len(e.Members) > 0 {
			// "owner" only says why a namespace nothing else holds is alive
			var hs []Holder
			for _, h := range e.Holders {
				if h.Kind != "owner" {
					hs = append(hs, h)
				}
			}
			e.Holders = hs
		}
	}
	sort.Slice(l.All, func(i, j int) bool {
		if l.All[i].Type != l.All[j].Type {
			return l.All[i].Type < l.All[j].Type
		}
		return l.All[i].Inode < l.All[j].Inode
	})
	for _, e := range l.All {
		up := e.Owner
		if e.Type == "user" {
			up = e.Parent
		}
		if par := l.by[key("user", up)]; up != 0 && par != nil && par != e {
			par.Children = append(par.Children, e)
		} else {
			l.Roots = append(l.Roots, e)
		}
	}
	return l, nil
}

func key(typ string, ino uint64) string { return ID(typ, ino) }

// ID names a namespace as its nsfs link does: "net:[4026531840]".
func ID(typ string, ino uint64) string { return fmt.Sprintf("%s:[%d]", typ, ino) }

// ID is the namespace's name as its nsfs link reads.
func (e *NSEntry) ID() string { return ID(e.Type, e.Inode) }

// entry finds or adds the namespace typ:[ino], asking an fd of it (from
// open) for its owner and parent when it is new.
func (l *NSList) entry(p *Proc, typ string, ino uint64, open func() (int, error)) *NSEntry {
	if e := l.by[key(typ, ino)]; e != nil {
		return e
	}
	e := &NSEntry{Type: typ, Inode: ino, OwnerUID: -1}
	l.by[key(typ, ino)] = e
	l.All = append(l.All, e)
	if fd, err := open(); err == nil {
		l.describe(e, fd)
		unix.Close(fd)
	}
	return e
}

// describe fills owner, parent and owner uid from an fd of e, and adds the
// owner and parent chain where they are new.
func (l *NSList) describe(e *NSEntry, fd int) {
	if ufd, err := unix.IoctlRetInt(fd, unix.NS_GET_USERNS); err == nil {
		e.Owner = inodeOf(ufd)
		if l.by[key("user", e.Owner)] == nil {
			o := &NSEntry{Type: "user", Inode: e.Owner, OwnerUID: -1, Holders: []Holder{{Kind: "owner"}}}
			l.by[key("user", o.Inode)] = o
			l.All = append(l.All, o)
			l.describe(o, ufd)
		}
		unix.Close(ufd)
	}
	if e.Type == "user" {
		e.Parent = e.Owner
		var uid uint32
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.NS_GET_OWNER_UID), uintptrOf(&uid)); errno == 0 {
			e.OwnerUID = int(uid)
		}
	}
	if e.Type == "pid" {
		if pfd, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT); err == nil {
			e.Parent = inodeOf(pfd)
			if l.by[key("pid", e.Parent)] == nil {
				par := &NSEntry{Type: "pid", Inode: e.Parent, OwnerUID: -1}
				l.by[key("pid", par.Inode)] = par
				l.All = append(l.All, par)
				l.describe(par, pfd)
			}
			unix.Close(pfd)
		}
	}
}

// parseNSLink reads "net:[4026531840]" (a namespace file's link text, and
// the root field of an nsfs mount).
func parseNSLink(s string) (string, uint64, bool) {
	typ, rest, ok := strings.Cut(s, ":[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return "", 0, false
	}
	ino, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
	if err != nil {
		return "", 0, false
	}
	if typ == "pid_for_children" || typ == "time_for_children" {
		typ = strings.TrimSuffix(typ, "_for_children")
	}
	for _, t := range nsLinkTypes {
		if t == typ {
			return typ, ino, true
		}
	}
	return "", 0, false
}

// fdHolders records the namespaces pid holds open as descriptors.
func (p *Proc) fdHolders(l *NSList, pid int) {
	dir := strconv.Itoa(pid) + "/fd"
	fd, err := unix.Openat(p.fd, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	d := os.NewFile(uintptr(fd), dir)
	names, _ := d.Readdirnames(-1)
	d.Close()
	buf := make([]byte, 128)
	for _, n := range names {
		rel := dir + "/" + n
		k, err := unix.Readlinkat(p.fd, rel, buf)
		if err != nil {
			continue
		}
		typ, ino, ok := parseNSLink(string(buf[:k]))
		if !ok {
			continue
		}
		num, _ := strconv.Atoi(n)
		e := l.entry(p, typ, ino, func() (int, error) {
			return unix.Openat(p.fd, rel, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		})
		e.Holders = append(e.Holders, Holder{Kind: "fd", PID: pid, FD: num})
	}
}

// mountHolders records the nsfs mounts of mount namespace mnt, read from
// the mountinfo of pid, a process in it.
func (p *Proc) mountHolders(l *NSList, mnt uint64, pid int) {
	b, err := p.ReadFile(strconv.Itoa(pid) + "/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok || !strings.HasPrefix(post, "nsfs ") {
			continue
		}
		f := strings.Fields(pre)
		if len(f) < 5 {
			continue
		}
		typ, ino, ok := parseNSLink(f[3])
		if !ok {
			continue
		}
		point := unescapeMountinfo(f[4])
		e := l.entry(p, typ, ino, func() (int, error) {
			return unix.Openat(p.fd, strconv.Itoa(pid)+"/root"+point, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		})
		e.Holders = append(e.Holders, Holder{Kind: "mount", PID: pid, Path: point, MountNS: mnt})
	}
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Line describes one namespace on one line.
func (e *NSEntry) Line() string {
	var parts []string
	if e.Type == "user" && e.OwnerUID >= 0 {
		parts = append(parts, fmt.Sprintf("owner uid %d", e.OwnerUID))
	}
	if e.Type == "pid" && e.Parent != 0 {
		parts = append(parts, fmt.Sprintf("parent pid:[%d]", e.Parent))
	}
	members := fmt.Sprintf("%d processes", len(e.Members))
	if len(e.Members) > 0 {
		members += fmt.Sprintf(", e.g. %d %s", e.Members[0], clip(e.Sample, 40))
	}
	parts = append(parts, members)
	for _, h := range e.Holders {
		parts = append(parts, h.String())
	}
	return fmt.Sprintf("%s:[%d] %s", e.Type, e.Inode, strings.Join(parts, ", "))
}

// String draws the ownership tree.
func (l *NSList) String() string {
	var b strings.Builder
	var draw func(es []*NSEntry, prefix string)
	draw = func(es []*NSEntry, prefix string) {
		for i, e := range es {
			branch, next := "├─ ", "│  "
			if i == len(es)-1 {
				branch, next = "└─ ", "   "
			}
			fmt.Fprintf(&b, "%s%s%s\n", prefix, branch, e.Line())
			draw(e.Children, prefix+next)
		}
	}
	fmt.Fprintf(&b, "%d namespaces (user namespaces nest by parent; each other namespace sits under its owner)\n", len(l.All))
	draw(l.Roots, "")
	return strings.TrimRight(b.String(), "\n")
}

// DOT is the tree as a Graphviz digraph: an edge from each user namespace
// to what it owns or is the parent of, and from each pid namespace to its
// children (dashed).
func (l *NSList) DOT() string {
	var b strings.Builder
	b.WriteString("digraph namespaces {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n")
	for _, e := range l.All {
		label := fmt.Sprintf("%s:[%d]\\n%d processes", e.Type, e.Inode, len(e.Members))
		for _, h := range e.Holders {
			label += "\\n" + strings.ReplaceAll(h.String(), `"`, `\"`)
		}
		fmt.Fprintf(&b, "  \"%s\" [label=\"%s\"];\n", key(e.Type, e.Inode), label)
	}
	for _, e := range l.All {
		for _, c := range e.Children {
			fmt.Fprintf(&b, "  \"%s\" -> \"%s\";\n", key(e.Type, e.Inode), key(c.Type, c.Inode))
		}
		if e.Type == "pid" && e.Parent != 0 {
			fmt.Fprintf(&b, "  \"%s\" -> \"%s\" [style=dashed, label=\"parent\"];\n", key("pid", e.Parent), key(e.Type, e.Inode))
		}
	}
	b.WriteString("}\n")
	return b.String()
}
