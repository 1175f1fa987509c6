package mounts

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBindUnbindableSaysSo: binding a mount marked unbindable is EINVAL, and
// the rule names that cause (not the generic flag or mount-point rules).
func TestBindUnbindableSaysSo(t *testing.T) {
	d := dirs(t, "u", "to")
	inMountNS(t, func() error {
		if err := Mount("tmpfs", d["u"], "tmpfs", "", ""); err != nil {
			return err
		}
		if err := MakePropagation(d["u"], "unbindable", false); err != nil {
			return err
		}
		err := Bind(d["u"], d["to"], true, false)
		if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "unbindable mount ("+d["u"]) {
			return fmt.Errorf("bind of an unbindable mount: want EINVAL naming the unbindable mount, got %v", err)
		}
		return nil
	})
}

// TestListWithoutProc: with no proc at /proc the mount table cannot be read,
// and the rule says that, not "no such process".
func TestListWithoutProc(t *testing.T) {
	inMountNS(t, func() error {
		if err := Umount("/proc", true, false); err != nil {
			return err
		}
		_, err := List(0)
		if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "/proc is not a procfs") {
			return fmt.Errorf("List without /proc: %v", err)
		}
		return nil
	})
}
