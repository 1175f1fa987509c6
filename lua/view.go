package lua

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"nsh/runtime/cgroups"
	"nsh/runtime/mounts"
	"nsh/runtime/netlab"
	"nsh/runtime/nsproc"
	"nsh/runtime/procview"

	glua "github.com/yuin/gopher-lua"
)

// The view module: every view binding is in this file, listed below. Each
// reads live kernel state through a runtime package, converts it to Lua data
// and attaches a text rendering (withText), so a view prints as a
// table and is checked as data. Converters of data another module also
// returns (mount rows, link records) live with that module.

func (s *Session) viewModule() *Module {
	return &Module{
		Name: "view",
		Doc: "Views of what the kernel did. Each returns Lua data for scripts to check, and prints as a readable table " +
			"(at the prompt, or with print()). Process views read the /proc nsh started with, i.e. the initial PID namespace's numbers.",
		Funcs: []Func{
			{Name: "ns", Args: "([pid], [other_pid])", Fn: s.viewNS,
				Doc: "The eight namespace inodes of a process (default: the shell's thread), marking which differ from where nsh started " +
					"(or from other_pid). Returns {pid=, ns={type=inode}, differs={type=true}}.",
				Example: "print(view.ns(h.pid))"},
			{Name: "upid", Args: "(pid)", Fn: s.viewUPID,
				Doc: "The kernel's struct pid of a process: pid, level, cmd, and numbers[i] = {nr=, ns=, init=, init_cmd=} from the outermost namespace " +
					"(numbers[1], level 0) to its own (numbers[level+1]). Read through the initial PID namespace's /proc, since " +
					"the answer depends on which /proc you read.",
				Example: "local u = view.upid(h.pid)\nprint(u.level, u.numbers[u.level+1].nr)"},
			{Name: "tree", Args: "([pid])", Fn: s.viewTree,
				Doc: "The process tree under a process (default: nsh) with one PID column per PID-namespace level and the command; " +
					"a mark where a new PID namespace begins, and the PIDs a multithreaded process's other threads take in its namespace " +
					"(marked \"nsh's Go runtime\" for nsh's own). Returns {levels=, rows={{pid=, ppid=, nspid={...}, depth=, pidns=, boundary=, cmd=, threads=, nsh=}}}.",
				Example: "print(view.tree())"},
			{Name: "uidmap", Args: "([pid])", Fn: s.viewUIDMap,
				Doc: "uid_map, gid_map and setgroups of a process, and what its ids are inside and outside, explained in a sentence. " +
					"Returns {pid=, userns=, uid_map={{inside=, outside=, count=}}, gid_map=..., setgroups=, uid=, gid=, inside_uid=, inside_gid=, root_inside=, text=}.",
				Example: "local m = view.uidmap(h.pid)\nprint(m.uid_map[1].inside, m.uid_map[1].outside)"},
			{Name: "nstree", Args: "([{dot=true}])", Fn: s.viewNSTree,
				Doc: "The PID- and user-namespace hierarchies of the machine (ioctl_ns NS_GET_PARENT/NS_GET_USERNS/NS_GET_OWNER_UID), " +
					"every level, with owners and member processes, like lsns --tree. Returns {pid={...}, user={...}} of nodes " +
					"{type=, inode=, level=, parent=, owner=, owner_uid= (user namespaces), members={pids}, children={...}} " +
					"(json.encode writes it as JSON); with dot=true, the hierarchies as Graphviz DOT text instead.",
				Example: "print(view.nstree())\nio.open(\"/tmp/nstree.dot\", \"w\"):write(view.nstree{dot = true})"},
			{Name: "namespaces", Args: "([{dot=true}])", Fn: s.viewNamespaces,
				Doc: "Every namespace on the machine, of all eight types: those of every process, those only bind-mounted (nsfs entries in any " +
					"mount namespace, e.g. /run/netns/NAME), open as a descriptor (/proc/PID/fd) or kept as a process's pid_for_children or " +
					"time_for_children, and the user namespaces owning them; each with its owner user namespace, its parent (pid and user), " +
					"member processes and holders (which lsns shows only in part). Drawn as the ownership tree (user namespaces by parent, " +
					"every other namespace under its owner). Returns {namespaces={{id=\"net:[4026531840]\", type=, inode=, owner=, parent=, " +
					"owner_uid=, members={pids}, holders={{kind=\"mount\"|\"fd\"|\"pid_for_children\"|\"time_for_children\"|\"owner\", pid=, fd=, path=, mntns=}}, " +
					"children={ids}}}, roots={ids}} (json.encode writes it as JSON); with dot=true, Graphviz DOT text instead.",
				Example: "local v = view.namespaces()\nprint(v)\nfor _, n in ipairs(v.namespaces) do if #n.members == 0 then print(n.id, #n.holders) end end"},
			{Name: "cgroup", Args: "([pid])", Fn: s.viewCgroup,
				Doc: "The cgroups of a process (default: the shell's thread) in every hierarchy of the host: one row per line of /proc/PID/cgroup " +
					"(v1 hierarchies with their controllers, and the v2 line 0::), with the limits that apply there under portable names and the usage " +
					"(cpu time, memory current/peak, pids). Returns {pid=, mode=, cgroups={{id=, version=, controllers={...}, name=, path=, dir=, " +
					"limits={[\"memory.max\"]=...}, usage={[\"memory.current\"]=...}}}}.",
				Example: "local cg = cgroup.create(\"demo\", {pids_max = 20})\nlocal h = ns.spawn{\"/bin/sleep\", \"5\", cgroup = cg}\nprint(view.cgroup(h.pid))\nh:kill(9); h:wait()"},
			{Name: "mounts", Args: "([pid|rows], [pid|rows], [{under=path}]) | {before=rows, after=rows}", Fn: s.viewMounts,
				Doc: "A mount table with its propagation (shared:N peer group, master:N for a slave, private, unbindable), like findmnt. " +
					"view.mounts(pid) shows one process's table (default: the shell's thread); view.mounts(a, b) shows what differs between " +
					"two processes' mount namespaces (a and b: pids, handles or saved row lists); view.mounts{before=rows, after=rows} shows " +
					"what a change did to one namespace (rows from mount.list). {under=\"/path\"} keeps only mounts at or below a path. " +
					"Returns the rows (see mount.list) or {added=, removed=, changed={{before=, after=}}}.",
				Example: "ns.unshare(\"mnt\")\nlocal before = mount.list()\nmount.tmpfs(\"/mnt\")\nprint(view.mounts{before=before, after=mount.list()})"},
			{Name: "links", Args: "([where])", Fn: s.viewLinks,
				Doc: "The network interfaces of a namespace (default: the shell's current one; where = pid, process handle, " +
					"pinned name, path, lab or lab node) as a table: name, type, state, MTU, master, veth peer, addresses. " +
					"Returns the list of links as net.links does.",
				Example: "print(view.links())\nprint(view.links(lab.h1))"},
			{Name: "lab", Args: "(lab)", Fn: s.viewLab,
				Doc: "A lab as a table: every node with its interfaces, addresses and state, and every bridge with its ports " +
					"and their forwarding state (live, from the kernel). Returns {nodes={{name=, links={...}}}, bridges={{name=, addrs=, ports={...}}}}.",
				Example: "local lab = net.lab{name = \"t\"}\nprint(view.lab(lab))"},
		},
	}
}

