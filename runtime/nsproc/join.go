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
				Rule: "a multithreaded process cannot join a user namespace, and a child forked from one starts in its parent's"}
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
