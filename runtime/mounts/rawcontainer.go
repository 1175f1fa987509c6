package mounts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
	"nsh/runtime/nsproc"
)

// A Container as raw ops (nsproc/rawops.go): the same Steps, in the same
// order, each compiled by its raw twin below into the system calls the Go
// step makes, with the same arguments and, for every call that can fail,
// the error the Go step would return. What the Go step decides in the
// child (a path that is missing, a directory or a file) stays a decision
// of the child's (statx, then a branch). nsproc's raw start then runs the
// whole set-up without re-executing nsh.

func init() {
	nsproc.RegisterRawStep(ContainerStep, func(args []byte, b *nsproc.RawBuilder, env nsproc.RawEnv) error {
		c, err := decodeContainer(args)
		if err != nil {
			return err
		}
		return c.compileRaw(b, env)
	})
}

// rawSetup is the compile-time twin of setup: where the container's "/" is
// at that point of the ops.
type rawSetup struct {
	c       Container
	b       *nsproc.RawBuilder
	env     nsproc.RawEnv
	root    string
	inPlace bool
}

// compileRaw adds c's set-up (begin, then every step) to b.
func (c Container) compileRaw(b *nsproc.RawBuilder, env nsproc.RawEnv) error {
	if err := c.Validate(); err != nil {
		return err
	}
	s := &rawSetup{c: c, b: b, env: env, root: filepath.Clean(c.Rootfs), inPlace: c.Rootfs == ""}
	if s.inPlace {
		s.root = "/"
	} else {
		// begin: the new root must be a directory
		_, stx := b.Statx(nsproc.ErrAs(fmt.Sprintf("stat(%q) [the new root]", c.Rootfs), nil), c.Rootfs, false)
		notDir := fmt.Errorf("the new root %q is not a directory", c.Rootfs)
		b.FailUnlessDir(stx, func(syscall.Errno, uint64) error { return notDir })
	}
	for _, st := range c.Steps() {
		if st.raw == nil {
			return nsproc.ErrRawUnsupported
		}
		if err := st.raw(s); err != nil {
			return err
		}
	}
	return nil
}

func (s *rawSetup) at(p string) string { return filepath.Join(s.root, p) }

// dir is setup.dir: at(p), created with mode under a new root.
func (s *rawSetup) dir(p string, mode uint32) string {
	d := s.at(p)
	if !s.inPlace {
		s.mkdir(d, mode)
	}
	return d
}

// mkdir is mkdir(): os.MkdirAll(dir, 0755), then chmod(dir, mode).
func (s *rawSetup) mkdir(dir string, mode uint32) {
	b := s.b
	ex := nsproc.ErrAs(fmt.Sprintf("mkdir(%q)", dir), nil)
	o, stx := b.Statx(ex, dir, false)
	b.Branch(o, nsproc.AnyErrno, func() {
		b.FailUnlessDir(stx, ex) // MkdirAll: an existing path that is no directory is ENOTDIR
	}, func() {
		var prefixes []string
		for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
			prefixes = append(prefixes, p)
		}
		for i := len(prefixes) - 1; i >= 0; i-- {
			b.Call(ex, unix.SYS_MKDIRAT, nsproc.AtFDCWD, b.Str(prefixes[i]), 0o755).Tolerate(unix.EEXIST)
		}
		_, stx2 := b.Statx(ex, dir, false)
		b.FailUnlessDir(stx2, ex)
	})
	b.Call(nsproc.ErrAs(fmt.Sprintf("chmod(%q, %#o)", dir, mode), nil), unix.SYS_FCHMODAT, nsproc.AtFDCWD, b.Str(dir), uintptr(mode), 0)
}

// mount is mount() as an op.
func (s *rawSetup) mount(source, target, fstype string, flags uintptr, data string) {
	b := s.b
	var src, fs, d uintptr
	if source != "" {
		src = b.Str(source)
	} else {
		src = b.Str("")
	}
	fs = b.Str(fstype)
	if data != "" {
		d = b.Str(data)
	}
	b.Call(nsproc.ErrAs(mountCall(source, target, fstype, flags, data), rulesFor(fstype)), unix.SYS_MOUNT, src, b.Str(target), fs, flags, d)
}