func (s *Session) viewNS(L *glua.LState) int {
	pid := s.checkPid(L, 1, true)
	other := -1
	if L.Get(2) != glua.LNil {
		other = s.checkPid(L, 2, false)
	}
	mine, err := nsproc.List(pid)
	if err != nil {
		return raiseErr(L, err)
	}
	ref := s.Home.IDs()
	refName := "nsh's start"
	if other >= 0 {
		o, err := nsproc.List(other)
		if err != nil {
			return raiseErr(L, err)
		}
		ref = o
		refName = fmt.Sprintf("process %d", other)
	}
	t := L.NewTable()
	nsT := L.NewTable()
	diff := L.NewTable()
	s.markObject(diff) // a set of types: {} in JSON when empty
	who := "the shell"
	if pid != 0 {
		who = fmt.Sprintf("process %d", pid)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "namespaces of %s (compared with %s)\n", who, refName)
	fmt.Fprintf(&b, "  %-8s %-12s %-12s %s\n", "TYPE", "INODE", "REFERENCE", "")
	for _, ty := range nsproc.Types {
		ino, ok := mine[ty.Name]
		if !ok {
			continue
		}
		cmpName := ty.Name
		if pid == 0 && (ty.Name == "pid" || ty.Name == "time") {
			// the shell's own pid/time namespace never changes; what
			// unshare changed is the one its children get
			if c, ok := mine[ty.Name+"_for_children"]; ok {
				ino = c
				cmpName = ty.Name + "*"
			}
		}
		nsT.RawSetString(ty.Name, glua.LNumber(ino))
		r := ref[ty.Name]
		mark := ""
		if r != ino {
			diff.RawSetString(ty.Name, glua.LTrue)
			mark = "<- differs"
		}
		fmt.Fprintf(&b, "  %-8s %-12d %-12d %s\n", cmpName, ino, r, mark)
	}
	if pid == 0 {
		b.WriteString("  (* pid and time: the namespaces the shell's next children get)\n")
	}
	t.RawSetString("pid", glua.LNumber(pid))
	t.RawSetString("ns", nsT)
	t.RawSetString("differs", diff)
	L.Push(withText(L, t, strings.TrimRight(b.String(), "\n")))
	return 1
}

