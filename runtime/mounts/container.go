package mounts

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// Container is the mount set-up of a container, one typed description of
// what ns.spawn's rootfs=, proc=, sys=, dev=, mqueue=, mask= and readonly=
// options (and mount.container) ask for. Setup runs it in the calling
// thread's mount namespace, which the caller has unshared, as the ordered
// list of steps Steps returns.
type Container struct {
	Rootfs string // directory that becomes "/"; "": mount over the current root
	Proc   bool   // a new proc at /proc (with a new pid namespace: only the container's processes)
	Sys    bool   // sysfs, read-only, at /sys
	Dev    Dev    // what /dev is
	DevPts bool   // a private devpts at /dev/pts, and /dev/ptmx leading to it
	Shm    bool   // a tmpfs at /dev/shm
	Mqueue bool   // an mqueue at /dev/mqueue (shows the ipc namespace's POSIX queues)

	// ReadonlyPaths are bound onto themselves read-only after pivot_root.
	// Missing paths are skipped.
	ReadonlyPaths []string
	// MaskPaths are hidden after pivot_root: files by binding /dev/null over
	// them, directories by an empty read-only tmpfs. Missing paths are skipped.
	MaskPaths []string

	// Unsafe names the protections (see Protections) this container goes
	// without, for a lesson that shows what each one stops. Every other
	// one is on.
	Unsafe []string `json:",omitempty"`
}

// Dev says what a container's /dev is.
type Dev string

const (
	DevKeep    Dev = ""         // the root's own /dev, untouched
	DevMinimal Dev = "tmpfs"    // a tmpfs with the OCI default nodes (see MinimalDev)
	DevKernel  Dev = "devtmpfs" // the kernel's devtmpfs: every host device; refused in a user namespace
)

// DefaultMaskPaths are the paths runc masks by default.
var DefaultMaskPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

// DefaultReadonlyPaths are the paths runc makes read-only by default.
var DefaultReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// Validate refuses a description Setup could not carry out. It does not
// look at the filesystem; the messages name the fields as nsh's options do.
func (c Container) Validate() error {
	if c.Rootfs != "" && !filepath.IsAbs(c.Rootfs) {
		return fmt.Errorf("rootfs must be an absolute directory path, got %q", c.Rootfs)
	}
	switch c.Dev {
	case DevKeep, DevMinimal, DevKernel:
	default:
		return fmt.Errorf("dev %q is not valid (valid: %q, %q, or %q to keep the root's own)", c.Dev, DevMinimal, DevKernel, DevKeep)
	}
	for _, l := range []struct {
		key   string
		paths []string
	}{{"readonly", c.ReadonlyPaths}, {"mask", c.MaskPaths}} {
		for _, p := range l.paths {
			if !filepath.IsAbs(p) {
				return fmt.Errorf("%s: %q is not an absolute path", l.key, p)
			}
		}
	}
	return validateUnsafe(c.Unsafe)
}

// Step is one stage of a container's set-up.
type Step struct {
	Name string // what it does, as a learner would say it
	run  func(*setup) error
	raw  func(*rawSetup) error // the same step as raw ops for a child without a Go runtime (rawcontainer.go)
}

// setup is one run of a Container's steps: what a step leaves for the next.
type setup struct {
	c       Container
	root    string // where the container's "/" is now: Rootfs until the pivot, then "/"
	inPlace bool   // no new root: mounts go over the current root's own directories
	oldRoot int    // the old root, open from pivot_root until it is detached; -1 when none
}