// bind is Bind(source, target, recursive, readonly) for what containers use.
func (s *rawSetup) bind(source, target string, recursive, readonly bool) {
	flags := uintptr(unix.MS_BIND)
	if recursive {
		flags |= unix.MS_REC
	}
	s.mount(source, target, "", flags, "")
	if !readonly {
		return
	}
	// containers bind read-only only recursively (readonlyPaths): mount_setattr
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	s.b.Call(nsproc.ErrAs(fmt.Sprintf("mount_setattr(%q, AT_RECURSIVE, MOUNT_ATTR_RDONLY)", target), kerr.Rules{
		{Errno: unix.EPERM, Rule: "a submount is locked read-write by a more privileged user namespace"},
		{Errno: unix.EINVAL, Rule: "the target is not a mount point"},
		{Errno: unix.ENOSYS, Rule: "mount_setattr needs Linux 5.12 or later"},
	}), unix.SYS_MOUNT_SETATTR, nsproc.AtFDCWD, s.b.Str(target), unix.AT_RECURSIVE, s.b.Ptr(unsafe.Pointer(attr)), unsafe.Sizeof(*attr))
}

// symlink is os.Symlink(target, link) named as the Go steps name it.
func (s *rawSetup) symlink(target, link string) {
	s.b.Call(nsproc.ErrAs(fmt.Sprintf("symlink(%q, %q)", target, link), nil), unix.SYS_SYMLINKAT, s.b.Str(target), nsproc.AtFDCWD, s.b.Str(link))
}

// ifExists runs then when path exists (lstat: exists()).
func (s *rawSetup) ifExists(path string, then, otherwise func()) {
	o, _ := s.b.Statx(nil, path, true)
	s.b.Branch(o, nsproc.AnyErrno, then, otherwise)
}

// createFile is os.OpenFile(path, O_CREATE|O_WRONLY, mode) and Close.
func (s *rawSetup) createFile(path string, mode uint32, ex nsproc.Explain) {
	s.b.Call(ex, unix.SYS_OPENAT, nsproc.AtFDCWD, s.b.Str(path), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, uintptr(mode)).SaveFD()
	s.b.Branch(s.b.Call(nil, unix.SYS_CLOSE, 0).LoadFD(), nsproc.AnyErrno, nil, nil)
}

func rawMakeRootPrivate(s *rawSetup) error {
	s.b.Call(nsproc.ErrAs(`mount("", "/", "", "rprivate")`, propagationRules), unix.SYS_MOUNT, s.b.Str(""), s.b.Str("/"), s.b.Str(""), unix.MS_PRIVATE|unix.MS_REC, 0)
	return nil
}

func rawBindRootfs(s *rawSetup) error { s.bind(s.root, s.root, true, false); return nil }