func (s *Session) viewUPID(L *glua.LState) int {
	pid := s.checkPid(L, 1, false)
	v, err := s.Proc.UPIDs(pid)
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	t.RawSetString("pid", glua.LNumber(v.Pid))
	t.RawSetString("level", glua.LNumber(v.Level))
	t.RawSetString("cmd", glua.LString(v.Cmd))
	nums := L.NewTable()
	for _, u := range v.Numbers {
		e := L.NewTable()
		e.RawSetString("nr", glua.LNumber(u.Nr))
		e.RawSetString("ns", glua.LNumber(u.NS))
		e.RawSetString("init", glua.LNumber(u.Init))
		e.RawSetString("init_cmd", glua.LString(u.InitCmd))
		nums.Append(e)
	}
	t.RawSetString("numbers", nums)
	L.Push(withText(L, t, v.String()))
	return 1
}

func (s *Session) viewTree(L *glua.LState) int {
	pid := s.checkPid(L, 1, true)
	if pid == 0 {
		pid = s.selfPid()
	}
	tr, err := s.Proc.Tree(pid)
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	t.RawSetString("levels", glua.LNumber(tr.Levels))
	rows := L.NewTable()
	for _, r := range tr.Rows {
		e := L.NewTable()
		e.RawSetString("pid", glua.LNumber(r.Pid))
		e.RawSetString("ppid", glua.LNumber(r.PPid))
		e.RawSetString("nspid", intList(L, r.NSpid))
		e.RawSetString("depth", glua.LNumber(r.Depth))
		e.RawSetString("pidns", glua.LNumber(r.PidNS))
		e.RawSetString("boundary", glua.LBool(r.Boundary))
		e.RawSetString("cmd", glua.LString(r.Cmd))
		if len(r.Threads) > 0 {
			e.RawSetString("threads", intList(L, r.Threads))
			e.RawSetString("nsh", glua.LBool(r.Nsh))
		}
		rows.Append(e)
	}
	t.RawSetString("rows", rows)
	L.Push(withText(L, t, tr.String()))
	return 1
}

// selfPid is nsh's pid as the held /proc numbers it.
func (s *Session) selfPid() int {
	if b, err := s.Proc.ReadFile("self/status"); err == nil {
		return procview.ParseStatus(0, string(b)).Pid
	}
	return 0
}

func (s *Session) viewUIDMap(L *glua.LState) int {
	pid := s.checkPid(L, 1, true)
	if pid == 0 {
		pid = s.selfPid()
	}
	v, err := s.Proc.IDMaps(pid)
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	mk := func(name string, ls []procview.MapLine) {
		lt := L.NewTable()
		for _, l := range ls {
			e := L.NewTable()
			e.RawSetString("inside", glua.LNumber(l.Inside))
			e.RawSetString("outside", glua.LNumber(l.Outside))
			e.RawSetString("count", glua.LNumber(l.Count))
			lt.Append(e)
		}
		t.RawSetString(name, lt)
	}
	mk("uid_map", v.UIDMap)
	mk("gid_map", v.GIDMap)
	t.RawSetString("pid", glua.LNumber(pid))
	t.RawSetString("setgroups", glua.LString(v.Setgroups))
	t.RawSetString("userns", glua.LNumber(v.UserNS))
	t.RawSetString("uid", glua.LNumber(v.UID))
	t.RawSetString("gid", glua.LNumber(v.GID))
	t.RawSetString("inside_uid", glua.LNumber(v.InUID))
	t.RawSetString("inside_gid", glua.LNumber(v.InGID))
	t.RawSetString("root_inside", glua.LBool(v.Root))
	t.RawSetString("text", glua.LString(v.Sentence()))
	L.Push(withText(L, t, v.String()))
	return 1
}

