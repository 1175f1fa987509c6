package lua

import (
	"fmt"
	"strings"

	"nsh/runtime/nsproc"
	"nsh/runtime/procview"

	glua "github.com/yuin/gopher-lua"
)

// extraViews are views other files of this package add (mounts, links,
// cgroup), each a constructor.
var extraViews []func(*Session) Func

func (s *Session) viewModule() *Module {
	m := s.baseViewModule()
	for _, f := range extraViews {
		m.Funcs = append(m.Funcs, f(s))
	}
	return m
}

func (s *Session) baseViewModule() *Module {
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
				Doc: "The kernel's struct pid of a process: level, and numbers[i] = {nr=, ns=, init=} from the outermost namespace " +
					"(numbers[1], level 0) to its own (numbers[level+1]). Read through the initial PID namespace's /proc, since " +
					"the answer depends on which /proc you read.",
				Example: "local u = view.upid(h.pid)\nprint(u.level, u.numbers[u.level+1].nr)"},
			{Name: "tree", Args: "([pid])", Fn: s.viewTree,
				Doc: "The process tree under a process (default: nsh) with one PID column per PID-namespace level and the command; " +
					"a mark where a new PID namespace begins. Returns {levels=, rows={{pid=, ppid=, nspid={...}, depth=, boundary=, cmd=}}}.",
				Example: "print(view.tree())"},
			{Name: "uidmap", Args: "([pid])", Fn: s.viewUIDMap,
				Doc: "uid_map, gid_map and setgroups of a process, and what its ids are inside and outside, explained in a sentence. " +
					"Returns {uid_map={{inside=, outside=, count=}}, gid_map=..., setgroups=, uid=, gid=, inside_uid=, inside_gid=, text=}.",
				Example: "local m = view.uidmap(h.pid)\nprint(m.uid_map[1].inside, m.uid_map[1].outside)"},
			{Name: "nstree", Args: "()", Fn: s.viewNSTree,
				Doc: "The PID- and user-namespace hierarchies of the machine (ioctl_ns NS_GET_PARENT/NS_GET_USERNS/NS_GET_OWNER_UID), " +
					"every level, with owners and member processes, like lsns --tree. Returns {pid={...}, user={...}} of nodes " +
					"{inode=, level=, parent=, owner=, owner_uid=, members={pids}, children={...}}.",
				Example: "print(view.nstree())"},
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
		return raise(L, "view.ns", err)
	}
	ref := s.Home.IDs()
	refName := "nsh's start"
	if other >= 0 {
		o, err := nsproc.List(other)
		if err != nil {
			return raise(L, "view.ns", err)
		}
		ref = o
		refName = fmt.Sprintf("process %d", other)
	}
	t := L.NewTable()
	nsT := L.NewTable()
	diff := L.NewTable()
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
		return raise(L, "view.upid", err)
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
		return raise(L, "view.tree", err)
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
		return raise(L, "view.uidmap", err)
	}
	t := L.NewTable()
	mk := func(name string, ls []mapLine) {
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
	mk("uid_map", toMapLines(v.UIDMap))
	mk("gid_map", toMapLines(v.GIDMap))
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
	tr, err := s.Proc.NSTree()
	if err != nil {
		return raise(L, "view.nstree", err)
	}
	t := L.NewTable()
	t.RawSetString("pid", nsNodes(L, tr.PID))
	t.RawSetString("user", nsNodes(L, tr.User))
	L.Push(withText(L, t, tr.String()))
	return 1
}
