package lua

import (
	"fmt"
	"os"

	"nsh/runtime/files"

	glua "github.com/yuin/gopher-lua"
)

// The file calls of the sys module (runtime/files), beside sys.go because
// the sys module's records would not fit one file under 500 lines. The many
// calls of one shape (a path, maybe a mode) share the binders pathCall and
// pathModeCall, so each is one record.

func (s *Session) sysFileFuncs() []Func {
	return []Func{
		{Name: "stat", Args: "(path)", Fn: s.sysStat(true),
			Doc: "stat(2) of a path (links followed): {type=\"file\"|\"dir\"|\"symlink\"|\"char\"|\"block\"|\"fifo\"|\"socket\", mode=number, perm=\"0755\", " +
				"uid=, gid= (as this user namespace sees them: 65534 when unmapped), size=, inode=, nlink=, dev=\"maj:min\", rdev=\"maj:min\" (of a device node), mount_id= (as in mountinfo)}.",
			Example: "local st = sys.stat(\"/dev/null\")\nprint(st.type, st.rdev, st.uid)"},
		{Name: "lstat", Args: "(path)", Fn: s.sysStat(false),
			Doc: "lstat(2): as sys.stat, but a symbolic link is described itself (type \"symlink\").", Example: "print(sys.lstat(\"/proc/self\").type)"},
		{Name: "readdir", Args: "(path)", Fn: s.sysReaddir,
			Doc:     "The names in a directory, sorted, without . and ..: a list of {name=, type=} (type as sys.stat's, \"unknown\" when the filesystem does not say). Lists what this mount namespace shows: a fresh procfs, an mqueue mount.",
			Example: "for _, e in ipairs(sys.readdir(\"/proc/self/ns\")) do print(e.name, e.type) end"},
		{Name: "mkdir", Args: "(path, [mode])", Fn: s.pathModeCall(files.Mkdir, 0o777),
			Doc:     "mkdir(2); mode (default \"0777\") is an octal string or a number, and the umask applies.",
			Example: "sys.mkdir(\"/tmp/nsh-dev\", \"0755\"); sys.rmdir(\"/tmp/nsh-dev\")"},
		{Name: "rmdir", Args: "(path)", Fn: s.pathCall(files.Rmdir),
			Doc: "rmdir(2): removes an empty directory (ENOTEMPTY otherwise, EBUSY for a mount point).", Example: "sys.mkdir(\"/tmp/nsh-d\"); sys.rmdir(\"/tmp/nsh-d\")"},
		{Name: "chmod", Args: "(path, mode)", Fn: s.pathModeCall(files.Chmod, 1<<31),
			Doc: "chmod(2); mode is an octal string (\"0640\") or a number.", Example: "sys.mkdir(\"/tmp/nsh-m\"); sys.chmod(\"/tmp/nsh-m\", \"0700\"); print(sys.stat(\"/tmp/nsh-m\").perm); sys.rmdir(\"/tmp/nsh-m\")"},
		{Name: "chown", Args: "(path, uid, [gid], [{follow=true}])", Fn: s.sysChown,
			Doc: "chown(2) (lchown(2) with follow=false); ids as this user namespace sees them, -1 leaves one alone. EINVAL for an id the namespace does not map; " +
				"EPERM without CAP_CHOWN over a user namespace mapping both old and new ids.",
			Example: "sys.mkdir(\"/tmp/nsh-o\"); sys.chown(\"/tmp/nsh-o\", sys.getuid(), -1); sys.rmdir(\"/tmp/nsh-o\")"},
		{Name: "symlink", Args: "(target, path)", Fn: s.sysSymlink,
			Doc: "symlink(2): makes path a symbolic link to target (target is not checked).", Example: "sys.symlink(\"/proc/self/fd\", \"/tmp/nsh-fd\"); print(sys.readlink(\"/tmp/nsh-fd\")); os.remove(\"/tmp/nsh-fd\")"},
		{Name: "mknod", Args: "(path, \"char\"|\"block\"|\"fifo\", [major, minor], [mode])", Fn: s.sysMknod,
			Doc: "mknod(2): a character or block device node major:minor, or a FIFO (no numbers); mode default \"0666\", the umask applies. " +
				"A device node needs CAP_MKNOD in the initial user namespace: root in a user namespace gets EPERM (and a device on a mount of such a namespace does not open).",
			Example: "sys.mknod(\"/tmp/nsh-null\", \"char\", 1, 3)\nprint(sys.stat(\"/tmp/nsh-null\").rdev)  -- 1:3\nos.remove(\"/tmp/nsh-null\")"},
		{Name: "chdir", Args: "(path)", Fn: s.pathCall(files.Chdir),
			Doc: "chdir(2): changes the shell's working directory (relative paths and !commands follow it).", Example: "sys.chdir(\"/tmp\"); print(sys.run(\"pwd\"))"},
		{Name: "chroot", Args: "(path)", Fn: s.pathCall(files.Chroot),
			Doc: "chroot(2): changes the root directory of the process (not its working directory: chdir(\"/\") after it). Needs CAP_SYS_CHROOT. " +
				"A chrooted process cannot create a user namespace (EPERM from clone(2)): do it in a child.",
			Example: "ns.clone(\"mnt\", function()\n  sys.chroot(\"/usr\"); sys.chdir(\"/\")\n  print(sys.stat(\"/bin\").type)  -- /usr/bin, seen as /bin\nend):wait()"},
		{Name: "umask", Args: "([mask])", Fn: s.sysUmask,
			Doc: "The file mode creation mask as an octal string (\"0022\"); with a mask (octal string or number), sets it first and returns the old one.", Example: "local old = sys.umask(\"077\"); sys.umask(old)"},
		{Name: "open", Args: "(path, [flags], [mode])", Fn: s.sysOpen,
			Doc: "open(2): returns a descriptor (fd.fd is its number; always close-on-exec). flags: a list or comma-separated words from " + quoteList(files.OpenFlagNames()...) +
				" (default \"rdonly\"); mode with \"creat\". ns.setns(fd, [type]) joins a namespace by it; sys.close closes it, and nsh closes what is left when the session ends.",
			Example: "local fd = sys.open(\"/proc/self/ns/uts\")\nns.setns(fd, \"uts\")\nsys.close(fd)"},
		{Name: "close", Args: "(fd)", Fn: s.sysClose,
			Doc: "close(2) of a descriptor sys.open returned; EBADF when it is closed already (and ns.setns of a closed one gets EBADF from setns(2)).", Example: "sys.close(sys.open(\"/\"))"},
	}
}

