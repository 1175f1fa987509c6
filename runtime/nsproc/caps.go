package nsproc

import (
	"os"
	"strconv"
	"strings"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// The first process of a new user namespace has every capability in it
// (user_namespaces(7)), and a child that runs a function keeps them: clone(2)
// makes no execve. nsh's child re-executes nsh, though, and an execve by a
// uid the namespace does not map yet (a held child, whose maps the parent
// writes before h:release()) clears the permitted set. So the parent asks
// Go's fork to raise every capability into the ambient set (which execve
// keeps for an unprivileged uid), and the re-executed nsh, at once,
// clears the ambient and inheritable sets again: the function runs with
// the capabilities clone(2) gave, and a later execve obeys the kernel's rule
// (unmapped or non-zero uid: capabilities dropped; uid 0: kept).

// keepCapsThroughReexec is every capability this kernel knows
// (/proc/sys/kernel/cap_last_cap), for SysProcAttr.AmbientCaps.
func keepCapsThroughReexec() []uintptr {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return nil
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil
	}
	caps := make([]uintptr, 0, last+1)
	for c := 0; c <= last; c++ {
		caps = append(caps, uintptr(c))
	}
	return caps
}

// dropAmbient empties the ambient and inheritable sets, as they are in the
// first process of a new user namespace.
func dropAmbient() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return kerr.New("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)", err, nil)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return kerr.New("capget()", err, nil)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	return kerr.New("capset(inheritable = 0)", unix.Capset(&hdr, &data[0]), nil)
}