func rawMountProc(s *rawSetup) error {
	s.mount("proc", s.dir("proc", 0o555), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	return nil
}

func rawMountSys(s *rawSetup) error {
	s.mount("sysfs", s.dir("sys", 0o555), "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, "")
	return nil
}

func rawMountMinimalDev(s *rawSetup) error {
	if !s.inPlace {
		return s.minimalDev(s.dir("dev", 0o755), s.c.DevPts, s.c.Shm)
	}
	s.mount("tmpfs", "/tmp", "tmpfs", 0, "")
	s.mkdir("/tmp/.nsh-dev", 0o755)
	if err := s.minimalDev("/tmp/.nsh-dev", s.c.DevPts, s.c.Shm); err != nil {
		return err
	}
	s.b.Call(nsproc.ErrAs(`mount("/tmp/.nsh-dev", "/dev", "", "move")`, moveRules), unix.SYS_MOUNT, s.b.Str("/tmp/.nsh-dev"), s.b.Str("/dev"), s.b.Str(""), unix.MS_MOVE, 0)
	s.umount("/tmp", nil)
	return nil
}

// umount is Umount(target, detach=true), its error wrapped by wrap.
func (s *rawSetup) umount(target string, wrap func(error) error) {
	ex := nsproc.ErrAs(fmt.Sprintf("umount(%q, \"detach\")", target), umountRules)
	if wrap != nil {
		inner := ex
		ex = func(e syscall.Errno, x uint64) error { return wrap(inner(e, x)) }
	}
	s.b.Call(ex, unix.SYS_UMOUNT2, s.b.Str(target), unix.MNT_DETACH)
}

func rawMountDevtmpfs(s *rawSetup) error {
	s.mount("devtmpfs", s.dir("dev", 0o755), "devtmpfs", unix.MS_NOSUID, "")
	return nil
}

func rawMountDevExtras(s *rawSetup) error { s.devExtras(s.at("dev"), s.c.DevPts, s.c.Shm); return nil }

func rawMountMqueue(s *rawSetup) error {
	d := s.at("dev/mqueue")
	s.mkdir(d, 0o1777)
	s.mount("mqueue", d, "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	return nil
}

func rawPivotRoot(s *rawSetup) error {
	b := s.b
	b.Call(nsproc.ErrAs(`open("/")`, nil), unix.SYS_OPENAT, nsproc.AtFDCWD, b.Str("/"), unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0).SaveFD()
	b.Call(nsproc.ErrAs(fmt.Sprintf("chdir(%q)", s.root), nil), unix.SYS_CHDIR, b.Str(s.root))
	b.Call(nsproc.ErrAs(`pivot_root(".", ".")`, pivotRules), unix.SYS_PIVOT_ROOT, b.Str("."), b.Str("."))
	s.root = "/"
	return nil
}

func rawDetachOldRoot(s *rawSetup) error {
	b := s.b
	b.Call(nsproc.ErrAs("fchdir(old root)", nil), unix.SYS_FCHDIR, 0).LoadFD()
	s.umount(".", func(err error) error { return fmt.Errorf("detaching the old root: %w", err) })
	b.Call(nsproc.ErrAs(`chdir("/")`, nil), unix.SYS_CHDIR, b.Str("/"))
	b.Branch(b.Call(nil, unix.SYS_CLOSE, 0).LoadFD(), nsproc.AnyErrno, nil, nil) // s.end()
	return nil
}

func rawReadonlyPaths(s *rawSetup) error {
	for _, p := range s.c.ReadonlyPaths {
		s.ifExists(p, func() { s.bind(p, p, true, true) }, nil)
	}
	return nil
}

func rawMaskPaths(s *rawSetup) error {
	b := s.b
	for _, p := range s.c.MaskPaths {
		o, stx := b.Statx(nil, p, false) // os.Stat
		b.Branch(o, nsproc.AnyErrno, func() {
			b.IfDir(stx, func() {
				s.mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "")
			}, func() {
				noNull := fmt.Errorf("masking %s binds /dev/null over it, and the container has no /dev/null (give it a /dev)", p)
				b.Statx(func(syscall.Errno, uint64) error { return noNull }, "/dev/null", true)
				s.mount("/dev/null", p, "", unix.MS_BIND, "")
			})
		}, nil)
	}
	return nil
}

// minimalDev is minimalDev() as ops.
func (s *rawSetup) minimalDev(target string, pts, shm bool) error {
	s.mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k")
	for _, n := range devNodes {
		s.makeNode(filepath.Join(target, n.name), n)
	}
	for _, l := range devLinks {
		s.symlink(l[1], filepath.Join(target, l[0]))
	}
	if pts {
		dir := filepath.Join(target, "pts")
		s.mkdir(dir, 0o755)
		s.mount("devpts", dir, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
	}
	if shm {
		dir := filepath.Join(target, "shm")
		s.mkdir(dir, 0o1777)
		s.mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k")
	}
	s.bindConsole(filepath.Join(target, "console"))
	return nil
}

// makeNode is makeNode(): mknod and chmod, or on EPERM (a user namespace)
// an empty file with the host's node bound onto it.
func (s *rawSetup) makeNode(path string, n devNode) {
	b := s.b
	o := b.Call(nsproc.ErrAs(fmt.Sprintf("mknod(%q, c, %d, %d)", path, n.major, n.minor), mknodRules),
		unix.SYS_MKNODAT, nsproc.AtFDCWD, b.Str(path), unix.S_IFCHR|0o666, uintptr(unix.Mkdev(n.major, n.minor)))
	b.Branch(o, unix.EPERM, func() {
		b.Call(nsproc.ErrAs(fmt.Sprintf("chmod(%q, 0666)", path), nil), unix.SYS_FCHMODAT, nsproc.AtFDCWD, b.Str(path), 0o666, 0)
	}, func() {
		s.createFile(path, 0o666, nsproc.ErrAs(fmt.Sprintf("creating %q to bind /dev/%s on", path, n.name), nil))
		s.mount("/dev/"+n.name, path, "", unix.MS_BIND, "")
	})
}

// bindConsole is bindConsole(): the terminal on stdin, if any, bound at
// path. Whether there is one is known in the parent: the child's stdin is
// the same open file.
func (s *rawSetup) bindConsole(path string) {
	if s.env.Stdin == nil {
		return
	}
	fd := int(s.env.Stdin.Fd())
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return
	}
	tty, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil || !filepath.IsAbs(tty) || strings.HasSuffix(tty, " (deleted)") {
		return
	}
	s.createFile(path, 0o600, nsproc.ErrAs(fmt.Sprintf("creating %q to bind the terminal on", path), nil))
	s.mount(tty, path, "", unix.MS_BIND, "")
}

// devExtras is devExtras() as ops.
func (s *rawSetup) devExtras(dev string, pts, shm bool) {
	if pts {
		s.mkdir(filepath.Join(dev, "pts"), 0o755)
		s.mount("devpts", filepath.Join(dev, "pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
		ptmx := filepath.Join(dev, "ptmx")
		s.ifExists(ptmx, func() {
			s.mount(filepath.Join(dev, "pts/ptmx"), ptmx, "", unix.MS_BIND, "")
		}, func() {
			s.symlink("pts/ptmx", ptmx)
		})
	}
	if shm {
		s.mkdir(filepath.Join(dev, "shm"), 0o1777)
		s.mount("shm", filepath.Join(dev, "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k")
	}
}

// closeRangeWorks: close_range(2) with CLOSE_RANGE_CLOEXEC (Linux 5.11);
// without it closeFDs reads /proc/self/fd, which raw ops cannot.
var closeRangeWorks = sync.OnceValue(func() bool {
	return unix.CloseRange(1<<30, 1<<30, unix.CLOSE_RANGE_CLOEXEC) == nil
})

func rawCloseFDs(s *rawSetup) error {
	if !closeRangeWorks() {
		return nsproc.ErrRawUnsupported
	}
	s.b.Call(nsproc.ErrAs("close_range(3, ~0, CLOSE_RANGE_CLOEXEC)", nil), unix.SYS_CLOSE_RANGE, 3, ^uintptr(0), unix.CLOSE_RANGE_CLOEXEC)
	return nil
}

func rawLoadSeccomp(s *rawSetup) error {
	prog, err := seccompProgram()
	if err != nil {
		return nsproc.ErrRawUnsupported // the Go step gives the error
	}
	fprog := &unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	s.b.Ptr(unsafe.Pointer(&prog[0]))
	s.b.Call(nsproc.ErrAs("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) [the default filter]", seccompRules),
		unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, s.b.Ptr(unsafe.Pointer(fprog)))
	return nil
}

func rawDropCaps(s *rawSetup) error {
	keep := defaultCapMask
	s.b.DropBounding(keep, func(e syscall.Errno, c uint64) error {
		return kerr.Newf(e, capRules, "prctl(PR_CAPBSET_DROP, %d)", c)
	})
	s.b.SetCaps(keep, func(e syscall.Errno, which uint64) error {
		if which == 0 {
			return kerr.Newf(e, nil, "capget")
		}
		return kerr.Newf(e, capRules, "capset(permitted=effective=inheritable=the default set)")
	})
	s.b.Call(nsproc.ErrAs("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", nil), unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0).Tolerate(unix.EINVAL)
	return nil
}

func rawSetNoNewPrivs(s *rawSetup) error {
	s.b.Call(nsproc.ErrAs("prctl(PR_SET_NO_NEW_PRIVS, 1)", nil), unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	return nil
}