func (s *Session) viewNSTree(L *glua.LState) int {
	o := argOptions(L, 1, "dot")
	tr, err := s.Proc.NSTree()
	if err != nil {
		return raiseErr(L, err)
	}
	if o.Bool("dot", false) {
		L.Push(glua.LString(tr.DOT()))
		return 1
	}
	t := L.NewTable()
	t.RawSetString("pid", nsNodes(L, tr.PID))
	t.RawSetString("user", nsNodes(L, tr.User))
	L.Push(withText(L, t, tr.String()))
	return 1
}

func (s *Session) viewNamespaces(L *glua.LState) int {
	o := argOptions(L, 1, "dot")
	nl, err := s.Proc.Namespaces()
	if err != nil {
		return raiseErr(L, err)
	}
	s.noteOwnHolders(nl)
	if o.Bool("dot", false) {
		L.Push(glua.LString(nl.DOT()))
		return 1
	}
	list := L.NewTable()
	for _, e := range nl.All {
		r := L.NewTable()
		r.RawSetString("id", glua.LString(e.ID()))
		r.RawSetString("type", glua.LString(e.Type))
		r.RawSetString("inode", glua.LNumber(e.Inode))
		r.RawSetString("owner", glua.LNumber(e.Owner))
		r.RawSetString("parent", glua.LNumber(e.Parent))
		if e.OwnerUID >= 0 {
			r.RawSetString("owner_uid", glua.LNumber(e.OwnerUID))
		}
		r.RawSetString("members", intList(L, e.Members))
		hs := L.NewTable()
		for _, h := range e.Holders {
			ht := L.NewTable()
			ht.RawSetString("kind", glua.LString(h.Kind))
			if h.PID != 0 {
				ht.RawSetString("pid", glua.LNumber(h.PID))
			}
			if h.Kind == "fd" {
				ht.RawSetString("fd", glua.LNumber(h.FD))
			}
			if h.Kind == "mount" {
				ht.RawSetString("path", glua.LString(h.Path))
				ht.RawSetString("mntns", glua.LNumber(h.MountNS))
			}
			if h.Note != "" {
				ht.RawSetString("nsh", glua.LString(h.Note))
			}
			hs.Append(ht)
		}
		r.RawSetString("holders", hs)
		cs := L.NewTable()
		for _, c := range e.Children {
			cs.Append(glua.LString(c.ID()))
		}
		r.RawSetString("children", cs)
		list.Append(r)
	}
	roots := L.NewTable()
	for _, e := range nl.Roots {
		roots.Append(glua.LString(e.ID()))
	}
	t := L.NewTable()
	t.RawSetString("namespaces", list)
	t.RawSetString("roots", roots)
	L.Push(withText(L, t, nl.String()))
	return 1
}

// noteOwnHolders names the descriptors this nsh holds namespaces by: the
// hubs of its labs and the nodes kept with keep=true (a node nsh holds
// nothing of otherwise: its processes hold it).
func (s *Session) noteOwnHolders(nl *procview.NSList) {
	own := map[int]string{}
	for _, ll := range s.labs {
		for fd, what := range ll.l.HeldFds() {
			own[fd] = what
		}
	}
	self := os.Getpid()
	for _, e := range nl.All {
		for i, h := range e.Holders {
			if h.Kind == "fd" && h.PID == self && own[h.FD] != "" {
				e.Holders[i].Note = "nsh: " + own[h.FD]
			}
		}
	}
}

