package mounts

import (
	"encoding/json"
	"fmt"

	"nsh/runtime/nsproc"
)

// ContainerStep is the name of the child-side set-up step that runs a
// Container (see nsproc.RegisterStep). It is registered from init, so every
// re-executed nsh child knows it. The Container travels to the child as
// JSON; only this file encodes and decodes it.
const ContainerStep = "mounts.container"

func init() {
	nsproc.RegisterStep(ContainerStep, func(args []byte) error {
		var c Container
		if err := json.Unmarshal(args, &c); err != nil {
			return fmt.Errorf("set-up step %s: bad arguments: %v", ContainerStep, err)
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
			if err := json.Unmarshal(st.Args, &c); err != nil {
				return false, fmt.Errorf("set-up step %s: bad arguments: %v", ContainerStep, err)
			}
		}
	}
	if err := edit(&c); err != nil {
		return false, err
	}
	if err := c.Validate(); err != nil {
		return false, err
	}
	args, err := json.Marshal(c)
	if err != nil {
		return false, err
	}
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
			err = json.Unmarshal(st.Args, &c)
			return c, err == nil, err
		}
	}
	return c, false, nil
}
