package lua

import (
	"fmt"
	"os"
	"strings"

	"nsh/runtime/cleanup"
	"nsh/runtime/mounts"
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
)

const mountModDoc = "Mounts: mount, umount, bind, make (propagation), move, pivot_root, tmpfs, overlay, and list (a process's mountinfo as rows). " +
	"Every call acts in the mount namespace of the shell's thread: do ns.unshare(\"mnt\") first to experiment in a namespace of your own. " +
	"Mounts made while the shell is still in the mount namespace it started in (one that outlives nsh, e.g. the host's) are registered and " +
	"unmounted when the script or session ends; mounts made inside the script's own mount namespaces (ns.unshare(\"mnt\"), ns.clone/ns.spawn " +
	"with \"mnt\") are not registered: they vanish with the namespace. Failures name the call, the errno and the kernel's rule."

func (s *Session) mountModule() *Module {
	return &Module{
		Name: "mount",
		Doc:  mountModDoc,
		Funcs: []Func{
			{Name: "mount", Args: "(source, target, fstype, [flags], [data])", Fn: s.mountMount,
				Doc: "mount(2). flags are words as mount(8) spells them, comma-separated (\"nosuid,nodev,noexec,ro\", \"bind\", \"rec\", \"remount\"); " +
					"key=value items among them (\"size=16m,mode=755\") go to the filesystem's data, before data. Valid words: " + strings.Join(mounts.FlagWords(), ", ") + ".",
				Example: "ns.unshare(\"mnt\")\nmount.mount(\"proc\", \"/proc\", \"proc\", \"nosuid,nodev,noexec\")"},
			{Name: "umount", Args: "(target, [\"detach\"|\"force\"|{detach=, force=}])", Fn: s.mountUmount,
				Doc: "umount2(2). detach (MNT_DETACH) takes the mount out of the tree now and frees it when the last user leaves; " +
					"without it a busy mount fails with EBUSY. force (MNT_FORCE) is for network filesystems.",
				Example: "mount.umount(\"/mnt/x\", \"detach\")"},
			{Name: "bind", Args: "(source, target, [{recursive=true, readonly=false}])", Fn: s.mountBind,
				Doc: "A bind mount: target shows source's tree (a directory or a file). recursive (default true, like mount --rbind) takes the mounts " +
					"under source along; a non-recursive bind of a tree with locked submounts is refused inside a user namespace. readonly makes the new " +
					"mount read-only (a second call, as the kernel ignores MS_RDONLY on a bind).",
				Example: "mount.bind(\"/tmp/myresolv\", \"/etc/resolv.conf\", {readonly=true})"},
			{Name: "make", Args: "(target, kind, [recursive])", Fn: s.mountMake,
				Doc: "Sets the propagation type of the mount at target: kind is \"private\", \"shared\", \"slave\" or \"unbindable\" " +
					"(or \"rprivate\", \"rshared\", \"rslave\", \"runbindable\" for recursive). recursive (default false) applies it to every mount below.",
				Example: "ns.unshare(\"mnt\")\nmount.make(\"/\", \"private\", true)"},
			{Name: "move", Args: "(source, target)", Fn: s.mountMove,
				Doc:     "Moves the mount at source, with everything under it, to target (MS_MOVE). Refused (EINVAL) when source's parent mount is shared.",
				Example: "mount.move(\"/mnt/a\", \"/mnt/b\")"},
			{Name: "pivot_root", Args: "(new_root, put_old)", Fn: s.mountPivotRoot,
				Doc: "pivot_root(2): new_root becomes \"/\" of the mount namespace and the old root moves to put_old (a directory at or under new_root). " +
					"The kernel's rules (EINVAL): new_root must be a mount point (bind it onto itself), put_old under it, and neither new_root's parent " +
					"nor the current root may be shared (make / rprivate first). Do it in a mount namespace of your own, then umount put_old with detach.",
				Example: "-- in ns.clone(\"mnt\", function() ... end):\nmount.make(\"/\", \"private\", true)\nmount.bind(dir, dir)\nmount.pivot_root(dir, dir..\"/old\")\nmount.umount(\"/old\", \"detach\")"},
			{Name: "pivot", Args: "(new_root)", Fn: s.mountPivot,
				Doc: "The whole pivot the way runc does it, in one call: make / rprivate, bind new_root onto itself, pivot_root(\".\", \".\"), detach the old " +
					"root, chdir(\"/\"). Only in a mount namespace of your own (it refuses in the one nsh started in).",
				Example: "ns.clone(\"mnt\", function(d) mount.pivot(d); return sys.run(\"ls /\") end, dir)"},
			{Name: "tmpfs", Args: "(target, [{size=\"16m\", mode=\"755\"}])", Fn: s.mountTmpfs,
				Doc:     "Mounts a tmpfs at target. size: bytes or a number with k, m, g or %; mode: octal.",
				Example: "ns.unshare(\"mnt\")\nmount.tmpfs(\"/mnt\", {size=\"16m\"})"},
			{Name: "overlay", Args: "{lower=dir|{dirs}, upper=dir, work=dir, target=dir}", Fn: s.mountOverlay,
				Doc: "Mounts an overlayfs at target: lower layers (topmost first) read-only, writes to upper; work is an empty directory on upper's " +
					"filesystem. Without upper and work the overlay is read-only.",
				Example: "mount.overlay{lower=\"/img\", upper=d..\"/up\", work=d..\"/work\", target=d..\"/root\"}"},
			{Name: "list", Args: "([pid])", Fn: s.mountList,
				Doc: "The mount table of a process (default: the shell's thread) from /proc/PID/mountinfo, as a list of rows " +
					"{id=, parent=, source=, target=, fstype=, options=, super_options=, root=, major=, minor=, propagation=\"shared:5 master:3\", " +
					"kind=\"shared\"|\"private\"|\"private,slave\"|..., shared=N, master=N}. shared:N is the peer group the mount sends and receives " +
					"events in; master:N the group it only receives from (a slave); private means neither. Prints as a table.",
				Example: "for _, m in ipairs(mount.list()) do if m.target == \"/\" then print(m.propagation) end end"},
			{Name: "find", Args: "(target, [pid|rows])", Fn: s.mountFind,
				Doc:     "The topmost row mounted exactly at target in a process's table (or in a list of rows), or nil.",
				Example: "local r = mount.find(\"/proc\"); print(r and r.fstype)"},
			{Name: "diff", Args: "(a, b)", Fn: s.mountDiff,
				Doc: "What differs between two mount tables: a and b are pids, process handles or row lists from mount.list (e.g. before and after a " +
					"change). Mounts are matched by target; mount ids and peer-group numbers are not compared (they differ between namespaces). " +
					"Returns {added={rows only in b}, removed={rows only in a}, changed={{before=, after=}}}; prints as a table.",
				Example: "local before = mount.list()\nmount.tmpfs(\"/mnt\")\nprint(mount.diff(before, mount.list()))"},
			{Name: "mkdev", Args: "(dir)", Fn: s.mountMkdev,
				Doc: "Builds a minimal container /dev at dir: a tmpfs with null, zero, full, random, urandom, tty (mknod, or bound from the host's " +
					"nodes in a user namespace, where mknod is EPERM), the links fd, stdin, stdout, stderr, ptmx, a private devpts at pts, a tmpfs at " +
					"shm, and console when stdin is a terminal.",
				Example: "ns.unshare(\"mnt\")\nmount.mkdev(root..\"/dev\")"},
			{Name: "container", Args: "{rootfs=, proc=, sys=, dev=, mqueue=, mask=, readonly=}", Fn: s.mountContainer,
				Doc: "The container mount set-up by hand, the same step ns.spawn's rootfs= options run in the child: make / rprivate, " +
					"bind rootfs onto itself, mount proc, sys, /dev, then pivot_root and detach the old root, then read-only and masked paths. " +
					"Without rootfs the mounts go over the current root. Refuses in the mount namespace nsh started in.",
				Example: "ns.clone(\"mnt,pid\", function(d)\n  mount.container{rootfs=d, proc=true, dev=\"minimal\"}\n  return sys.run(\"ls /dev\")\nend, dir)"},
			{Name: "flags", Args: "()", Fn: s.mountFlags,
				Doc: "The flag words mount.mount accepts.", Example: "print(table.concat(mount.flags(), \" \"))"},
		},
	}
}