func nsNodes(L *glua.LState, ns []*procview.NSNode) *glua.LTable {
	t := L.NewTable()
	for _, n := range ns {
		e := L.NewTable()
		e.RawSetString("type", glua.LString(n.Type))
		e.RawSetString("inode", glua.LNumber(n.Inode))
		e.RawSetString("level", glua.LNumber(n.Level))
		e.RawSetString("parent", glua.LNumber(n.Parent))
		e.RawSetString("owner", glua.LNumber(n.Owner))
		if n.OwnerUID >= 0 {
			e.RawSetString("owner_uid", glua.LNumber(n.OwnerUID))
		}
		e.RawSetString("members", intList(L, n.Members))
		e.RawSetString("children", nsNodes(L, n.Children))
		t.Append(e)
	}
	return t
}

func (s *Session) viewCgroup(L *glua.LState) int {
	pid := s.checkPid(L, 1, true)
	l, err := cgroups.Detect()
	if err != nil {
		return raiseErr(L, err)
	}
	ms, err := l.ProcessCgroups(pid)
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	t.RawSetString("pid", glua.LNumber(pid))
	t.RawSetString("mode", glua.LString(l.Mode.String()))
	rows := L.NewTable()
	who := "the shell"
	if pid != 0 {
		who = fmt.Sprintf("process %d", pid)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cgroups of %s (%s host)\n", who, l.Mode)
	fmt.Fprintf(&b, "  %-3s %-18s %-28s %s\n", "ID", "HIERARCHY", "PATH", "LIMITS / USAGE")
	for _, m := range ms {
		e := L.NewTable()
		e.RawSetString("id", glua.LNumber(m.HierarchyID))
		e.RawSetString("version", glua.LNumber(m.Version))
		e.RawSetString("controllers", strList(L, m.Controllers))
		if m.Name != "" {
			e.RawSetString("name", glua.LString(m.Name))
		}
		e.RawSetString("path", glua.LString(m.Path))
		if m.Dir != "" {
			e.RawSetString("dir", glua.LString(m.Dir))
		}
		lim := L.NewTable()
		var info []string
		for _, k := range slices.Sorted(maps.Keys(m.Limits)) {
			v := m.Limits[k]
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				lim.RawSetString(k, glua.LNumber(n))
				if strings.HasPrefix(k, "memory.") {
					v = humanBytes(n)
				}
			} else {
				lim.RawSetString(k, glua.LString(v))
			}
			info = append(info, k+"="+v)
		}
		use := L.NewTable()
		for _, k := range slices.Sorted(maps.Keys(m.Usage)) {
			v := m.Usage[k]
			use.RawSetString(k, glua.LNumber(v))
			switch {
			case strings.HasPrefix(k, "memory."):
				info = append(info, k+"="+humanBytes(v))
			case k == "cpu.usage_ns":
				info = append(info, fmt.Sprintf("cpu=%.3fs", float64(v)/1e9))
			default:
				info = append(info, fmt.Sprintf("%s=%d", k, v))
			}
		}
		s.markObject(lim) // maps: {} in JSON when empty
		s.markObject(use)
		e.RawSetString("limits", lim)
		e.RawSetString("usage", use)
		rows.Append(e)
		hier := "v2 (unified)"
		if m.Version == 1 {
			hier = strings.Join(m.Controllers, ",")
			if m.Name != "" {
				hier = "name=" + m.Name
			}
		} else if len(m.Controllers) > 0 {
			hier = "v2: " + strings.Join(m.Controllers, ",")
		}
		if m.Dir == "" {
			info = append(info, "(not mounted here)")
		}
		fmt.Fprintf(&b, "  %-3d %-18s %-28s %s\n", m.HierarchyID, hier, m.Path, strings.Join(info, " "))
	}
	t.RawSetString("cgroups", rows)
	L.Push(withText(L, t, strings.TrimRight(b.String(), "\n")))
	return 1
}

