package nsproc

import (
	"fmt"
	"os"
	"strconv"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// ProcDir is the /proc directory of a process: "/proc/thread-self" for pid 0
// (the calling thread, which is what "myself" means under the thread model),
// else "/proc/PID".
func ProcDir(pid int) string {
	if pid == 0 {
		return "/proc/thread-self"
	}
	return "/proc/" + strconv.Itoa(pid)
}

// NSPath is the namespace file of a process ("/proc/PID/ns/TYPE").
func NSPath(pid int, typ string) string {
	return ProcDir(pid) + "/ns/" + typ
}

// Inode is the identity of the namespace at path (an nsfs file, a pinned bind
// mount of one, or /proc/PID/ns/TYPE).
func Inode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, nsErr(fmt.Sprintf("stat(%q)", path), err)
	}
	return st.Ino, nil
}

// ID is the inode of a process's namespace of one type.
func ID(pid int, typ string) (uint64, error) {
	if _, ok := LookupType(typ); !ok && typ != "pid_for_children" && typ != "time_for_children" {
		return 0, fmt.Errorf("unknown namespace type %q (valid types: %s)", typ, TypeNames())
	}
	return Inode(NSPath(pid, typ))
}

// List returns the inodes of all of a process's namespaces that the kernel
// shows (a type the kernel lacks is absent), plus pid_for_children and
// time_for_children when they differ from pid and time.
func List(pid int) (map[string]uint64, error) {
	if pid != 0 {
		if _, err := os.Stat(ProcDir(pid)); err != nil {
			return nil, kerr.New(fmt.Sprintf("stat(%q)", ProcDir(pid)), err, kerr.Rules{
				{Errno: unix.ENOENT, Rule: fmt.Sprintf("no process %d (it has exited, or is not visible in this PID namespace's /proc)", pid)}})
		}
	}
	out := map[string]uint64{}
	var firstErr error
	for _, t := range Types {
		ino, err := Inode(NSPath(pid, t.Name))
		if err != nil {
			if firstErr == nil && !os.IsNotExist(err) {
				firstErr = err
			}
			continue
		}
		out[t.Name] = ino
	}
	for _, extra := range []string{"pid_for_children", "time_for_children"} {
		if ino, err := Inode(NSPath(pid, extra)); err == nil {
			out[extra] = ino
		}
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
