package nsproc

import (
	"fmt"
	"os"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// joinForFork moves the calling (locked) thread into the namespaces of join
// (type -> namespace file) so that a child forked next starts in them, and
// returns the function that moves the thread back. This is how nsh starts a
// program inside existing namespaces without a second process: the kernel
// copies the forking thread's namespaces into the child.
//
// A user namespace cannot be joined this way (a multithreaded process may
// not setns into one); callers get an error saying so.
func joinForFork(join map[string]string) (restore func() error, err error) {
	var types []Type
	for name := range join {
		t, ok := LookupType(name)
		if !ok {
			return nil, fmt.Errorf("join: unknown namespace type %q (valid types: %s)", name, TypeNames())
		}
		if t.Name == "user" {
			return nil, &kerr.Error{Call: "setns(user)", Errno: unix.EINVAL, Err: ErrUserInPlace,
				Rule: "a multithreaded process cannot join a user namespace, and nsh cannot fork into one it is not in; run the command with nsenter(1) --user, or start nsh itself inside that user namespace"}
		}
	}
	for _, t := range Types { // canonical order; mnt first so the rest resolve before the view changes
		if _, ok := join[t.Name]; ok {
			types = append(types, t)
		}
	}
	// Save where the thread is now (and its cwd, which joining a mount
	// namespace resets), open every target before moving.
	saved := map[string]*os.File{}
	closeAll := func() {
		for _, f := range saved {
			f.Close()
		}
	}
	for _, t := range types {
		cur := NSPath(0, t.Name)
		if t.Name == "pid" || t.Name == "time" {
			cur = NSPath(0, t.Name+"_for_children")
		}
		f, err := os.Open(cur)
		if err != nil {
			closeAll()
			return nil, nsErr(fmt.Sprintf("open(%q)", cur), err)
		}
		saved[t.Name] = f
	}
	cwd, _ := os.Open(".")
	src := Source{Paths: join}
	if err := Setns(src, types); err != nil {
		closeAll()
		if cwd != nil {
			cwd.Close()
		}
		return nil, err
	}
	return func() error {
		defer closeAll()
		var first error
		for _, t := range types {
			if t.Name == "mnt" {
				unix.Unshare(unix.CLONE_FS)
			}
			if err := unix.Setns(int(saved[t.Name].Fd()), int(t.Flag)); err != nil && first == nil {
				first = kerr.New(fmt.Sprintf("setns(back to %s)", t.Name), err, setnsRules)
			}
		}
		if cwd != nil {
			unix.Fchdir(int(cwd.Fd()))
			cwd.Close()
		}
		return first
	}, nil
}

// JoinPaths is the namespace files of a process for the given types, for
// Spec.Join.
func JoinPaths(pid int, types []Type) map[string]string {
	m := map[string]string{}
	for _, t := range types {
		m[t.Name] = NSPath(pid, t.Name)
	}
	return m
}
