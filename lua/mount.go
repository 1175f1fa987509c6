package lua

import (
	"fmt"
	"strings"

	"nsh/runtime/mounts"

	glua "github.com/yuin/gopher-lua"
)

const mountModDoc = "Mounts: mount, umount, bind, make (propagation), move, pivot_root, tmpfs, overlay, and list (a process's mountinfo as rows). " +
	"Every call acts in the mount namespace of the shell's thread: do ns.unshare(\"mnt\") first to experiment in a namespace of your own. " +
	"Mounts made in a mount namespace that outlives nsh (the one it started in, e.g. the host's) are recorded and " +
	"unmounted when the nsh you started ends; mounts made inside the script's own mount namespaces (ns.unshare(\"mnt\"), ns.clone/ns.spawn " +
	"with \"mnt\") are not: they vanish with the namespace, and a sys.exec keeps them, as the kernel does — except the copies that a mount made " +
	"under a shared mount gave its peers in the namespaces that outlive nsh: those are recorded (by peer group) and unmounted at the end. " +
	"An ns.clone child undoes none of the mounts the kernel keeps after it ends: they stay for its parent, as with clone(2), until the outermost nsh ends. " +
	"Failures name the call, the errno and the kernel's rule."

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
				Example: "ns.unshare(\"mnt\"); mount.make(\"/\", \"private\", true)\nmount.tmpfs(\"/mnt\")\nmount.umount(\"/mnt\", \"detach\"); ns.restore()"},
			{Name: "bind", Args: "(source, target, [{recursive=true, readonly=false}])", Fn: s.mountBind,
				Doc: "A bind mount: target shows source's tree (a directory or a file). recursive (default true, like mount --rbind) takes the mounts " +
					"under source along; a non-recursive bind of a tree with locked submounts is refused inside a user namespace. readonly makes the new " +
					"mount read-only (a second call, as the kernel ignores MS_RDONLY on a bind).",
				Example: "ns.unshare(\"mnt\")                 -- a mount namespace of the shell's own,\nmount.make(\"/\", \"private\", true)  -- whose mounts never reach the host\n" +
					"local f = io.open(\"/tmp/myresolv\", \"w\"); f:write(\"nameserver 10.53.57.64\\n\"); f:close()\nmount.bind(\"/tmp/myresolv\", \"/etc/resolv.conf\", {readonly=true})\nprint(io.open(\"/etc/resolv.conf\"):read(\"*a\"))\nns.restore()"},
			{Name: "make", Args: "(target, kind, [recursive])", Fn: s.mountMake,
				Doc: "Sets the propagation type of the mount at target: kind is \"private\", \"shared\", \"slave\" or \"unbindable\" " +
					"(or \"rprivate\", \"rshared\", \"rslave\", \"runbindable\" for recursive). recursive (default false) applies it to every mount below.",
				Example: "ns.unshare(\"mnt\")\nmount.make(\"/\", \"private\", true)"},
			{Name: "move", Args: "(source, target)", Fn: s.mountMove,
				Doc:     "Moves the mount at source, with everything under it, to target (MS_MOVE). Refused (EINVAL) when source's parent mount is shared.",
				Example: "ns.unshare(\"mnt\"); mount.make(\"/\", \"private\", true)\nos.execute(\"mkdir -p /tmp/nsh-a /tmp/nsh-b\")\nmount.tmpfs(\"/tmp/nsh-a\")\nmount.move(\"/tmp/nsh-a\", \"/tmp/nsh-b\")\nprint(mount.find(\"/tmp/nsh-b\").fstype)\nmount.umount(\"/tmp/nsh-b\"); ns.restore()"},
			{Name: "pivot_root", Args: "(new_root, put_old)", Fn: s.mountPivotRoot,
				Doc: "pivot_root(2): new_root becomes \"/\" of the mount namespace and the old root moves to put_old (a directory at or under new_root). " +
					"The kernel's rules (EINVAL): new_root must be a mount point (bind it onto itself), put_old under it, and neither new_root's parent " +
					"nor the current root may be shared (make / rprivate first). Do it in a mount namespace of your own, then umount put_old with detach.",
				Example: "local dir = os.tmpname(); os.remove(dir)\nrootfs.build(dir, {binaries = {\"/bin/sh\", \"/bin/ls\"}})\nns.clone(\"mnt\", function()\n  mount.make(\"/\", \"private\", true)\n  mount.bind(dir, dir)\n  os.execute(\"mkdir -p \" .. dir .. \"/old\")\n  mount.pivot_root(dir, dir .. \"/old\")\n  mount.umount(\"/old\", \"detach\")\n  sys.exec(\"/bin/ls\", \"/\")\nend):wait()\nrootfs.remove(dir)"},
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
				Example: "ns.unshare(\"mnt\"); mount.make(\"/\", \"private\", true)\nlocal d = os.tmpname(); os.remove(d)\nos.execute(\"mkdir -p \" .. d .. \"/img \" .. d .. \"/up \" .. d .. \"/work \" .. d .. \"/root\")\nmount.overlay{lower = d .. \"/img\", upper = d .. \"/up\", work = d .. \"/work\", target = d .. \"/root\"}\nmount.umount(d .. \"/root\"); ns.restore()\nos.execute(\"rm -rf \" .. d)"},
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
				Example: "ns.unshare(\"mnt\"); mount.make(\"/\", \"private\", true)\nlocal root = os.tmpname(); os.remove(root); os.execute(\"mkdir -p \" .. root .. \"/dev\")\nmount.mkdev(root .. \"/dev\")\nprint(sys.run(\"ls \" .. root .. \"/dev\"))\nmount.umount(root .. \"/dev\", \"detach\"); ns.restore()\nos.execute(\"rm -rf \" .. root)"},
			{Name: "container", Args: "{rootfs=, proc=, sys=, dev=, mqueue=, mask=, readonly=, unsafe=}", Fn: s.mountContainer,
				Doc: "The container mount set-up by hand, the same step ns.spawn's rootfs= options run in the child, in runc's order " +
					"(with every option): " + strings.Join(mounts.FullContainer().StepNames(), ", ") + ". " +
					"Without rootfs the mounts go over the current root (no bind, no pivot). Refuses in the mount namespace nsh started in. " +
					"The last steps lock the calling process in, as a container's: its capabilities, no_new_privs, the seccomp filter (no more mounts after it) " +
					"and descriptors above 2 close-on-exec; unsafe={\"caps\", \"seccomp\", ...} keeps what a function still needs (see ns.spawn's unsafe=).",
				Example: "ns.clone(\"mnt,pid\", function(d)\n  mount.container{rootfs=d, proc=true, dev=\"minimal\"}\n  return sys.run(\"ls /dev\")\nend, dir)"},
			{Name: "flags", Args: "()", Fn: s.mountFlags,
				Doc: "The flag words mount.mount accepts.", Example: "print(table.concat(mount.flags(), \" \"))"},
		},
	}
}

