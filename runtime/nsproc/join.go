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
			return fmt.Errorf("join: unknown namespace type %q (valid types: %s)", name, TypeNames())
		}
		if t.Set() == User {
			return &kerr.Error{Call: "setns(user)", Errno: unix.EINVAL, Err: ErrUserInPlace,
				Rule: "a multithreaded process cannot join a user namespace, and nsh cannot fork into one it is not in; run the command with nsenter(1) --user, or start nsh itself inside that user namespace"}
		}
	}
	return nil
}

// JoinPaths is the namespace files of a process for the given types, for
// Spec.Join.
func JoinPaths(pid int, types Set) map[string]string {
	m := map[string]string{}
	for _, t := range types.Types() {
		m[t.Name] = NSPath(pid, t.Name)
	}
	return m
}
