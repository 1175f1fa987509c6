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

// The ns module: namespaces created, joined, inspected and pinned. Every
// function checks its arguments, calls runtime/nsproc and converts back; the
// options of ns.spawn and ns.clone are read in spawnopts.go, process handles
// are handle.go's.

func (s *Session) nsModule() *Module {
	s.installHandleType()
	return &Module{
		Name: "ns",
		Doc: "Namespaces: create (unshare, clone, spawn), join (setns), inspect (id, list, parent, owner, type) and pin them.\n" +
			"Types: " + nsproc.TypeNames() + ", given as a list or a comma-separated string.",
		Funcs: []Func{
			{Name: "unshare", Args: "(types)", Fn: s.nsUnshare,
				Doc: "Moves the shell itself into new namespaces (unshare(2) on the interpreter's thread): every later command runs there. " +
					"\"pid\" and \"time\" apply to the children started next (the shell keeps its own PID). \"user\" cannot be done in place " +
					"(the kernel wants a single-threaded process): use ns.clone/ns.spawn with \"user\", or nsh -U.",
				Example: "ns.unshare(\"uts\"); sys.hostname(\"inside\")"},
			{Name: "setns", Args: "(target, [types])", Fn: s.nsSetns,
				Doc: "Moves the shell into existing namespaces (setns(2)). target: a pid or process handle (types required), " +
					"the path of a namespace file (/proc/PID/ns/net, /run/netns/NAME; its type is found with NS_GET_NSTYPE), " +
					"or a descriptor from sys.open (setns by fd; without a type the kernel takes any; a closed one gets EBADF).",
				Example: "local c = ns.spawn{\"/bin/sleep\", \"5\", ns = \"uts,net\", hostname = \"inside\"}\nsys.sleep(0.2)\nns.setns(c, \"uts,net\"); print(sys.hostname())\nns.restore()\nns.setns(\"/run/netns/\" .. lab.name); ns.restore() -- a pinned lab's hub\nc:kill(9); c:wait()"},
			{Name: "restore", Args: "([types])", Fn: s.nsRestore,
				Doc:     "Moves the shell back into the namespaces it started in (all types but user, or the ones given).",
				Example: "ns.restore()"},
			{Name: "clone", Args: "(types|options, fn, ...)", Fn: s.nsClone,
				Doc: "Runs the Lua function fn(...) in a child process in new namespaces, the way clone(2) runs a function. " +
					"Returns a process handle. fn travels with its upvalues (nil, booleans, numbers, strings, tables, functions); " +
					"a number it returns becomes the exit code (true/nil: 0, false: 1, a Lua error: 1), and h:result() gives every returned value. " +
					"The first argument is the types, or a table of the same options as ns.spawn (ns=, uid_map=, hold=, hostname=, ...). " +
					"What the child makes that the kernel keeps after it ends (mounts outside its own mount namespace or propagated there, pins, cgroups, System V objects outside its own IPC namespace) " +
					"stays when it ends or calls sys.exec, as with clone(2), and is undone when the nsh you started ends; its own new namespaces need no undo.",
				Example: "local h = ns.clone(\"pid,uts\", function(name)\n  sys.hostname(name)\n  return ns.getpid()\nend, \"box\")\nassert(h:wait() == 1)"},
			{Name: "spawn", Args: "{argv..., option=value, ...}", Fn: s.nsSpawn,
				Doc: "Executes a program in new namespaces and returns a process handle. Without set-up steps nsh forks straight into the " +
					"program (as fast as clone(2)); hostname, hold and similar steps run in a re-executed nsh first.\n\n" + spawnOptionsDoc(),
				Example: "local h = ns.spawn{\"/bin/true\", ns = \"pid,mnt,uts,ipc,net\"}\nassert(h:wait() == 0)"},
			{Name: "id", Args: "([pid], type)", Fn: s.nsID,
				Doc:     "The inode number of a process's namespace of one type (the number in /proc/PID/ns/TYPE -> type:[inode]). pid defaults to the shell itself.",
				Example: "print(ns.id(\"net\"), ns.id(1, \"net\"))"},
			{Name: "list", Args: "([pid])", Fn: s.nsList,
				Doc:     "A table of a process's namespace inodes by type (plus pid_for_children and time_for_children).",
				Example: "local l = ns.list(h.pid); print(l.user, l.uts)"},
			{Name: "parent", Args: "(pid|path, [type])", Fn: s.nsRel("parent", nsproc.Parent),
				Doc:     "The parent of a PID or user namespace (ioctl NS_GET_PARENT): {type=, inode=}. EPERM when the parent is outside the caller's view.",
				Example: "local c = ns.spawn{\"/bin/sleep\", \"5\", ns = \"pid\"}\nprint(ns.parent(c.pid, \"pid\").inode == ns.id(\"pid\"))\nc:kill(9); c:wait()"},
			{Name: "owner", Args: "(pid|path, [type])", Fn: s.nsRel("owner", nsproc.Owner),
				Doc:     "The user namespace that owns a namespace (ioctl NS_GET_USERNS): {type=\"user\", inode=, owner_uid=}.",
				Example: "print(ns.owner(h.pid, \"net\").owner_uid)"},
			{Name: "type", Args: "(path)", Fn: s.nsType,
				Doc:     "The type of a namespace file (ioctl NS_GET_NSTYPE).",
				Example: "print(ns.type(\"/proc/self/ns/net\"))"},
			{Name: "pin", Args: "(pid, type, name, [{keep=true}])", Fn: s.nsPin,
				Doc: "Keeps a namespace alive with no process in it by bind-mounting its file: net goes to /run/netns/NAME (so `ip netns exec NAME` " +
					"and `nsenter --net=/run/netns/NAME` work), other types to /run/nsh/TYPE/NAME; a NAME with a slash is a path; a name is a file name without control characters (no newline: ip netns and mountinfo readers would misread it). Unpinned at exit unless keep=true (its /run/nsh/TYPE directory goes with the last pin). Returns the path.",
				Example: "local p = ns.pin(h.pid, \"net\", \"lab1\")\nsys.run(\"ip netns exec lab1 ip link\")"},
			{Name: "unpin", Args: "(path)", Fn: s.nsUnpin,
				Doc: "Removes a pin made by ns.pin (umount + unlink).", Example: "ns.unpin(\"/run/netns/lab1\")"},
			{Name: "getpid", Args: "()", Fn: s.nsGetpid,
				Doc:     "The PID of this nsh process in its own PID namespace (getpid(2)): 1 in the first process of a new PID namespace.",
				Example: "print(ns.getpid())"},
			{Name: "getppid", Args: "()", Fn: s.nsGetppid,
				Doc:     "The parent's PID as seen from this process's PID namespace: 0 when the parent is outside it.",
				Example: "print(ns.getppid())"},
			{Name: "differ", Args: "([pid])", Fn: s.nsDiffer,
				Doc:     "The types in which the shell (or pid) is in other namespaces than where nsh started, as a list.",
				Example: "ns.unshare(\"uts\"); print(table.concat(ns.differ(), \",\"))"},
			{Name: "open", Args: "(pid, type)", Fn: s.nsOpen,
				Doc: "Holds a process's namespace open (a file descriptor) and returns a path to it (/proc/PID/fd/N) usable wherever a namespace file is " +
					"(ns.setns, join=). The namespace stays alive while held, even with no process in it; ns.close or the end of nsh releases it.",
				Example: "local p = ns.open(h.pid, \"net\")\nh:kill(9); h:wait()\nns.setns(p)  -- still there"},
			{Name: "close", Args: "(path)", Fn: s.nsClose,
				Doc: "Releases a namespace held by ns.open.", Example: "local p = ns.open(h.pid, \"net\")\nprint(ns.type(p))\nns.close(p)"},
			{Name: "waitany", Args: "(handles, [timeout])", Fn: s.nsWaitany,
				Doc: "Waits for whichever of several children ends first (the answer to 'how to waitpid on more than one cloned child'): " +
					"returns that handle, its exit code and how it ended. Handles already waited for are skipped; nil when none is left, or nil, \"timeout\".",
				Example: "local left = {h1, h2, h3}\nwhile true do\n  local h, code = ns.waitany(left)\n  if not h then break end\n  print(h.pid, code)\nend"},
			{Name: "types", Args: "()", Fn: s.nsTypes,
				Doc: "The namespace types the kernel knows, with what each isolates.", Example: "for _, t in ipairs(ns.types()) do print(t.name, t.what) end"},
		},
	}
}