// pathCall binds a runtime call taking one path.
func (s *Session) pathCall(fn func(string) error) glua.LGFunction {
	return func(L *glua.LState) int {
		if err := fn(argString(L, 1, "path")); err != nil {
			return raiseErr(L, err)
		}
		return 0
	}
}

// pathModeCall binds a runtime call taking a path and a mode; def 1<<31
// makes the mode required.
func (s *Session) pathModeCall(fn func(string, uint32) error, def uint32) glua.LGFunction {
	return func(L *glua.LState) int {
		path := argString(L, 1, "path")
		if def == 1<<31 && L.Get(2) == glua.LNil {
			return argErr(L, 2, "mode expected: an octal string such as \"0755\" or a number")
		}
		if err := fn(path, argOptMode(L, 2, "mode", def)); err != nil {
			return raiseErr(L, err)
		}
		return 0
	}
}

func (s *Session) sysStat(follow bool) glua.LGFunction {
	return func(L *glua.LState) int {
		in, err := files.Stat(argString(L, 1, "path"), follow)
		if err != nil {
			return raiseErr(L, err)
		}
		t := L.NewTable()
		t.RawSetString("type", glua.LString(in.Type))
		t.RawSetString("mode", glua.LNumber(in.Mode))
		t.RawSetString("perm", glua.LString(fmt.Sprintf("%04o", in.Mode)))
		for k, v := range map[string]float64{"uid": float64(in.UID), "gid": float64(in.GID), "size": float64(in.Size),
			"inode": float64(in.Inode), "nlink": float64(in.Nlink)} {
			t.RawSetString(k, glua.LNumber(v))
		}
		t.RawSetString("dev", glua.LString(fmt.Sprintf("%d:%d", in.Dev[0], in.Dev[1])))
		t.RawSetString("rdev", glua.LString(fmt.Sprintf("%d:%d", in.Rdev[0], in.Rdev[1])))
		if in.HasMountID {
			t.RawSetString("mount_id", glua.LNumber(in.MountID))
		}
		L.Push(t)
		return 1
	}
}

func (s *Session) sysReaddir(L *glua.LState) int {
	es, err := files.Readdir(argString(L, 1, "path"))
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.CreateTable(len(es), 0)
	for _, e := range es {
		r := L.CreateTable(0, 2)
		r.RawSetString("name", glua.LString(e.Name))
		r.RawSetString("type", glua.LString(e.Type))
		t.Append(r)
	}
	L.Push(t)
	return 1
}

