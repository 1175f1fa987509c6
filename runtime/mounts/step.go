package mounts

import (
	"fmt"

	"nsh/runtime/nsproc"
	"nsh/runtime/payload"
)

// ContainerStep is the name of the child-side set-up step that runs a
// Container (see nsproc.RegisterStep). It is registered from init, so every
// re-executed nsh child knows it. The Container travels to the child in
// runtime/payload's binary encoding; only this file encodes and decodes it.
const ContainerStep = "mounts.container"

func init() {
	nsproc.RegisterStep(ContainerStep, func(args []byte) error {
		c, err := decodeContainer(args)
		if err != nil {
			return err
		}
		return c.Setup()
	})
}

// EditSetup lets edit change the container set-up that setup carries (an
// empty one when it has none yet), validates the result and stores it back
// as setup's ContainerStep. added is true when the step was not there
// before. Options that each set part of the container (rootfs=, proc=, ...)
// call it one after the other.
func EditSetup(setup *nsproc.Setup, edit func(*Container) error) (added bool, err error) {
	idx := -1
	var c Container
	for i, st := range setup.Steps {
		if st.Name == ContainerStep {
			idx = i
			var err error
			if c, err = decodeContainer(st.Args); err != nil {
				return false, err
			}
		}
	}
	if err := edit(&c); err != nil {
		return false, err
	}
	if err := c.Validate(); err != nil {
		return false, err
	}
	args := encodeContainer(c)
	if idx >= 0 {
		setup.Steps[idx].Args = args
		return false, nil
	}
	setup.Steps = append(setup.Steps, nsproc.Step{Name: ContainerStep, Args: args})
	return true, nil
}

// ContainerOf is the container set-up setup carries, if any.
func ContainerOf(setup nsproc.Setup) (c Container, ok bool, err error) {
	for _, st := range setup.Steps {
		if st.Name == ContainerStep {
			c, err = decodeContainer(st.Args)
			return c, err == nil, err
		}
	}
	return c, false, nil
}

// encodeContainer is c as the step's arguments.
func encodeContainer(c Container) []byte {
	w := &payload.Writer{B: make([]byte, 0, 128)}
	w.String(c.Rootfs)
	w.Bool(c.Proc)
	w.Bool(c.Sys)
	w.String(string(c.Dev))
	w.Bool(c.DevPts)
	w.Bool(c.Shm)
	w.Bool(c.Mqueue)
	w.Strings(c.ReadonlyPaths)
	w.Strings(c.MaskPaths)
	w.Strings(c.Unsafe)
	return w.B
}

// decodeContainer reads what encodeContainer wrote.
func decodeContainer(b []byte) (Container, error) {
	r := &payload.Reader{B: b}
	c := Container{Rootfs: r.String(), Proc: r.Bool(), Sys: r.Bool(), Dev: Dev(r.String()), DevPts: r.Bool(), Shm: r.Bool(), Mqueue: r.Bool()}
	c.ReadonlyPaths = r.Strings()
	c.MaskPaths = r.Strings()
	c.Unsafe = r.Strings()
	if err := r.End(); err != nil {
		return Container{}, fmt.Errorf("set-up step %s: bad arguments: %v", ContainerStep, err)
	}
	return c, nil
}
