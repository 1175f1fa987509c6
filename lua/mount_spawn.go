package lua

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"nsh/runtime/mounts"
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
)

// The container options of ns.spawn and ns.clone (listed, with their help,
// in spawnOptions in lua/spawnopts.go). They all fill one
// mounts.ContainerRoot that the child runs as the set-up step
// mounts.ContainerStep, after its hostname and before it executes.
func containerSpawnOption(key string, v glua.LValue, spec *nsproc.Spec, so *spawnOpts) error {
	idx := -1
	for i, st := range spec.Setup.Steps {
		if st.Name == mounts.ContainerStep {
			idx = i
		}
	}
	var c mounts.ContainerRoot
	if idx >= 0 {
		if err := json.Unmarshal(spec.Setup.Steps[idx].Args, &c); err != nil {
			return err
		}
	}
	if err := containerOption(&c, key, v); err != nil {
		return fmt.Errorf("option %v", err)
	}
	args, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if idx >= 0 {
		spec.Setup.Steps[idx].Args = args
		return nil
	}
	spec.Setup.Steps = append(spec.Setup.Steps, nsproc.Step{Name: mounts.ContainerStep, Args: args})
	so.checks = append(so.checks, func(spec *nsproc.Spec) error {
		if !spec.Types.Has(nsproc.Mnt) {
			return fmt.Errorf("rootfs, proc, sys, dev, mqueue, mask and readonly need a new mount namespace: add \"mnt\" to ns (else the mounts would land in nsh's own)")
		}
		return nil
	})
	return nil
}

// containerOption reads one container option (shared by ns.spawn's options
// and mount.container).
func containerOption(c *mounts.ContainerRoot, key string, v glua.LValue) error {
	flag := func() (bool, error) {
		b, ok := v.(glua.LBool)
		if !ok {
			return false, fmt.Errorf("%s must be true or false, got %s", key, typeName(v))
		}
		return bool(b), nil
	}
	paths := func(def []string) ([]string, error) {
		if b, ok := v.(glua.LBool); ok {
			if b {
				return def, nil
			}
			return nil, nil
		}
		l, err := stringList(nil, v, key)
		if err != nil {
			return nil, fmt.Errorf("%s must be true or a list of absolute paths", key)
		}
		for _, p := range l {
			if !filepath.IsAbs(p) {
				return nil, fmt.Errorf("%s: %q is not an absolute path", key, p)
			}
		}
		return l, nil
	}
	var err error
	switch key {
	case "rootfs":
		sv, ok := v.(glua.LString)
		if !ok || !filepath.IsAbs(string(sv)) {
			return fmt.Errorf("rootfs must be an absolute directory path, got %s", v.String())
		}
		c.Rootfs = filepath.Clean(string(sv))
	case "proc":
		c.Proc, err = flag()
	case "sys":
		c.Sys, err = flag()
	case "mqueue":
		c.Mqueue, err = flag()
	case "dev":
		sv, _ := v.(glua.LString)
		switch string(sv) {
		case "minimal", "tmpfs":
			c.DevMode, c.DevPts, c.Shm = "tmpfs", true, true
		case "devtmpfs":
			c.DevMode, c.DevPts, c.Shm = "devtmpfs", true, true
		default:
			return fmt.Errorf("dev must be %s, got %s", choices("minimal", "devtmpfs"), v.String())
		}
	case "mask":
		c.MaskPaths, err = paths(mounts.DefaultMaskPaths)
	case "readonly":
		c.ReadonlyPaths, err = paths(mounts.DefaultReadonlyPaths)
	default:
		return fmt.Errorf("unknown container option %q (valid: rootfs, proc, sys, dev, mqueue, mask, readonly)", key)
	}
	return err
}