// inHomeMnt says whether the Lua thread is still in the mount namespace nsh
// started in: mounts there outlive the script and must be registered.
func (s *Session) inHomeMnt() bool {
	cur, err := nsproc.ID(0, "mnt")
	if err != nil {
		return true
	}
	return cur == s.Home.IDs()["mnt"]
}

// register records an undo for a mount made at target in a namespace that
// outlives the script; the undo first returns the thread to that namespace.
func (s *Session) registerMount(target string) {
	if !s.inHomeMnt() {
		return
	}
	abs := target
	if !strings.HasPrefix(abs, "/") {
		if wd, err := os.Getwd(); err == nil {
			abs = wd + "/" + target
		}
	}
	items := mountItems(s)
	var it *cleanup.Item
	it = s.Reg.Add("mount "+abs, func() error {
		if !s.inHomeMnt() {
			if err := s.Home.Restore([]nsproc.Type{mntType()}); err != nil {
				return err
			}
		}
		l := items[abs]
		for i, x := range l {
			if x == it {
				items[abs] = append(l[:i:i], l[i+1:]...)
				break
			}
		}
		return mounts.Umount(abs, true, false)
	})
	items[abs] = append(items[abs], it)
}

// mountRegs are each session's registered mounts by target, so a mount the
// user unmounts by hand is not unmounted again at the end.
var mountRegs = map[*Session]map[string][]*cleanup.Item{}

