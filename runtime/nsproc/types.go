// Package nsproc is nsh's namespace engine: namespace types, unshare and setns
// on the calling (locked) thread, the ioctl_ns queries, pinning a namespace to a
// file, id maps, and starting child processes in new namespaces. It knows
// nothing of Lua.
//
// The thread model it relies on (see docs/architecture.md): the caller runs on
// one goroutine locked to one OS thread for life. Unshare and Setns change that
// thread; children are forked from it and inherit its namespaces.
package nsproc

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Type is one kind of namespace.
type Type struct {
	Name string  // "mnt", "uts", ...: the name in /proc/PID/ns
	Flag uintptr // CLONE_NEW*
	What string  // what it isolates, for help texts and views
}

// Types lists the eight namespace types in the order the kernel documents them.
var Types = []Type{
	{"mnt", unix.CLONE_NEWNS, "mount points"},
	{"uts", unix.CLONE_NEWUTS, "hostname and NIS domain name"},
	{"ipc", unix.CLONE_NEWIPC, "System V IPC, POSIX message queues"},
	{"pid", unix.CLONE_NEWPID, "process IDs"},
	{"net", unix.CLONE_NEWNET, "network devices, stacks, ports"},
	{"user", unix.CLONE_NEWUSER, "user and group IDs, capabilities"},
	{"cgroup", unix.CLONE_NEWCGROUP, "cgroup root directory"},
	{"time", unix.CLONE_NEWTIME, "boot and monotonic clocks"},
}

// alias is the type name another spelling (mount, ns, network, hostname)
// stands for.
func alias(name string) (string, bool) {
	switch name {
	case "mount", "ns":
		return "mnt", true
	case "network":
		return "net", true
	case "hostname":
		return "uts", true
	}
	return "", false
}

// TypeNames is "mnt, uts, ipc, pid, net, user, cgroup, time".
func TypeNames() string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// LookupType finds a type by name (or a common alias such as "mount").
func LookupType(name string) (Type, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	if a, ok := alias(name); ok {
		name = a
	}
	for _, t := range Types {
		if t.Name == name {
			return t, true
		}
	}
	return Type{}, false
}

// ParseTypes reads a list of type names; each element may itself be a
// comma-separated list ("pid,mnt"). Duplicates are folded; the result is in
// the canonical order of Types. An empty list is an error.
func ParseTypes(words ...string) ([]Type, error) {
	seen := map[string]bool{}
	for _, w := range words {
		for _, part := range strings.Split(w, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			t, ok := LookupType(part)
			if !ok {
				return nil, fmt.Errorf("unknown namespace type %q (valid types: %s)", part, TypeNames())
			}
			seen[t.Name] = true
		}
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("no namespace type given (valid types: %s)", TypeNames())
	}
	var out []Type
	for _, t := range Types {
		if seen[t.Name] {
			out = append(out, t)
		}
	}
	return out, nil
}
