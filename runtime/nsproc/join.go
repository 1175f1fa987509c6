package nsproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// checkJoin validates a Join map: known types, no user namespace (a
// multithreaded process may not join one, and nsh cannot fork into one it
// is not in).
func checkJoin(join map[string]string) error {
	for name := range join {
		t, ok := LookupType(name)
		if !ok {
			return &SpecError{Field: "join", Rule: fmt.Sprintf("unknown namespace type %q (valid types: %s)", name, TypeNames())}
		}
		if t.Set() == User {
			return &kerr.Error{Call: "setns(user)", Errno: unix.EINVAL, Err: ErrUserInPlace,
				Rule: "setns(2) of a user namespace needs a single-threaded caller (EINVAL otherwise); nsh, a Go program, has threads from its start, " +
					"and Go's process start (SysProcAttr) has no setns step between fork and exec, so neither nsh nor a child it forks can enter an existing user namespace"}
		}
	}
	return nil
}

// JoinPaths is the namespace files of a process for the given types, for
// Spec.Join; no types means every type but user (which a multithreaded
// process cannot join).
func JoinPaths(pid int, types Set) map[string]string {
	if types.Empty() {
		types = All.Without(User)
	}
	m := map[string]string{}
	for _, t := range types.Types() {
		m[t.Name] = NSPath(pid, t.Name)
	}
	return m
}

// EnterSpec is how to run argv in every namespace of process pid, as
// `nsenter -t PID -a` does. When pid shares this process's user and time
// namespaces the child is started inside the others directly (Spec.Join);
// otherwise, since a multithreaded process can join neither a user nor a
// time namespace, through nsenter(1), a single-threaded process, told
// to join each namespace of pid that differs from this process's (entering
// a user namespace as its root, as nsenter does).
func EnterSpec(pid int, argv []string) (Spec, error) {
	if _, err := os.Stat(ProcDir(pid)); err != nil {
		return Spec{}, nsErr(fmt.Sprintf("stat(%q)", ProcDir(pid)), err)
	}
	direct := true
	for _, t := range []string{"user", "time"} {
		there, err := Inode(NSPath(pid, t))
		if err != nil {
			if t == "time" && errors.Is(err, unix.ENOENT) {
				continue // a kernel without time namespaces
			}
			return Spec{}, err
		}
		here, _ := Inode(NSPath(0, t))
		if there != here {
			direct = false
		}
	}
	if direct {
		join := JoinPaths(pid, All.Without(User).Without(Time))
		for name, path := range join {
			if _, err := os.Stat(path); err != nil {
				delete(join, name) // a type this kernel lacks
			}
		}
		spec := Spec{Argv: argv, Join: join}
		if there, _ := Inode(NSPath(pid, "mnt")); there != 0 {
			if here, _ := Inode(NSPath(0, "mnt")); here != there {
				spec.Dir = "/" // setns(2) into a mount namespace moves to its root
			}
		}
		return spec, nil
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return Spec{}, fmt.Errorf("entering the user or time namespace of process %d needs nsenter(1) (a multithreaded process cannot join them): %v", pid, err)
	}
	// name only the namespaces that differ: once inside a new user
	// namespace, joining one the caller is already in but that an ancestor
	// user namespace owns (the host's cgroup namespace, say) is refused
	args := []string{nsenter, "-t", strconv.Itoa(pid)}
	for _, t := range []string{"user", "cgroup", "ipc", "uts", "net", "pid", "mnt", "time"} {
		there, err := Inode(NSPath(pid, t))
		if err != nil {
			continue
		}
		if here, _ := Inode(NSPath(0, t)); here != there {
			flag := t
			if t == "mnt" {
				flag = "mount"
			}
			args = append(args, "--"+flag)
		}
	}
	if len(args) > 3 && args[3] == "--user" && !initialUserNS() {
		// nsenter drops supplementary groups on entering a user namespace;
		// without privilege over the target (setgroups "deny" there) that
		// fails, so keep the caller's credentials, as mapped inside
		if b, err := os.ReadFile(ProcDir(pid) + "/setgroups"); err == nil && strings.TrimSpace(string(b)) == "deny" {
			args = append(args[:3], append([]string{"--preserve-credentials"}, args[3:]...)...)
		}
	}
	return Spec{Argv: append(append(args, "--"), argv...)}, nil
}

// initialUserNS tells whether this process is in the initial user
// namespace (its uid_map maps every uid to itself).
func initialUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	return err == nil && strings.Join(strings.Fields(string(b)), " ") == "0 0 4294967295"
}