// Steps is the set-up in the order it runs, the order of runc and
// bubblewrap. Everything up to pivot_root is mounted under the new root while
// the host's tree is still reachable; everything after it resolves inside the
// container.
func (c Container) Steps() []Step {
	var st []Step
	add := func(name string, run func(*setup) error, raw func(*rawSetup) error) {
		st = append(st, Step{name, run, raw})
	}
	// First: nothing done below may propagate back to the namespace this one was copied from, and pivot_root refuses shared mounts.
	add("make / rprivate", makeRootPrivate, rawMakeRootPrivate)
	if c.Rootfs != "" {
		// pivot_root needs new_root to be a mount point, and the mounts below must land on this mount.
		add("bind rootfs onto itself", bindRootfs, rawBindRootfs)
	}
	if c.Proc {
		// Before the pivot: in a user namespace the kernel mounts a proc only while another proc is fully visible.
		add("mount proc", mountProc, rawMountProc)
	}
	if c.Sys {
		// Before the pivot, for the same rule as proc; sysfs shows the mounter's network namespace.
		add("mount sysfs", mountSys, rawMountSys)
	}
	switch c.Dev {
	case DevMinimal:
		// Before the pivot: in a user namespace the nodes are bound from the host's /dev.
		add("mount /dev (tmpfs)", mountMinimalDev, rawMountMinimalDev)
	case DevKernel:
		// Under the new root, before the pivot, like every mount of the container.
		add("mount /dev (devtmpfs)", mountDevtmpfs, rawMountDevtmpfs)
	}
	if c.Dev != DevMinimal && (c.DevPts || c.Shm) {
		// After /dev itself, which would cover them (the minimal /dev makes its own).
		add("mount /dev/pts and /dev/shm", mountDevExtras, rawMountDevExtras)
	}
	if c.Mqueue {
		// After /dev, which would cover it.
		add("mount mqueue", mountMqueue, rawMountMqueue)
	}
	if c.Rootfs != "" {
		// Every mount of the container is in place: switch roots.
		add("pivot_root", pivotRoot, rawPivotRoot)
		// The old root is stacked on the new one: drop it, and the host's tree is out of reach.
		add("detach old root", detachOldRoot, rawDetachOldRoot)
	}
	if len(c.ReadonlyPaths) > 0 {
		// After the pivot: paths resolve inside the container, so a symlink in the rootfs cannot aim at a host file.
		add("read-only paths", readonlyPaths, rawReadonlyPaths)
	}
	if len(c.MaskPaths) > 0 {
		// Last, as in runc: a mask below a read-only path then lies on top of that path's bind, where lookups end.
		add("mask paths", maskPaths, rawMaskPaths)
	}
	// The protections, as runc's init finishes: nothing below may be undone from inside.
	if c.Protected(ProtectFDs) {
		// Before the program can use them: a descriptor nsh inherited (a host directory) would be a way out of the new root (runc CVE-2024-21626).
		add("close inherited descriptors", closeFDs, rawCloseFDs)
	}
	early := c.Protected(ProtectSeccomp) && !c.Protected(ProtectNoNewPrivs)
	if early {
		// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the next step drops (runc does the same).
		add("seccomp filter", loadSeccomp, rawLoadSeccomp)
	}
	if c.Protected(ProtectCaps) {
		// After every mount (they need CAP_SYS_ADMIN); without it the masks cannot be unmounted, nor proc mounted again.
		add("drop capabilities", dropCaps, rawDropCaps)
	}
	if c.Protected(ProtectNoNewPrivs) {
		// Before execve: a setuid program or file capabilities can no longer bring back what was dropped.
		add("no_new_privs", setNoNewPrivs, rawSetNoNewPrivs)
	}
	if c.Protected(ProtectSeccomp) && !early {
		// Last before execve (only the switch to uid=/gid= follows, which the filter allows): the steps above use the calls it blocks.
		add("seccomp filter", loadSeccomp, rawLoadSeccomp)
	}
	return st
}

// StepNames are the names of c's Steps, in order.
func (c Container) StepNames() []string {
	var n []string
	for _, st := range c.Steps() {
		n = append(n, st.Name)
	}
	return n
}

// FullContainer is a Container with every part asked for (for help texts
// that show the whole set-up).
func FullContainer() Container {
	return Container{Rootfs: "/rootfs", Proc: true, Sys: true, Dev: DevMinimal, DevPts: true, Shm: true, Mqueue: true,
		ReadonlyPaths: DefaultReadonlyPaths, MaskPaths: DefaultMaskPaths}
}

// Unprotected is c with every protection off (for the order of the mount
// steps alone).
func (c Container) Unprotected() Container {
	c.Unsafe = append([]string(nil), Protections...)
	return c
}

// Setup carries out c, step by step, in the calling thread's mount
// namespace. The caller must have a mount namespace of its own (unshare
// CLONE_NEWNS, which also unshares the fs struct), or it changes the host's.
func (c Container) Setup() error {
	s, err := c.begin()
	if err != nil {
		return err
	}
	defer s.end()
	for _, st := range c.Steps() {
		if err := st.run(s); err != nil {
			return err
		}
	}
	return nil
}

// begin validates c and checks that the new root is a directory.
func (c Container) begin() (*setup, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Rootfs != "" {
		if fi, err := os.Stat(c.Rootfs); err != nil {
			return nil, kerr.New(fmt.Sprintf("stat(%q) [the new root]", c.Rootfs), err, nil)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("the new root %q is not a directory", c.Rootfs)
		}
	}
	s := &setup{c: c, root: filepath.Clean(c.Rootfs), inPlace: c.Rootfs == "", oldRoot: -1}
	if s.inPlace {
		s.root = "/"
	}
	return s, nil
}

// end closes what a failed run left open.
func (s *setup) end() {
	if s.oldRoot >= 0 {
		unix.Close(s.oldRoot)
		s.oldRoot = -1
	}
}

// at is the container's path p as the calling thread sees it now.
func (s *setup) at(p string) string { return filepath.Join(s.root, p) }

// dir is at(p), created with mode under a new root; over the current root
// the directory is used as it is (its mode is the host's business).
func (s *setup) dir(p string, mode uint32) (string, error) {
	d := s.at(p)
	if s.inPlace {
		return d, nil
	}
	return d, mkdir(d, mode)
}

// makeRootPrivate makes every mount of the namespace private (mount --make-rprivate /).
func makeRootPrivate(s *setup) error { return MakePropagation("/", "private", true) }

// bindRootfs binds the new root onto itself (mount --rbind root root).
func bindRootfs(s *setup) error { return Bind(s.root, s.root, true, false) }

