package nsproc

import (
	"fmt"

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