func mountItems(s *Session) map[string][]*cleanup.Item {
	m := mountRegs[s]
	if m == nil {
		m = map[string][]*cleanup.Item{}
		mountRegs[s] = m
	}
	return m
}

// forgetMount drops the newest registration of target after the user
// unmounted it by hand.
func (s *Session) forgetMount(target string) {
	abs := target
	if !strings.HasPrefix(abs, "/") {
		if wd, err := os.Getwd(); err == nil {
			abs = wd + "/" + target
		}
	}
	items := mountItems(s)
	l := items[abs]
	if len(l) == 0 || !s.inHomeMnt() {
		return
	}
	l[len(l)-1].Forget()
	items[abs] = l[:len(l)-1]
}

func mntType() nsproc.Type {
	t, _ := nsproc.LookupType("mnt")
	return t
}

// checkStr reads a required string argument.
func checkStr(L *glua.LState, n int, what string) string {
	v, ok := L.Get(n).(glua.LString)
	if !ok || v == "" {
		argErr(L, n, fmt.Sprintf("%s must be a non-empty string, got %s", what, typeName(L.Get(n))))
	}
	return string(v)
}

// optStr reads an optional string argument ("" when absent).
func optStr(L *glua.LState, n int, what string) string {
	switch v := L.Get(n).(type) {
	case *glua.LNilType:
		return ""
	case glua.LString:
		return string(v)
	}
	argErr(L, n, fmt.Sprintf("%s must be a string, got %s", what, typeName(L.Get(n))))
	return ""
}

// optTable reads an optional options table, checking its keys.
func optTable(L *glua.LState, n int, valid ...string) *glua.LTable {
	v := L.Get(n)
	if v == glua.LNil {
		return L.NewTable()
	}
	t, ok := v.(*glua.LTable)
	if !ok {
		argErr(L, n, fmt.Sprintf("options table expected (keys: %s), got %s", strings.Join(valid, ", "), typeName(v)))
	}
	t.ForEach(func(k, _ glua.LValue) {
		ks, ok := k.(glua.LString)
		if ok {
			for _, w := range valid {
				if string(ks) == w {
					return
				}
			}
		}
		argErr(L, n, fmt.Sprintf("unknown option %s (valid: %s)", k.String(), strings.Join(valid, ", ")))
	})
	return t
}

func boolField(L *glua.LState, n int, t *glua.LTable, key string, def bool) bool {
	switch v := t.RawGetString(key).(type) {
	case *glua.LNilType:
		return def
	case glua.LBool:
		return bool(v)
	}
	argErr(L, n, fmt.Sprintf("option %s must be true or false", key))
	return def
}

func strField(L *glua.LState, n int, t *glua.LTable, key string) string {
	switch v := t.RawGetString(key).(type) {
	case *glua.LNilType:
		return ""
	case glua.LString:
		return string(v)
	case glua.LNumber:
		return v.String()
	}
	argErr(L, n, fmt.Sprintf("option %s must be a string", key))
	return ""
}

func (s *Session) mountMount(L *glua.LState) int {
	src := optStr(L, 1, "source")
	target := checkStr(L, 2, "target")
	fstype := optStr(L, 3, "fstype")
	flags := optStr(L, 4, "flags")
	data := optStr(L, 5, "data")
	if _, _, err := mounts.ParseFlags(flags); err != nil {
		return argErr(L, 4, err.Error())
	}
	if err := mounts.Mount(src, target, fstype, flags, data); err != nil {
		return raise(L, "mount.mount", err)
	}
	if !strings.Contains(","+flags+",", ",remount,") {
		s.registerMount(target)
	}
	return 0
}