// checkTypes reads a types argument: "pid,uts" or {"pid", "uts"}.
func checkTypes(L *glua.LState, n int) nsproc.Set {
	words, err := stringList(L, L.Get(n), "types")
	if err != nil {
		argErr(L, n, err.Error()+" (valid types: "+nsproc.TypeNames()+")")
	}
	ts, err := nsproc.ParseSet(words...)
	if err != nil {
		argErr(L, n, err.Error())
	}
	return ts
}

// checkType reads an argument that names exactly one namespace type.
func checkType(L *glua.LState, n int) nsproc.Type {
	t, ok := checkTypes(L, n).Type()
	if !ok {
		argErr(L, n, "one namespace type expected (valid types: "+nsproc.TypeNames()+")")
	}
	return t
}

// checkNSFile reads argument n as a type or one of the *_for_children
// files ("pid_for_children"), the names of /proc/PID/ns.
func checkNSFile(L *glua.LState, n int) string {
	if str, ok := L.Get(n).(glua.LString); ok && (str == "pid_for_children" || str == "time_for_children") {
		return string(str)
	}
	return checkType(L, n).Name
}

func (s *Session) nsUnshare(L *glua.LState) int {
	if err := nsproc.Unshare(checkTypes(L, 1)); err != nil {
		return raiseErr(L, err, hint(L, err))
	}
	return 0
}

