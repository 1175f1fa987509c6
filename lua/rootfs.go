package lua

import (
	"errors"
	"fmt"
	"os"

	"nsh/runtime/rootfs"

	glua "github.com/yuin/gopher-lua"
)

func (s *Session) rootfsModule() *Module {
	return &Module{
		Name: "rootfs",
		Doc: "Root filesystems for containers, built offline from the host: chosen host binaries with the shared libraries their ELF headers " +
			"ask for, busybox when the host has it, or the static nsh itself as the container's shell. Plus sizes (what du says), copies " +
			"(one image per container) and temporary directories removed when the script ends.",
		Funcs: []Func{
			{Name: "build", Args: "(dir, {binaries={...}, nsh=true, busybox=false, files={[path]=text}})", Fn: s.rootfsBuild,
				Doc: "Builds a root filesystem in dir (created; must be new or empty): the usual directories, /etc/passwd, group, hosts, " +
					"the binaries (host paths such as \"/bin/sh\") each with its ELF interpreter and DT_NEEDED libraries, busybox with a link per " +
					"applet (only if the host has /bin/busybox), and nsh=true copies the running nsh (static) to /bin/nsh. files writes extra files. " +
					"Returns {dir=, files=, bytes=, size=} (size: allocated bytes, as du).",
				Example: "local d = rootfs.tmpdir()\nlocal r = rootfs.build(d..\"/img\", {binaries={\"/bin/sh\", \"/bin/ls\", \"/bin/echo\"}, nsh=true})\nprint(r.files, r.size)"},
			{Name: "size", Args: "(dir)", Fn: s.rootfsSize,
				Doc: "The space the tree at dir takes, in bytes, the way du counts it (allocated blocks, each inode once).", Example: "local img = os.tmpname(); os.remove(img)\nrootfs.build(img, {binaries = {\"/bin/sh\"}})\nprint(rootfs.size(img))\nrootfs.remove(img)"},
			{Name: "copy", Args: "(src, dst)", Fn: s.rootfsCopy,
				Doc:     "Copies a tree (an image's rootfs) to dst, keeping modes, owners where allowed, times and symlinks; device nodes are skipped.",
				Example: "local img, dir = os.tmpname(), os.tmpname(); os.remove(img); os.remove(dir)\nrootfs.build(img, {binaries = {\"/bin/sh\"}})\nrootfs.copy(img, dir .. \"/c1\")\nprint(rootfs.size(dir .. \"/c1\"))\nrootfs.remove(dir .. \"/c1\"); rootfs.remove(img); os.remove(dir)"},
			{Name: "deps", Args: "(path)", Fn: s.rootfsDeps,
				Doc:     "The files the dynamic loader opens to run an ELF program: its interpreter and every needed library, recursively. Empty for a static binary.",
				Example: "for _, l in ipairs(rootfs.deps(\"/bin/ls\")) do print(l) end"},
			{Name: "tmpdir", Args: "([prefix])", Fn: s.rootfsTmpdir,
				Doc: "Creates a new directory under $TMPDIR, else /tmp (mode 755) and registers its removal for when the script ends. The removal never crosses " +
					"into a mount (like rm -rf --one-file-system), so a forgotten bind mount cannot take host files with it.",
				Example: "local d = rootfs.tmpdir(\"box\")"},
			{Name: "remove", Args: "(dir)", Fn: s.rootfsRemove,
				Doc: "Removes a tree without crossing into mounts below it (like rm -rf --one-file-system); an error names the first mount point found. A symbolic link is removed, not followed; \"/\" is refused.", Example: "local d = os.tmpname(); os.remove(d)\nrootfs.build(d .. \"/c1\", {binaries = {\"/bin/sh\"}})\nrootfs.remove(d .. \"/c1\"); os.remove(d)"},
		},
	}
}

func (s *Session) rootfsBuild(L *glua.LState) int {
	dir := argString(L, 1, "dir")
	o := argOptions(L, 2, "binaries", "nsh", "busybox", "files")
	opts := rootfs.Options{Binaries: o.Strings("binaries"), Busybox: o.Bool("busybox", false)}
	if o.Bool("nsh", false) {
		exe, err := os.Executable()
		if err != nil {
			exe = "/proc/self/exe"
		}
		opts.Nsh = exe
	}
	if ft := o.Tbl("files"); ft != nil {
		opts.ExtraFiles = map[string]string{}
		ft.ForEach(func(k, v glua.LValue) {
			ks, kok := k.(glua.LString)
			vs, vok := v.(glua.LString)
			if !kok || !vok {
				argErr(L, 2, fmt.Sprintf("option files maps paths to their text ({[\"/etc/motd\"]=\"hello\\n\"}), got [%s]=%s", describe(k), describe(v)))
			}
			opts.ExtraFiles[string(ks)] = string(vs)
		})
	}
	if err := rootfs.CheckDir(dir); err != nil {
		return argErr(L, 1, err.Error())
	}
	if err := opts.Validate(); errors.Is(err, rootfs.ErrNoBusybox) {
		return argErr(L, 2, "busybox=true but the host has no /bin/busybox (apt-get install busybox, or use binaries= or nsh=true)")
	} else if err != nil {
		return argErr(L, 2, err.Error())
	}
	r, err := rootfs.Build(dir, opts)
	if err != nil {
		return raiseErr(L, err)
	}
	size, _ := rootfs.Size(dir)
	t := L.NewTable()
	t.RawSetString("dir", glua.LString(r.Dir))
	t.RawSetString("files", glua.LNumber(r.Files))
	t.RawSetString("bytes", glua.LNumber(r.Bytes))
	t.RawSetString("size", glua.LNumber(size))
	L.Push(t)
	return 1
}

func (s *Session) rootfsSize(L *glua.LState) int {
	n, err := rootfs.Size(argString(L, 1, "dir"))
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(glua.LNumber(n))
	return 1
}

func (s *Session) rootfsCopy(L *glua.LState) int {
	if err := rootfs.Copy(argString(L, 1, "src"), argString(L, 2, "dst")); err != nil {
		return inputErr(L, 2, err)
	}
	return 0
}

func (s *Session) rootfsDeps(L *glua.LState) int {
	l, err := rootfs.Deps(argString(L, 1, "path"))
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(strList(L, l))
	return 1
}

func (s *Session) rootfsTmpdir(L *glua.LState) int {
	prefix := argOptString(L, 1, "prefix", "nsh")
	if prefix == "" {
		prefix = "nsh"
	}
	dir, err := rootfs.TempDir(prefix)
	if err != nil {
		return inputErr(L, 1, err, hint(L, err))
	}
	// mounts of the script's own namespace may still cover parts of it:
	// then it is removed from the namespace nsh started in
	s.Reg.Add("directory "+dir, func() error {
		return s.mountUndo().FromHome(func() error { return rootfs.RemoveTree(dir) })
	}, mntRec("dir", dir))
	L.Push(glua.LString(dir))
	return 1
}

func (s *Session) rootfsRemove(L *glua.LState) int {
	if err := rootfs.RemoveTree(argString(L, 1, "dir")); err != nil {
		return inputErr(L, 1, err)
	}
	return 0
}
