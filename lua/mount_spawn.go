package lua

import (
	"fmt"

	"nsh/runtime/mounts"
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
)

// The container options of ns.spawn and ns.clone (listed, with their help,
// in spawnOptions in lua/spawnopts.go). They all fill one mounts.Container
// that the child runs as the set-up step mounts.ContainerStep, after its
// hostname and before it executes.

// containerKeys are the container options, in the order of the set-up.
var containerKeys = []string{"rootfs", "proc", "sys", "dev", "mqueue", "readonly", "mask"}

// containerSpawnOption reads one container option of ns.spawn/ns.clone
// into the child's container set-up.
func containerSpawnOption(key string, v glua.LValue, spec *nsproc.Spec, so *spawnOpts) error {
	added, err := mounts.EditSetup(&spec.Setup, func(c *mounts.Container) error { return containerOption(c, key, v) })
	if err != nil {
		return fmt.Errorf("option %v", err)
	}
	if added {
		so.checks = append(so.checks, func(spec *nsproc.Spec) error {
			if !spec.Types.Has(nsproc.Mnt) {
				return fmt.Errorf("rootfs, proc, sys, dev, mqueue, mask and readonly need a new mount namespace: add \"mnt\" to ns (else the mounts would land in nsh's own)")
			}
			return nil
		})
	}
	return nil
}

// containerOption converts the Lua value of one container option (shared
// by ns.spawn's options and mount.container); mounts.Container.Validate
// judges the paths.
func containerOption(c *mounts.Container, key string, v glua.LValue) error {
	flag := func() (bool, error) {
		b, ok := v.(glua.LBool)
		if !ok {
			return false, fmt.Errorf("%s must be true or false, got %s", key, describe(v))
		}
		return bool(b), nil
	}
	// paths reads true (def), false (none) or a list of paths
	paths := func(def []string) ([]string, error) {
		if b, ok := v.(glua.LBool); ok {
			if b {
				return def, nil
			}
			return nil, nil
		}
		l, err := stringList(nil, v, key)
		if err != nil {
			return nil, fmt.Errorf("%s must be true or a list of absolute paths, got %s", key, describe(v))
		}
		return l, nil
	}
	var err error
	switch key {
	case "rootfs":
		sv, ok := v.(glua.LString)
		if !ok {
			return fmt.Errorf("rootfs must be an absolute directory path, got %s", describe(v))
		}
		c.Rootfs = string(sv)
	case "proc":
		c.Proc, err = flag()
	case "sys":
		c.Sys, err = flag()
	case "mqueue":
		c.Mqueue, err = flag()
	case "dev":
		switch sv, _ := v.(glua.LString); sv {
		case "minimal", "tmpfs":
			c.Dev, c.DevPts, c.Shm = mounts.DevMinimal, true, true
		case "devtmpfs":
			c.Dev, c.DevPts, c.Shm = mounts.DevKernel, true, true
		default:
			return fmt.Errorf("dev must be %s, got %s", choices("minimal", "devtmpfs"), v.String())
		}
	case "mask":
		c.MaskPaths, err = paths(mounts.DefaultMaskPaths)
	case "readonly":
		c.ReadonlyPaths, err = paths(mounts.DefaultReadonlyPaths)
	default:
		return fmt.Errorf("unknown container option %q (valid: %s)", key, choices(containerKeys...))
	}
	return err
}