func (s *Session) nsSetns(L *glua.LState) int {
	if fd := fdArg(L, 1); fd != nil {
		var t *nsproc.Type
		if L.Get(2) != glua.LNil {
			ty := checkType(L, 2)
			t = &ty
		}
		if err := nsproc.SetnsFD(fd.n, t); err != nil {
			return raiseErr(L, err, hint(L, err))
		}
		return 0
	}
	var src nsproc.Source
	var ts nsproc.Set
	if path, ok := L.Get(1).(glua.LString); ok {
		if L.Get(2) != glua.LNil {
			ts = checkTypes(L, 2)
		} else {
			name, err := nsproc.TypeOf(string(path))
			if err != nil {
				return raiseErr(L, err)
			}
			t, _ := nsproc.LookupType(name)
			ts = t.Set()
		}
		t, ok := ts.Type()
		if !ok {
			return argErr(L, 2, "a namespace file has exactly one type")
		}
		src = nsproc.Source{Paths: map[string]string{t.Name: string(path)}}
	} else {
		src = nsproc.Source{Pid: s.checkPid(L, 1, false)}
		if L.Get(2) == glua.LNil {
			return argErr(L, 2, "types expected with a pid (valid types: "+nsproc.TypeNames()+")")
		}
		ts = checkTypes(L, 2)
	}
	if err := nsproc.Setns(src, ts); err != nil {
		return raiseErr(L, err, hint(L, err))
	}
	return 0
}

func (s *Session) nsRestore(L *glua.LState) int {
	var ts nsproc.Set // none: all but user
	if L.Get(1) != glua.LNil {
		ts = checkTypes(L, 1)
	}
	if err := s.Home.RestoreSet(ts); err != nil {
		return raiseErr(L, err, hint(L, err))
	}
	return 0
}

// startChild starts spec, registers the child and pushes its handle.
func (s *Session) startChild(L *glua.LState, spec nsproc.Spec, so *spawnOpts, isLua bool) int {
	defer closeAll(so)
	if !so.pgroupSet && jobControl() {
		spec.OwnPgroup = true // job control: see tty.go
	}
	// a child nsh learns which mount namespaces outlive it (its mounts
	// there, or the copies of its shared mounts, are its parent's to undo)
	spec.NshEnv = append(spec.NshEnv, mounts.OuterEnv+"="+s.mountUndo().FormatOuter())
	// and the prefix of its ids in the journal, by which h:keep() names
	// what it and its children record
	prefix := s.Reg.Journal.ChildPrefix()
	if prefix != "" {
		spec.NshEnv = append(spec.NshEnv, cleanup.PrefixEnv+"="+prefix)
	}
	userHold := spec.Hold
	if len(so.afterStart) > 0 {
		spec.Hold = true
	}
	s.Flush()
	p, err := nsproc.Start(spec)
	if err != nil {
		if p != nil {
			stopChild(p)
		}
		runAll(so.onEnd)
		if nsproc.IsSpecError(err) {
			return inputErr(L, 1, err, hint(L, err))
		}
		return raiseErr(L, err, spawnHint(L, err, &spec))
	}
	for _, step := range so.afterStart {
		if err := step(p); err != nil {
			stopChild(p)
			runAll(so.onEnd)
			return raiseErr(L, err)
		}
	}
	if !userHold && spec.Hold {
		if err := p.Release(); err != nil {
			stopChild(p)
			runAll(so.onEnd)
			return raiseErr(L, err)
		}
	}
	ud := s.newHandle(p, so, isLua)
	ud.Value.(*procHandle).jprefix = prefix
	L.Push(ud)
	return 1
}