func (s *Session) mountUmount(L *glua.LState) int {
	target := checkStr(L, 1, "target")
	var detach, force bool
	switch v := L.Get(2).(type) {
	case *glua.LNilType:
	case glua.LString:
		for _, w := range strings.Split(string(v), ",") {
			switch strings.TrimSpace(w) {
			case "detach", "lazy":
				detach = true
			case "force":
				force = true
			case "":
			default:
				return argErr(L, 2, fmt.Sprintf("unknown umount option %q (valid: %s)", w, choices("detach", "force")))
			}
		}
	case *glua.LTable:
		t := optTable(L, 2, "detach", "force")
		detach = boolField(L, 2, t, "detach", false)
		force = boolField(L, 2, t, "force", false)
	default:
		return argErr(L, 2, fmt.Sprintf("\"detach\", \"force\" or {detach=true, force=true} expected, got %s", typeName(v)))
	}
	if err := mounts.Umount(target, detach, force); err != nil {
		return raise(L, "mount.umount", err)
	}
	s.forgetMount(target)
	return 0
}

func (s *Session) mountBind(L *glua.LState) int {
	src := checkStr(L, 1, "source")
	target := checkStr(L, 2, "target")
	o := optTable(L, 3, "recursive", "readonly")
	if err := mounts.Bind(src, target, boolField(L, 3, o, "recursive", true), boolField(L, 3, o, "readonly", false)); err != nil {
		return raise(L, "mount.bind", err)
	}
	s.registerMount(target)
	return 0
}

var propKinds = []string{"private", "shared", "slave", "unbindable"}

func (s *Session) mountMake(L *glua.LState) int {
	target := checkStr(L, 1, "target")
	kind := checkStr(L, 2, "kind")
	rec := false
	switch v := L.Get(3).(type) {
	case *glua.LNilType:
	case glua.LBool:
		rec = bool(v)
	case glua.LString:
		if v != "recursive" {
			return argErr(L, 3, "recursive must be true, false or \"recursive\"")
		}
		rec = true
	default:
		return argErr(L, 3, "recursive must be true or false")
	}
	if k, ok := strings.CutPrefix(kind, "r"); ok && (k == "private" || k == "shared" || k == "slave" || k == "unbindable") {
		kind, rec = k, true
	}
	valid := false
	for _, k := range propKinds {
		valid = valid || k == kind
	}
	if !valid {
		return argErr(L, 2, fmt.Sprintf("unknown propagation %q (valid: %s, or with an r in front for recursive)", kind, choices(propKinds...)))
	}
	if err := mounts.MakePropagation(target, kind, rec); err != nil {
		return raise(L, "mount.make", err)
	}
	return 0
}

func (s *Session) mountMove(L *glua.LState) int {
	src := checkStr(L, 1, "source")
	target := checkStr(L, 2, "target")
	if err := mounts.Move(src, target); err != nil {
		return raise(L, "mount.move", err)
	}
	s.forgetMount(src)
	s.registerMount(target)
	return 0
}

func (s *Session) refuseHome(L *glua.LState, fn string) {
	if s.inHomeMnt() && !s.Child {
		L.RaiseError("%s: refused in the mount namespace nsh started in (it would change the root of every process there): "+
			"do it in a mount namespace of your own (ns.unshare(\"mnt\"), or inside ns.clone(\"mnt\", fn))", fn)
	}
}

func (s *Session) mountPivotRoot(L *glua.LState) int {
	newRoot := checkStr(L, 1, "new_root")
	putOld := checkStr(L, 2, "put_old")
	s.refuseHome(L, "mount.pivot_root")
	if err := mounts.PivotRoot(newRoot, putOld); err != nil {
		return raise(L, "mount.pivot_root", err)
	}
	return 0
}

func (s *Session) mountPivot(L *glua.LState) int {
	newRoot := checkStr(L, 1, "new_root")
	s.refuseHome(L, "mount.pivot")
	if err := mounts.PivotInto(newRoot); err != nil {
		return raise(L, "mount.pivot", err)
	}
	return 0
}

func (s *Session) mountTmpfs(L *glua.LState) int {
	target := checkStr(L, 1, "target")
	o := optTable(L, 2, "size", "mode")
	if err := mounts.Tmpfs(target, strField(L, 2, o, "size"), strField(L, 2, o, "mode")); err != nil {
		return fail(L, "mount.tmpfs", 2, err)
	}
	s.registerMount(target)
	return 0
}