func (s *Session) sysChown(L *glua.LState) int {
	path := argString(L, 1, "path")
	uid := argInt(L, 2, "uid", -1, 1<<32-2)
	gid := argOptInt(L, 3, "gid", -1, -1, 1<<32-2)
	o := argOptions(L, 4, "follow")
	if err := files.Chown(path, uid, gid, o.Bool("follow", true)); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) sysSymlink(L *glua.LState) int {
	if err := files.Symlink(argString(L, 1, "target"), argString(L, 2, "path")); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) sysMknod(L *glua.LState) int {
	path := argString(L, 1, "path")
	kind := argChoice(L, 2, "type", files.MknodTypes()...)
	var major, minor, modeArg = 0, 0, 3
	if kind != "fifo" {
		major = argInt(L, 3, "major", 0, 1<<12-1)
		minor = argInt(L, 4, "minor", 0, 1<<20-1)
		modeArg = 5
	}
	mode := argOptMode(L, modeArg, "mode", 0o666)
	if err := files.Mknod(path, kind, uint32(major), uint32(minor), mode); err != nil {
		return inputErr(L, 2, err)
	}
	return 0
}

func (s *Session) sysUmask(L *glua.LState) int {
	old := files.CurrentUmask()
	if L.Get(1) != glua.LNil {
		old = files.Umask(argOptMode(L, 1, "mask", 0))
	}
	L.Push(glua.LString(fmt.Sprintf("%04o", old)))
	return 1
}

// fdType is the userdata type of a descriptor sys.open returned.
const fdType = "fd"

// openFD is a descriptor the session holds until sys.close or its end.
type openFD struct {
	f    *os.File
	n    int // the number while open, -1 after close
	item interface{ Forget() }
}

func (s *Session) sysOpen(L *glua.LState) int {
	path := argString(L, 1, "path")
	flags := []string{"rdonly"}
	if L.Get(2) != glua.LNil {
		list, err := stringList(L, L.Get(2), "flags")
		if err != nil {
			return argErr(L, 2, err.Error())
		}
		for _, w := range list {
			oneOf(L, 2, "flag", w, files.OpenFlagNames())
		}
		flags = list
	}
	mode := argOptMode(L, 3, "mode", 0o666)
	f, err := files.Open(path, flags, mode)
	if err != nil {
		return inputErr(L, 2, err)
	}
	o := &openFD{f: f, n: int(f.Fd())}
	o.item = s.Reg.Add(fmt.Sprintf("descriptor %d (%s)", o.n, path), f.Close)
	ud := L.NewUserData()
	ud.Value = o
	L.SetMetatable(ud, s.fdMetatable(L))
	L.Push(ud)
	return 1
}

// fdMetatable gives a descriptor its fields (fd, path, closed) and a name.
func (s *Session) fdMetatable(L *glua.LState) *glua.LTable {
	if mt, ok := L.GetTypeMetatable(fdType).(*glua.LTable); ok {
		return mt
	}
	mt := L.NewTypeMetatable(fdType)
	mt.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
		o := L.CheckUserData(1).Value.(*openFD)
		switch L.CheckString(2) {
		case "fd":
			L.Push(glua.LNumber(o.n))
		case "path":
			L.Push(glua.LString(o.f.Name()))
		case "closed":
			L.Push(glua.LBool(o.n < 0))
		default:
			L.Push(glua.LNil)
		}
		return 1
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *glua.LState) int {
		o := L.CheckUserData(1).Value.(*openFD)
		L.Push(glua.LString(fmt.Sprintf("fd %d (%s)", o.n, o.f.Name())))
		return 1
	}))
	return mt
}

// fdArg reads argument n as a descriptor sys.open returned, or nil.
func fdArg(L *glua.LState, n int) *openFD {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if o, ok := ud.Value.(*openFD); ok {
			return o
		}
	}
	return nil
}

func (s *Session) sysClose(L *glua.LState) int {
	o := fdArg(L, 1)
	if o == nil {
		return argErr(L, 1, "a descriptor from sys.open expected, got "+describe(L.Get(1)))
	}
	err := files.Close(o.f)
	if o.n >= 0 {
		o.item.Forget()
		o.n = -1
	}
	if err != nil {
		return raiseErr(L, err)
	}
	return 0
}
