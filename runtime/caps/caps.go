// Package caps names Linux capabilities and wraps the calls that change a
// process's privileges: capget/capset, and the prctl(2) options namespace
// lessons use (the bounding and ambient sets, no_new_privs, keepcaps,
// dumpable, the child subreaper, the parent-death signal). A change of a
// per-thread attribute is made on every thread of the process (Go's
// AllThreadsSyscall), so no thread, and no child a thread forks later, keeps
// the old privileges. It decides nothing about which capabilities a
// container should keep.
package caps

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// names are the capability names by bit number (linux/capability.h),
// without the CAP_ prefix, lower case.
var names = []string{
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
	"setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
	"ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
	"sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
	"lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
	"wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
}

// Known lists every capability name this table has, by bit number.
func Known() []string { return append([]string(nil), names...) }

// Name is the name of capability bit n ("cap_45" beyond the table).
func Name(n int) string {
	if n >= 0 && n < len(names) {
		return names[n]
	}
	return fmt.Sprintf("cap_%d", n)
}

// Number reads a capability name: "sys_admin", "CAP_SYS_ADMIN", "SYS_ADMIN"
// or a bit number as a string.
func Number(name string) (int, bool) {
	w := strings.ToLower(strings.TrimSpace(name))
	w = strings.TrimPrefix(w, "cap_")
	for i, n := range names {
		if n == w {
			return i, true
		}
	}
	if i, err := strconv.Atoi(w); err == nil && i >= 0 && i < 64 {
		return i, true
	}
	return 0, false
}

// Names lists the capabilities set in mask.
func Names(mask uint64) []string {
	var out []string
	for i := 0; i < 64; i++ {
		if mask&(1<<uint(i)) != 0 {
			out = append(out, Name(i))
		}
	}
	return out
}

// Mask is the set of the named capabilities.
func Mask(list []string) (uint64, error) {
	var m uint64
	for _, n := range list {
		i, ok := Number(n)
		if !ok {
			return 0, fmt.Errorf("unknown capability %q", n)
		}
		m |= 1 << uint(i)
	}
	return m, nil
}

// All reports whether mask holds every capability this table knows.
func All(mask uint64) bool {
	full := uint64(1)<<uint(len(names)) - 1
	return mask&full == full
}

// LastCap is the highest capability the running kernel knows.
func LastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 && n < 64 {
			return n
		}
	}
	return unix.CAP_LAST_CAP
}

// AllThreads makes a per-thread call on every thread of the process; a
// binary linked with cgo cannot (ENOTSUP), and then only the calling thread
// is changed.
func AllThreads(trap, a1, a2, a3 uintptr) error {
	_, _, e := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	if e == syscall.ENOTSUP {
		_, _, e = syscall.RawSyscall(trap, a1, a2, a3)
	}
	if e != 0 {
		return e
	}
	return nil
}

// Sets are a thread's capability sets.
type Sets struct{ Effective, Permitted, Inheritable uint64 }

var capsetRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "capset may only lower the permitted set, keep effective within permitted, and raise inheritable only within the bounding set (and, without CAP_SETPCAP, within permitted)"},
}

// Get is capget(2) of the calling thread.
func Get() (Sets, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	if err := unix.Capget(&hdr, &d[0]); err != nil {
		return Sets{}, kerr.New("capget()", err, nil)
	}
	return Sets{
		Effective:   uint64(d[0].Effective) | uint64(d[1].Effective)<<32,
		Permitted:   uint64(d[0].Permitted) | uint64(d[1].Permitted)<<32,
		Inheritable: uint64(d[0].Inheritable) | uint64(d[1].Inheritable)<<32,
	}, nil
}

// Set is capset(2) on every thread.
func Set(s Sets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	for i := range d {
		d[i].Effective = uint32(s.Effective >> (32 * i))
		d[i].Permitted = uint32(s.Permitted >> (32 * i))
		d[i].Inheritable = uint32(s.Inheritable >> (32 * i))
	}
	err := AllThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&d[0])), 0)
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&d)
	return kerr.New(fmt.Sprintf("capset(effective=%s, permitted=%s, inheritable=%s)",
		join(s.Effective), join(s.Permitted), join(s.Inheritable)), err, capsetRules)
}

func join(m uint64) string {
	if m == 0 {
		return "{}"
	}
	return "{" + strings.Join(Names(m), ",") + "}"
}
