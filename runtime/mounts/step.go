package mounts

import (
	"encoding/json"
	"fmt"

	"nsh/runtime/nsproc"

	"golang.org/x/sys/unix"
)

// ContainerStep is the name of the child-side set-up step that runs
// SetupContainerRoot with a JSON ContainerRoot (see nsproc.RegisterStep). It
// is registered from init, so every re-executed nsh child knows it.
const ContainerStep = "mounts.container"

func init() {
	nsproc.RegisterStep(ContainerStep, func(args []byte) error {
		var c ContainerRoot
		if err := json.Unmarshal(args, &c); err != nil {
			return fmt.Errorf("set-up step %s: bad arguments: %v", ContainerStep, err)
		}
		return SetupContainerRoot(c)
	})
}

// setupInPlace is SetupContainerRoot without a new root: proc, sys, /dev and
// the masks are mounted over the current root's directories. It is only
// safe in a mount namespace of the caller's own, which it makes private
// first so nothing reaches the namespace it was copied from.
func setupInPlace(opts ContainerRoot) error {
	switch opts.DevMode {
	case "", "tmpfs", "devtmpfs":
	default:
		return fmt.Errorf("container root: DevMode %q is not valid (valid: \"tmpfs\", \"devtmpfs\", \"\")", opts.DevMode)
	}
	if err := MakePropagation("/", "private", true); err != nil {
		return err
	}
	if opts.Proc {
		if err := mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return err
		}
	}
	if opts.Sys {
		if err := mount("sysfs", "/sys", "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, ""); err != nil {
			return err
		}
	}
	switch opts.DevMode {
	case "tmpfs":
		// the host's nodes must stay reachable while ours are bound
		// from them (user namespaces), so build aside and move over
		if err := Tmpfs("/tmp", "", ""); err != nil {
			return err
		}
		if err := mkdir("/tmp/.nsh-dev", 0o755); err != nil {
			return err
		}
		if err := minimalDev("/tmp/.nsh-dev", opts.DevPts, opts.Shm); err != nil {
			return err
		}
		if err := Move("/tmp/.nsh-dev", "/dev"); err != nil {
			return err
		}
		if err := Umount("/tmp", true, false); err != nil {
			return err
		}
	case "devtmpfs":
		if err := mount("devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, ""); err != nil {
			return err
		}
	}
	if opts.DevMode != "tmpfs" && (opts.DevPts || opts.Shm) {
		if err := devExtras("/dev", opts.DevPts, opts.Shm); err != nil {
			return err
		}
	}
	if opts.Mqueue {
		if err := mkdir("/dev/mqueue", 0o1777); err != nil {
			return err
		}
		if err := mount("mqueue", "/dev/mqueue", "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return err
		}
	}
	return hideKernelPaths(opts)
}