func (s *Session) viewMounts(L *glua.LState) int {
	// {before=rows, after=rows, under=path}: what a change did to one namespace
	if t, ok := L.Get(1).(*glua.LTable); ok && (t.RawGetString("before") != glua.LNil || t.RawGetString("after") != glua.LNil) {
		o := optionsOf(L, 1, t, "before", "after", "under")
		bt, ok1 := o.Value("before").(*glua.LTable)
		at, ok2 := o.Value("after").(*glua.LTable)
		if !ok1 || !ok2 {
			return argErr(L, 1, "{before=rows, after=rows} needs both, each a row list from mount.list")
		}
		under := o.String("under", "")
		L.Push(bt)
		L.Push(at)
		a, _ := s.tableArg(L, L.GetTop()-1, "view.mounts")
		b, _ := s.tableArg(L, L.GetTop(), "view.mounts")
		L.Pop(2)
		L.Push(diffResult(L, filterUnder(a, under), filterUnder(b, under), "before", "after"))
		return 1
	}
	// a trailing options table (a row list is never empty of rows)
	top := L.GetTop()
	under := ""
	if t, ok := L.Get(top).(*glua.LTable); ok && t.Len() == 0 {
		under = optionsOf(L, top, t, "under").String("under", "")
		L.Remove(top)
		top--
	}
	if top >= 2 && L.Get(2) != glua.LNil {
		a, an := s.tableArg(L, 1, "view.mounts")
		b, bn := s.tableArg(L, 2, "view.mounts")
		L.Push(diffResult(L, filterUnder(a, under), filterUnder(b, under), an, bn))
		return 1
	}
	es, who := s.tableArg(L, 1, "view.mounts")
	es = filterUnder(es, under)
	title := "mounts of " + who
	if under != "" {
		title += fmt.Sprintf(" (at or under %s)", under)
	}
	L.Push(withText(L, rowsTable(L, es), mounts.FormatTable(title, es)))
	return 1
}

// filterUnder keeps the mounts at or below a path.
func filterUnder(es []mounts.Entry, under string) []mounts.Entry {
	if under == "" || under == "/" {
		return es
	}
	under = strings.TrimRight(under, "/")
	var out []mounts.Entry
	for _, e := range es {
		if e.Target == under || strings.HasPrefix(e.Target, under+"/") {
			out = append(out, e)
		}
	}
	return out
}

func (s *Session) viewLinks(L *glua.LState) int {
	ns, done := s.netOpen(L, L.Get(1), 1)
	defer done()
	ls, err := ns.Links()
	if err != nil {
		return raiseErr(L, err)
	}
	title := "links in network namespace " + ns.Name()
	if ino, err := ns.Inode(); err == nil {
		title = fmt.Sprintf("links in net:[%d] (%s)", ino, describeWhere(L.Get(1), ns.Name()))
	}
	L.Push(withText(L, linksTable(L, ls), netlab.LinksText(title, ls)))
	return 1
}

// viewLab is also lab:view. The text comes from runtime/netlab.
func (s *Session) viewLab(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	v, err := l.l.View()
	if err != nil {
		return raiseErr(L, err)
	}
	brs := L.NewTable()
	for _, br := range v.Bridges {
		pt := L.NewTable()
		for _, p := range br.Ports {
			e := L.NewTable()
			e.RawSetString("name", glua.LString(p.Name))
			e.RawSetString("state", glua.LString(p.State))
			pt.Append(e)
		}
		e := L.NewTable()
		e.RawSetString("name", glua.LString(br.Name))
		e.RawSetString("addrs", strList(L, br.Addrs))
		e.RawSetString("state", glua.LString(br.State))
		e.RawSetString("ports", pt)
		brs.Append(e)
	}
	nodes := L.NewTable()
	for _, n := range v.Nodes {
		e := L.NewTable()
		e.RawSetString("name", glua.LString(n.Name))
		lt := L.NewTable()
		for _, lk := range n.Links {
			lt.Append(linkTable(L, lk))
		}
		e.RawSetString("links", lt)
		nodes.Append(e)
	}
	res := L.NewTable()
	res.RawSetString("name", glua.LString(l.l.Name()))
	res.RawSetString("nodes", nodes)
	res.RawSetString("bridges", brs)
	L.Push(withText(L, res, v.Text()))
	return 1
}

// describeWhere names a where value for view.links's title.
func describeWhere(v glua.LValue, def string) string {
	if ud, ok := v.(*glua.LUserData); ok {
		switch h := ud.Value.(type) {
		case *netlab.Node:
			return "lab " + h.Lab().Name() + ", node " + h.Name
		case *luaLab:
			return "lab " + h.l.Name() + ", outer namespace"
		}
	}
	if v == glua.LNil {
		return "the shell's current namespace"
	}
	return def
}