func (s *Session) mountOverlay(L *glua.LState) int {
	o, ok := L.Get(1).(*glua.LTable)
	if !ok {
		return argErr(L, 1, "table expected: mount.overlay{lower=dir|{dirs}, upper=dir, work=dir, target=dir}")
	}
	optTable(L, 1, "lower", "upper", "work", "target")
	lower, err := stringList(L, o.RawGetString("lower"), "lower")
	if err != nil {
		return argErr(L, 1, err.Error())
	}
	target := strField(L, 1, o, "target")
	if target == "" {
		return argErr(L, 1, "target missing: the directory the overlay is mounted on")
	}
	if err := mounts.Overlay(lower, strField(L, 1, o, "upper"), strField(L, 1, o, "work"), target); err != nil {
		return fail(L, "mount.overlay", 1, err)
	}
	s.registerMount(target)
	return 0
}

func (s *Session) mountMkdev(L *glua.LState) int {
	dir := checkStr(L, 1, "dir")
	if err := mounts.MinimalDev(dir); err != nil {
		return raise(L, "mount.mkdev", err)
	}
	s.registerMount(dir)
	return 0
}

func (s *Session) mountFlags(L *glua.LState) int {
	L.Push(strList(L, mounts.FlagWords()))
	return 1
}

func (s *Session) mountContainer(L *glua.LState) int {
	o, ok := L.Get(1).(*glua.LTable)
	if !ok {
		return argErr(L, 1, "table expected: mount.container{rootfs=dir, proc=true, sys=true, dev=\"minimal\", mask=true, readonly=true}")
	}
	var c mounts.ContainerRoot
	var err error
	o.ForEach(func(k, v glua.LValue) {
		if err == nil {
			err = containerOption(&c, k.String(), v)
		}
	})
	if err != nil {
		return argErr(L, 1, err.Error())
	}
	s.refuseHome(L, "mount.container")
	if err := mounts.SetupContainerRoot(c); err != nil {
		return raise(L, "mount.container", err)
	}
	return 0
}

// entryRow converts one mountinfo entry to a Lua row.
func entryRow(L *glua.LState, e mounts.Entry) *glua.LTable {
	r := L.NewTable()
	r.RawSetString("id", glua.LNumber(e.ID))
	r.RawSetString("parent", glua.LNumber(e.Parent))
	r.RawSetString("major", glua.LNumber(e.Major))
	r.RawSetString("minor", glua.LNumber(e.Minor))
	r.RawSetString("root", glua.LString(e.Root))
	r.RawSetString("target", glua.LString(e.Target))
	r.RawSetString("options", glua.LString(e.Options))
	r.RawSetString("fstype", glua.LString(e.FSType))
	r.RawSetString("source", glua.LString(e.Source))
	r.RawSetString("super_options", glua.LString(e.SuperOptions))
	r.RawSetString("propagation", glua.LString(strings.Join(e.Propagation, " ")))
	r.RawSetString("kind", glua.LString(e.Kind()))
	r.RawSetString("shared", glua.LNumber(e.Shared))
	r.RawSetString("master", glua.LNumber(e.Master))
	r.RawSetString("propagate_from", glua.LNumber(e.PropagateFrom))
	return r
}

// rowEntry converts a Lua row back (for diffs of saved tables).
func rowEntry(r *glua.LTable) mounts.Entry {
	num := func(k string) int {
		if n, ok := r.RawGetString(k).(glua.LNumber); ok {
			return int(n)
		}
		return 0
	}
	str := func(k string) string {
		if v, ok := r.RawGetString(k).(glua.LString); ok {
			return string(v)
		}
		return ""
	}
	e := mounts.Entry{ID: num("id"), Parent: num("parent"), Major: num("major"), Minor: num("minor"),
		Root: str("root"), Target: str("target"), Options: str("options"), FSType: str("fstype"),
		Source: str("source"), SuperOptions: str("super_options"),
		Shared: num("shared"), Master: num("master"), PropagateFrom: num("propagate_from")}
	e.Propagation = strings.Fields(str("propagation"))
	if len(e.Propagation) == 0 {
		e.Propagation = []string{"private"}
	}
	return e
}

