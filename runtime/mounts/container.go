package mounts

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ContainerRoot describes the mount set-up of a container's root.
type ContainerRoot struct {
	Rootfs  string // directory that becomes "/"; must exist
	Proc    bool   // mount a proc at /proc (needs a pid namespace to show only the container)
	Sys     bool   // mount sysfs read-only at /sys
	DevMode string // "tmpfs": minimal /dev (see MinimalDev); "devtmpfs": the kernel's; "": leave /dev alone
	DevPts  bool   // a private devpts at /dev/pts, and /dev/ptmx
	Shm     bool   // a tmpfs at /dev/shm
	Mqueue  bool   // an mqueue at /dev/mqueue (shows the ipc namespace's POSIX queues)

	// MaskPaths are hidden after pivot_root: files by binding /dev/null over
	// them, directories by an empty read-only tmpfs. Missing paths are skipped.
	MaskPaths []string
	// ReadonlyPaths are bound onto themselves read-only after pivot_root.
	// Missing paths are skipped.
	ReadonlyPaths []string
}

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

// SetupContainerRoot prepares opts.Rootfs and pivots into it, in the calling
// thread's mount namespace, which the caller has already unshared. The steps
// are those of runc, in the kernel's order.
func SetupContainerRoot(opts ContainerRoot) error {
	if opts.Rootfs == "" {
		return setupInPlace(opts)
	}
	if !filepath.IsAbs(opts.Rootfs) {
		return fmt.Errorf("container root: Rootfs %q must be an absolute path", opts.Rootfs)
	}
	switch opts.DevMode {
	case "", "tmpfs", "devtmpfs":
	default:
		return fmt.Errorf("container root: DevMode %q is not valid (valid: \"tmpfs\", \"devtmpfs\", \"\")", opts.DevMode)
	}
	if fi, err := os.Stat(opts.Rootfs); err != nil || !fi.IsDir() {
		return fmt.Errorf("container root: Rootfs %q is not a directory", opts.Rootfs)
	}
	root := opts.Rootfs
	in := func(p string) string { return filepath.Join(root, p) }

	// Nothing below may propagate back to the host: make every mount private.
	if err := MakePropagation("/", "private", true); err != nil {
		return err
	}
	// pivot_root needs the new root to be a mount point.
	if err := Bind(root, root, true, false); err != nil {
		return err
	}
	// /proc shows the pid namespace of the process that mounts it.
	if opts.Proc {
		if err := mkdir(in("proc"), 0o555); err != nil {
			return err
		}
		if err := mount("proc", in("proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return err
		}
	}
	// /sys shows the network namespace of the mounter; read-only as in runc.
	if opts.Sys {
		if err := mkdir(in("sys"), 0o555); err != nil {
			return err
		}
		if err := mount("sysfs", in("sys"), "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, ""); err != nil {
			return err
		}
	}
	// /dev: our own tmpfs with a few nodes, or the kernel's devtmpfs.
	switch opts.DevMode {
	case "tmpfs":
		if err := mkdir(in("dev"), 0o755); err != nil {
			return err
		}
		if err := minimalDev(in("dev"), opts.DevPts, opts.Shm); err != nil {
			return err
		}
	case "devtmpfs":
		if err := mkdir(in("dev"), 0o755); err != nil {
			return err
		}
		if err := mount("devtmpfs", in("dev"), "devtmpfs", unix.MS_NOSUID, ""); err != nil {
			return err
		}
	}
	// With a devtmpfs or the rootfs's own /dev, pts and shm come separately.
	if opts.DevMode != "tmpfs" {
		if err := devExtras(in("dev"), opts.DevPts, opts.Shm); err != nil {
			return err
		}
	}
	// /dev/mqueue shows the POSIX message queues of the ipc namespace.
	if opts.Mqueue {
		if err := mkdir(in("dev/mqueue"), 0o1777); err != nil {
			return err
		}
		if err := mount("mqueue", in("dev/mqueue"), "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return err
		}
	}
	// Switch roots; the old root is detached, so the host's tree is gone.
	if err := PivotInto(root); err != nil {
		return err
	}
	// Paths are now resolved inside the container, so symlinks in the
	// rootfs cannot point the masks at host files.
	return hideKernelPaths(opts)
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
			return err
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

// readonlyPath binds p onto itself read-only (runc's readonlyPaths).
func readonlyPath(p string) error {
	if !exists(p) {
		return nil
	}
	return Bind(p, p, true, true)
}

// maskPath hides p: /dev/null over a file, an empty read-only tmpfs over a
// directory (runc's maskedPaths).
func maskPath(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return nil
	}
	if fi.IsDir() {
		return mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "")
	}
	if !exists("/dev/null") {
		return fmt.Errorf("container root: masking %s needs /dev/null in the container (set DevMode)", p)
	}
	return Bind("/dev/null", p, false, false)
}

// hideKernelPaths makes ReadonlyPaths read-only and masks MaskPaths, as
// production runtimes do. Run it after the root switch, so symlinks in the
// rootfs resolve inside the container and cannot point at host files.
func hideKernelPaths(opts ContainerRoot) error {
	for _, p := range opts.ReadonlyPaths {
		if err := readonlyPath(p); err != nil {
			return err
		}
	}
	for _, p := range opts.MaskPaths {
		if err := maskPath(p); err != nil {
			return err
		}
	}
	return nil
}