func (s *Session) nsSpawn(L *glua.LState) int {
	t, ok := L.Get(1).(*glua.LTable)
	if !ok {
		return argErr(L, 1, "table expected: ns.spawn{\"/bin/prog\", \"arg\", ns = \"pid,net\", ...}, got "+describe(L.Get(1)))
	}
	var spec nsproc.Spec
	for i := 1; i <= t.Len(); i++ {
		switch v := t.RawGetInt(i).(type) {
		case glua.LString, glua.LNumber:
			spec.Argv = append(spec.Argv, v.String())
		default:
			return argErr(L, 1, fmt.Sprintf("argv[%d] must be a string, got %s", i, describe(v)))
		}
	}
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return argErr(L, 1, "no program: put the program and its arguments first, e.g. ns.spawn{\"/bin/sh\", \"-c\", \"echo hi\", ns = \"uts\"}")
	}
	so := &spawnOpts{}
	s.readSpawnOptions(L, 1, t, &spec, so)
	return s.startChild(L, spec, so, false)
}

func (s *Session) nsClone(L *glua.LState) int {
	var spec nsproc.Spec
	so := &spawnOpts{}
	switch v := L.Get(1).(type) {
	case glua.LString:
		if strings.TrimSpace(string(v)) != "" {
			spec.Types = checkTypes(L, 1)
		}
	case *glua.LTable:
		if v.Len() > 0 && v.RawGetString("ns") == glua.LNil {
			spec.Types = checkTypes(L, 1) // {"pid", "uts"}
		} else {
			s.readSpawnOptions(L, 1, v, &spec, so)
		}
	default:
		return argErr(L, 1, "types (\"pid,uts\") or an options table ({ns=\"pid\", hold=true, ...}) expected, got "+describe(L.Get(1)))
	}
	fn, ok := L.Get(2).(*glua.LFunction)
	if !ok {
		so.undo()
		return argErr(L, 2, "function expected, got "+describe(L.Get(2)))
	}
	var args []glua.LValue
	for i := 3; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	payload, err := s.Ship(fn, args)
	if err != nil {
		so.undo()
		return raiseErr(L, err)
	}
	spec.Payload = payload
	return s.startChild(L, spec, so, true)
}

// pidAndType reads ([pid], type): a single string argument is the type of
// the shell's own namespace.
func (s *Session) pidAndType(L *glua.LState) (int, string) {
	if _, ok := L.Get(1).(glua.LString); ok && L.GetTop() <= 1 {
		return 0, checkNSFile(L, 1)
	}
	return s.checkPid(L, 1, true), checkNSFile(L, 2)
}

func (s *Session) nsID(L *glua.LState) int {
	pid, typ := s.pidAndType(L)
	ino, err := nsproc.ID(pid, typ)
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(glua.LNumber(ino))
	return 1
}

func (s *Session) nsList(L *glua.LState) int {
	m, err := nsproc.List(s.checkPid(L, 1, true))
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(mapTable(L, m))
	return 1
}

// nsRel is ns.parent and ns.owner: an ioctl on a namespace file, given as
// a path or as (pid, type).
func (s *Session) nsRel(which string, query func(path string) (nsproc.NSInfo, error)) glua.LGFunction {
	return func(L *glua.LState) int {
		var path string
		if str, ok := L.Get(1).(glua.LString); ok && L.Get(2) == glua.LNil {
			path = string(str)
		} else {
			pid := s.checkPid(L, 1, true)
			path = nsproc.NSPath(pid, checkType(L, 2).Name)
		}
		info, err := query(path)
		if err != nil {
			return raiseErr(L, err)
		}
		t := L.NewTable()
		t.RawSetString("type", glua.LString(info.Type))
		t.RawSetString("inode", glua.LNumber(info.Inode))
		if info.OwnerUID >= 0 {
			t.RawSetString("owner_uid", glua.LNumber(info.OwnerUID))
		}
		L.Push(t)
		return 1
	}
}