// mountProc mounts a proc at /proc: it shows the pid namespace of the mounter.
func mountProc(s *setup) error {
	d, err := s.dir("proc", 0o555)
	if err != nil {
		return err
	}
	return mount("proc", d, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// mountSys mounts sysfs at /sys, read-only as in runc.
func mountSys(s *setup) error {
	d, err := s.dir("sys", 0o555)
	if err != nil {
		return err
	}
	return mount("sysfs", d, "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, "")
}

// mountMinimalDev builds the minimal /dev (see MinimalDev). Over the current
// root it is built aside on a scratch tmpfs and moved onto /dev, so the
// host's nodes stay reachable while ours are bound from them.
func mountMinimalDev(s *setup) error {
	if !s.inPlace {
		d, err := s.dir("dev", 0o755)
		if err != nil {
			return err
		}
		return minimalDev(d, s.c.DevPts, s.c.Shm)
	}
	if err := Tmpfs("/tmp", "", ""); err != nil {
		return err
	}
	if err := mkdir("/tmp/.nsh-dev", 0o755); err != nil {
		return err
	}
	if err := minimalDev("/tmp/.nsh-dev", s.c.DevPts, s.c.Shm); err != nil {
		return err
	}
	if err := Move("/tmp/.nsh-dev", "/dev"); err != nil {
		return err
	}
	return Umount("/tmp", true, false)
}

// mountDevtmpfs mounts the kernel's devtmpfs at /dev.
func mountDevtmpfs(s *setup) error {
	d, err := s.dir("dev", 0o755)
	if err != nil {
		return err
	}
	return mount("devtmpfs", d, "devtmpfs", unix.MS_NOSUID, "")
}

// mountDevExtras adds pts and shm to a /dev that is not the minimal one.
func mountDevExtras(s *setup) error { return devExtras(s.at("dev"), s.c.DevPts, s.c.Shm) }

// mountMqueue mounts an mqueue at /dev/mqueue.
func mountMqueue(s *setup) error {
	d := s.at("dev/mqueue")
	if err := mkdir(d, 0o1777); err != nil {
		return err
	}
	return mount("mqueue", d, "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// pivotRoot makes the new root "/" the way runc does, with no put_old
// directory: chdir(root), pivot_root(".", "."). The old root is then mounted
// on top of the new one, at the same place; an fd to it is kept for the
// next step.
func pivotRoot(s *setup) error {
	old, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return kerr.Newf(err, nil, "open(\"/\")")
	}
	s.oldRoot = old
	if err := unix.Chdir(s.root); err != nil {
		return kerr.Newf(err, nil, "chdir(%q)", s.root)
	}
	if err := PivotRoot(".", "."); err != nil {
		return err
	}
	s.root = "/"
	return nil
}

// detachOldRoot drops the old root: fchdir to it (the kernel promises
// nothing about "." after pivot_root), umount2(".", MNT_DETACH), which
// takes the top of the stack, then chdir("/").
func detachOldRoot(s *setup) error {
	defer s.end()
	if err := unix.Fchdir(s.oldRoot); err != nil {
		return kerr.Newf(err, nil, "fchdir(old root)")
	}
	if err := Umount(".", true, false); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	return kerr.Newf(unix.Chdir("/"), nil, "chdir(\"/\")")
}

// readonlyPaths binds each of ReadonlyPaths onto itself read-only (runc's readonlyPaths).
func readonlyPaths(s *setup) error {
	for _, p := range s.c.ReadonlyPaths {
		if !exists(p) {
			continue
		}
		if err := Bind(p, p, true, true); err != nil {
			return err
		}
	}
	return nil
}

// maskPaths hides each of MaskPaths: /dev/null over a file, an empty
// read-only tmpfs over a directory (runc's maskedPaths).
func maskPaths(s *setup) error {
	for _, p := range s.c.MaskPaths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			err = mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "")
		} else if !exists("/dev/null") {
			err = fmt.Errorf("masking %s binds /dev/null over it, and the container has no /dev/null (give it a /dev)", p)
		} else {
			err = Bind("/dev/null", p, false, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// devExtras adds pts (with ptmx) and shm to an existing /dev.
func devExtras(dev string, pts, shm bool) error {
	if pts {
		if err := mkdir(filepath.Join(dev, "pts"), 0o755); err != nil {
			return err
		}
		if err := mount("devpts", filepath.Join(dev, "pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
			return err
		}
		// /dev/ptmx must open this instance's ptmx, not the host's.
		ptmx := filepath.Join(dev, "ptmx")
		if exists(ptmx) {
			if err := Bind(filepath.Join(dev, "pts/ptmx"), ptmx, false, false); err != nil {
				return err
			}
		} else if err := os.Symlink("pts/ptmx", ptmx); err != nil {
			return kerr.Newf(err, nil, "symlink(\"pts/ptmx\", %q)", ptmx)
		}
	}
	if shm {
		if err := mkdir(filepath.Join(dev, "shm"), 0o1777); err != nil {
			return err
		}
		if err := mount("shm", filepath.Join(dev, "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
			return err
		}
	}
	return nil
}