// mountUndo is the session's mount undo policy (which mounts are unmounted
// when the session ends), made on first use.
func (s *Session) mountUndo() *mounts.Undo {
	if s.mounts == nil {
		s.mounts = mounts.NewUndo(s.Reg, s.Home, s.Child, s.OuterMnt)
	}
	return s.mounts
}

// refuseHome raises when a root change would hit the namespace nsh started in.
func (s *Session) refuseHome(L *glua.LState) {
	if err := s.mountUndo().CheckRootChange(); err != nil {
		raiseErr(L, err, "do it in a mount namespace of your own: ns.unshare(\"mnt\"), or inside ns.clone(\"mnt\", fn)")
	}
}

func (s *Session) mountMount(L *glua.LState) int {
	src := argOptString(L, 1, "source", "")
	target := argString(L, 2, "target")
	fstype := argOptString(L, 3, "fstype", "")
	flags := argOptString(L, 4, "flags", "")
	data := argOptString(L, 5, "data", "")
	if err := mounts.Mount(src, target, fstype, flags, data); err != nil {
		return inputErr(L, 4, err)
	}
	s.mountUndo().MountCall(src, target, flags)
	return 0
}

func (s *Session) mountUmount(L *glua.LState) int {
	target := argString(L, 1, "target")
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
		o := argOptions(L, 2, "detach", "force")
		detach, force = o.Bool("detach", false), o.Bool("force", false)
	default:
		return argErr(L, 2, fmt.Sprintf("\"detach\", \"force\" or {detach=true, force=true} expected, got %s", describe(v)))
	}
	if err := mounts.Umount(target, detach, force); err != nil {
		return raiseErr(L, err)
	}
	s.mountUndo().Unmounted(target)
	return 0
}

