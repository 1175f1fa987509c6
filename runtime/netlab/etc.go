package netlab

import (
	"encoding/json"
	"fmt"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
	"nsh/runtime/nsproc"
)

// EtcStep is the name of the child set-up step that gives a lab node its own
// /etc/hosts and /etc/resolv.conf: inside the node's new mount namespace it
// makes every mount private (so nothing propagates back to the machine) and
// bind-mounts the given files over the machine's. Use it in
// nsproc.Spec.Setup.Steps with EtcArgs.
const EtcStep = "netlab.etc"

// EtcFiles says which files replace which (target -> source), e.g.
// {"/etc/hosts": "/tmp/nsh-lab-x/hosts"}.
type EtcFiles map[string]string

// EtcArgs encodes files for an EtcStep.
func EtcArgs(files EtcFiles) []byte {
	b, _ := json.Marshal(files)
	return b
}

func init() { nsproc.RegisterStep(EtcStep, etcStep) }

func etcStep(args []byte) error {
	var files EtcFiles
	if err := json.Unmarshal(args, &files); err != nil {
		return fmt.Errorf("netlab.etc: bad arguments: %v", err)
	}
	if len(files) == 0 {
		return nil
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return kerr.New(`mount --make-rprivate /`, err, kerr.Rules{
			{Errno: unix.EPERM, Rule: "changing propagation needs CAP_SYS_ADMIN in the user namespace owning the mount namespace (the node needs \"mnt\")"},
		})
	}
	for target, src := range files {
		if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
			return kerr.Newf(err, kerr.Rules{
				{Errno: unix.ENOENT, Rule: "the file to cover or the source does not exist"},
				{Errno: unix.EPERM, Rule: "bind mounts need CAP_SYS_ADMIN over the mount namespace"},
			}, "mount --bind %s %s", src, target)
		}
	}
	return nil
}