func (s *Session) nsType(L *glua.LState) int {
	name, err := nsproc.TypeOf(argString(L, 1, "path"))
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(glua.LString(name))
	return 1
}

func (s *Session) nsPin(L *glua.LState) int {
	pid := s.checkPid(L, 1, true)
	t := checkType(L, 2)
	name := argString(L, 3, "name")
	if strings.Contains(name, "..") {
		return argErr(L, 3, "a name like \"lab1\" or an absolute path expected, got "+fmt.Sprintf("%q", name))
	}
	if err := nsproc.CheckPinName(name); err != nil {
		return argErr(L, 3, err.Error())
	}
	keep := argOptions(L, 4, "keep").Bool("keep", false)
	path, err := nsproc.Pin(nsproc.NSPath(pid, t.Name), t.Name, name)
	if err != nil {
		return raiseErr(L, err, hint(L, err))
	}
	it := s.Reg.Add("pin "+path, func() error { return nsproc.Unpin(path) }, mntRec("pin", path))
	if keep {
		it.Keep()
	}
	s.pins[path] = it
	L.Push(glua.LString(path))
	return 1
}

func (s *Session) nsUnpin(L *glua.LState) int {
	path := argString(L, 1, "path")
	if err := nsproc.Unpin(path); err != nil {
		return raiseErr(L, err)
	}
	if it, ok := s.pins[path]; ok {
		it.Forget()
		delete(s.pins, path)
	}
	return 0
}

func (s *Session) nsGetpid(L *glua.LState) int {
	L.Push(glua.LNumber(os.Getpid()))
	return 1
}

func (s *Session) nsGetppid(L *glua.LState) int {
	L.Push(glua.LNumber(os.Getppid()))
	return 1
}

func (s *Session) nsDiffer(L *glua.LState) int {
	L.Push(strList(L, s.differ(s.checkPid(L, 1, true))))
	return 1
}

// differ lists the types in which pid (0: the shell's thread, whose next
// children count for pid and time) is elsewhere than where nsh started.
func (s *Session) differ(pid int) []string {
	var out []string
	home := s.Home.IDs()
	for _, t := range nsproc.Types {
		name := t.Name
		if pid == 0 {
			name = t.ChildrenFile()
		}
		ino, err := nsproc.ID(pid, name)
		if err != nil {
			continue
		}
		if h, ok := home[t.Name]; ok && h != ino {
			out = append(out, t.Name)
		}
	}
	return out
}

func (s *Session) nsTypes(L *glua.LState) int {
	t := L.NewTable()
	for _, ty := range nsproc.Types {
		e := L.NewTable()
		e.RawSetString("name", glua.LString(ty.Name))
		e.RawSetString("what", glua.LString(ty.What))
		t.Append(e)
	}
	L.Push(t)
	return 1
}

func (s *Session) nsOpen(L *glua.LState) int {
	pid := s.checkPid(L, 1, true)
	f, err := nsproc.Open(pid, checkType(L, 2).Name)
	if err != nil {
		return raiseErr(L, err)
	}
	held := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), f.Fd())
	it := s.Reg.Add("namespace fd "+held, f.Close)
	s.held[held] = heldNS{f: f, item: it}
	L.Push(glua.LString(held))
	return 1
}

// heldNS is a namespace ns.open holds.
type heldNS struct {
	f    *os.File
	item interface{ Forget() }
}

func (s *Session) nsClose(L *glua.LState) int {
	path := argString(L, 1, "path")
	h, ok := s.held[path]
	if !ok {
		return argErr(L, 1, "not a namespace held by ns.open: "+path)
	}
	h.f.Close()
	h.item.Forget()
	delete(s.held, path)
	return 0
}

// runAll runs undo functions newest first and returns the first error.
func runAll(fns []func() error) error {
	var first error
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i](); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func closeAll(so *spawnOpts) {
	for _, f := range so.files {
		f.Close()
	}
}
