package nsproc

import (
	"fmt"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// Sessions and process groups (credentials(7)): the ids are as the
// caller's PID namespace sees them; a session or group whose leader is
// outside it reads as 0 (the first process of a new PID namespace, until
// it calls setsid).

var (
	setsidRules = kerr.Rules{{Errno: unix.EPERM, Rule: "the caller is a process group leader (a session can only be started by a process that leads no group: fork first, as setsid(1) does)"}}
	getsidRules = kerr.Rules{
		{Errno: unix.ESRCH, Rule: "no such process in this PID namespace"},
		{Errno: unix.EPERM, Rule: "the process is in another session and the kernel hides it (an LSM refused)"},
	}
	setpgidRules = kerr.Rules{
		{Errno: unix.EPERM, Rule: "the process is a session leader, or in another session than the caller, or the group named is in another session"},
		{Errno: unix.ESRCH, Rule: "the process is neither the caller nor one of its children (in this PID namespace)"},
		{Errno: unix.EACCES, Rule: "the child has already executed a program (a parent may move its child only before execve)"},
		{Errno: unix.EINVAL, Rule: "the group id is negative"},
	}
)

// Setsid is setsid(2) for the calling process; it returns the new session id.
func Setsid() (int, error) {
	sid, err := unix.Setsid()
	if err != nil {
		return 0, kerr.New("setsid()", err, setsidRules)
	}
	return sid, nil
}

// Getsid is getsid(2): the session of pid (0: the caller).
func Getsid(pid int) (int, error) {
	sid, err := unix.Getsid(pid)
	if err != nil {
		return 0, kerr.New(fmt.Sprintf("getsid(%d)", pid), err, getsidRules)
	}
	return sid, nil
}

// Setpgid is setpgid(2): moves pid (0: the caller) into group pgid (0: a
// group of its own, numbered as pid).
func Setpgid(pid, pgid int) error {
	return kerr.New(fmt.Sprintf("setpgid(%d, %d)", pid, pgid), unix.Setpgid(pid, pgid), setpgidRules)
}

// Getpgid is getpgid(2): the process group of pid (0: the caller).
func Getpgid(pid int) (int, error) {
	g, err := unix.Getpgid(pid)
	if err != nil {
		return 0, kerr.New(fmt.Sprintf("getpgid(%d)", pid), err, getsidRules)
	}
	return g, nil
}