func (s *Session) mountBind(L *glua.LState) int {
	src := argString(L, 1, "source")
	target := argString(L, 2, "target")
	o := argOptions(L, 3, "recursive", "readonly")
	if err := mounts.Bind(src, target, o.Bool("recursive", true), o.Bool("readonly", false)); err != nil {
		return raiseErr(L, err)
	}
	s.mountUndo().Mounted(target)
	return 0
}

func (s *Session) mountMake(L *glua.LState) int {
	target := argString(L, 1, "target")
	kind := argChoice(L, 2, "kind", mounts.PropagationKinds...)
	rec := L.Get(3) == glua.LString("recursive") || argBool(L, 3, "recursive", false)
	if err := mounts.MakePropagation(target, kind, rec); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) mountMove(L *glua.LState) int {
	src := argString(L, 1, "source")
	target := argString(L, 2, "target")
	if err := mounts.Move(src, target); err != nil {
		return raiseErr(L, err)
	}
	s.mountUndo().Moved(src, target)
	return 0
}

func (s *Session) mountPivotRoot(L *glua.LState) int {
	newRoot := argString(L, 1, "new_root")
	putOld := argString(L, 2, "put_old")
	s.refuseHome(L)
	if err := mounts.PivotRoot(newRoot, putOld); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) mountPivot(L *glua.LState) int {
	newRoot := argString(L, 1, "new_root")
	s.refuseHome(L)
	if err := mounts.PivotInto(newRoot); err != nil {
		return inputErr(L, 1, err)
	}
	return 0
}

func (s *Session) mountTmpfs(L *glua.LState) int {
	target := argString(L, 1, "target")
	o := argOptions(L, 2, "size", "mode")
	if err := mounts.Tmpfs(target, o.String("size", ""), o.String("mode", "")); err != nil {
		return inputErr(L, 2, err)
	}
	s.mountUndo().Mounted(target)
	return 0
}

func (s *Session) mountOverlay(L *glua.LState) int {
	if _, ok := L.Get(1).(*glua.LTable); !ok {
		return argErr(L, 1, "table expected: mount.overlay{lower=dir|{dirs}, upper=dir, work=dir, target=dir}, got "+describe(L.Get(1)))
	}
	o := argOptions(L, 1, "lower", "upper", "work", "target")
	target := o.String("target", "")
	if err := mounts.Overlay(o.Strings("lower"), o.String("upper", ""), o.String("work", ""), target); err != nil {
		return inputErr(L, 1, err)
	}
	s.mountUndo().Mounted(target)
	return 0
}

func (s *Session) mountMkdev(L *glua.LState) int {
	dir := argString(L, 1, "dir")
	if err := mounts.MinimalDev(dir); err != nil {
		return raiseErr(L, err)
	}
	s.mountUndo().Mounted(dir)
	return 0
}

func (s *Session) mountFlags(L *glua.LState) int {
	L.Push(strList(L, mounts.FlagWords()))
	return 1
}

func (s *Session) mountContainer(L *glua.LState) int {
	if _, ok := L.Get(1).(*glua.LTable); !ok {
		return argErr(L, 1, "table expected: mount.container{rootfs=dir, proc=true, sys=true, dev=\"minimal\", mask=true, readonly=true}, got "+describe(L.Get(1)))
	}
	o := argOptions(L, 1, containerKeys...)
	var c mounts.Container
	for _, k := range containerKeys {
		if o.Has(k) {
			if err := containerOption(&c, k, o.Value(k)); err != nil {
				return argErr(L, 1, err.Error())
			}
		}
	}
	if err := c.Validate(); err != nil {
		return argErr(L, 1, err.Error())
	}
	s.refuseHome(L)
	if err := c.Setup(); err != nil {
		return inputErr(L, 1, err)
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
		raiseAs(L, fn, err)
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
		return raiseErr(L, err)
	}
	who := "the shell"
	if pid != 0 {
		who = fmt.Sprintf("process %d", pid)
	}
	L.Push(withText(L, rowsTable(L, es), mounts.FormatTable("mounts of "+who, es)))
	return 1
}

func (s *Session) mountFind(L *glua.LState) int {
	target := argString(L, 1, "target")
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
	return withText(L, t, mounts.FormatDiff(an, bn, onlyA, onlyB, changed))
}