// tableArg reads a mount table argument: a pid, a process handle, or a row
// list; nil gives the shell thread's own table.
func (s *Session) tableArg(L *glua.LState, n int, fn string) ([]mounts.Entry, string) {
	if t, ok := L.Get(n).(*glua.LTable); ok {
		var es []mounts.Entry
		for i := 1; i <= t.Len(); i++ {
			r, ok := t.RawGetInt(i).(*glua.LTable)
			if !ok {
				argErr(L, n, fmt.Sprintf("rows[%d] is not a mount row (a table from mount.list)", i))
			}
			es = append(es, rowEntry(r))
		}
		return es, "saved table"
	}
	pid := s.checkPid(L, n, true)
	es, err := mounts.List(pid)
	if err != nil {
		raise(L, fn, err)
	}
	if pid == 0 {
		return es, "the shell"
	}
	return es, fmt.Sprintf("process %d", pid)
}

func rowsTable(L *glua.LState, es []mounts.Entry) *glua.LTable {
	t := L.CreateTable(len(es), 0)
	for _, e := range es {
		t.Append(entryRow(L, e))
	}
	return t
}

func (s *Session) mountList(L *glua.LState) int {
	pid := s.checkPid(L, 1, true)
	es, err := mounts.List(pid)
	if err != nil {
		return raise(L, "mount.list", err)
	}
	who := "the shell"
	if pid != 0 {
		who = fmt.Sprintf("process %d", pid)
	}
	L.Push(withText(L, rowsTable(L, es), formatTable("mounts of "+who, es)))
	return 1
}

func (s *Session) mountFind(L *glua.LState) int {
	target := checkStr(L, 1, "target")
	es, _ := s.tableArg(L, 2, "mount.find")
	e, ok := mounts.Find(es, target)
	if !ok {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(entryRow(L, e))
	return 1
}

func (s *Session) mountDiff(L *glua.LState) int {
	if L.Get(1) == glua.LNil || L.Get(2) == glua.LNil {
		return argErr(L, 1, "two mount tables expected: pids, process handles or row lists from mount.list")
	}
	a, an := s.tableArg(L, 1, "mount.diff")
	b, bn := s.tableArg(L, 2, "mount.diff")
	L.Push(diffResult(L, a, b, an, bn))
	return 1
}

func diffResult(L *glua.LState, a, b []mounts.Entry, an, bn string) *glua.LTable {
	onlyA, onlyB, changed := mounts.Diff(a, b)
	t := L.NewTable()
	t.RawSetString("removed", rowsTable(L, onlyA))
	t.RawSetString("added", rowsTable(L, onlyB))
	ch := L.NewTable()
	for _, c := range changed {
		e := L.NewTable()
		e.RawSetString("before", entryRow(L, c[0]))
		e.RawSetString("after", entryRow(L, c[1]))
		ch.Append(e)
	}
	t.RawSetString("changed", ch)
	return withText(L, t, formatDiff(an, bn, onlyA, onlyB, changed))
}

// formatTable prints a mount table like findmnt's list output.
func formatTable(title string, es []mounts.Entry) string {
	var b strings.Builder
	b.WriteString(title + "\n")
	w := [4]int{6, 6, 6, 11}
	for _, e := range es {
		w[0] = max(w[0], len(e.Target))
		w[1] = max(w[1], len(e.Source))
		w[2] = max(w[2], len(e.FSType))
		w[3] = max(w[3], len(strings.Join(e.Propagation, " ")))
	}
	w[0], w[1] = min(w[0], 40), min(w[1], 24)
	fmt.Fprintf(&b, "  %4s %4s  %-*s %-*s %-*s %-*s %s\n", "ID", "PAR", w[0], "TARGET", w[1], "SOURCE", w[2], "FSTYPE", w[3], "PROPAGATION", "OPTIONS")
	for _, e := range es {
		fmt.Fprintf(&b, "  %4d %4d  %-*s %-*s %-*s %-*s %s\n", e.ID, e.Parent, w[0], e.Target, w[1], e.Source, w[2], e.FSType, w[3], strings.Join(e.Propagation, " "), e.Options)
	}
	return strings.TrimRight(b.String(), "\n")
}

func formatDiff(an, bn string, onlyA, onlyB []mounts.Entry, changed [][2]mounts.Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mount tables: %s (-) vs %s (+)\n", an, bn)
	line := func(mark string, e mounts.Entry) {
		fmt.Fprintf(&b, "  %s %-36s %-10s %-14s %-22s %s\n", mark, e.Target, e.FSType, e.Source, strings.Join(e.Propagation, " "), e.Options)
	}
	for _, e := range onlyA {
		line("-", e)
	}
	for _, e := range onlyB {
		line("+", e)
	}
	for _, c := range changed {
		line("~", c[0])
		line(">", c[1])
	}
	if len(onlyA)+len(onlyB)+len(changed) == 0 {
		b.WriteString("  (no difference)\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
