package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// Kernel rules for the calls this package makes, one sentence per errno.
var (
	mkdirRules = kerr.Rules{
		{Errno: unix.EACCES, Rule: "creating a cgroup needs write permission on the parent cgroup directory (root, or a delegated subtree owned by you)"},
		{Errno: unix.EPERM, Rule: "creating a cgroup needs write permission on the parent cgroup directory (root, or a delegated subtree owned by you)"},
		{Errno: unix.EROFS, Rule: "the cgroup file system is mounted read-only here (common inside containers)"},
		{Errno: unix.EAGAIN, Rule: "the parent's cgroup.max.descendants or cgroup.max.depth limit is reached"},
	}
	rmdirRules = kerr.Rules{
		{Errno: unix.EBUSY, Rule: "a cgroup with processes or children cannot be removed: kill or move its processes and remove its children first"},
		{Errno: unix.ENOTEMPTY, Rule: "a cgroup with processes or children cannot be removed: kill or move its processes and remove its children first"},
		{Errno: unix.EACCES, Rule: "removing a cgroup needs write permission on its parent directory"},
		{Errno: unix.EPERM, Rule: "removing a cgroup needs write permission on its parent directory"},
	}
	procsRules = kerr.Rules{
		{Errno: unix.EBUSY, Rule: "cgroup v2 no-internal-process rule: a cgroup that enables controllers for its children (cgroup.subtree_control) cannot hold processes itself"},
		{Errno: unix.EOPNOTSUPP, Rule: "cgroup v2 no-internal-process rule or a threaded/domain-invalid cgroup: processes can only join a leaf (or a threaded cgroup)"},
		{Errno: unix.ESRCH, Rule: "no such process (it exited, or its pid is not visible from this pid namespace)"},
		{Errno: unix.ENOSPC, Rule: "a v1 cpuset with an empty cpuset.cpus or cpuset.mems cannot take processes: fill both first (copy them from the parent)"},
		{Errno: unix.EACCES, Rule: "moving a process needs write permission on cgroup.procs of the target and of the common ancestor of source and target (cgroup delegation), plus permission to signal the process"},
		{Errno: unix.EPERM, Rule: "moving a process needs write permission on cgroup.procs of the target and of the common ancestor of source and target (cgroup delegation), plus permission to signal the process"},
		{Errno: unix.EINVAL, Rule: "cgroup.procs takes one process id per write (kernel threads and processes with realtime priority can also be refused)"},
	}
	subtreeRules = kerr.Rules{
		{Errno: unix.EBUSY, Rule: "cgroup v2 no-internal-process rule: controllers cannot be enabled for children of a non-root cgroup that holds processes; move them to a leaf first"},
		{Errno: unix.EOPNOTSUPP, Rule: "cgroup v2 no-internal-process rule or a threaded cgroup: this controller cannot be enabled here"},
		{Errno: unix.ENOENT, Rule: "a controller can only be enabled for children if the cgroup itself has it (listed in its cgroup.controllers): enable it in the parent's cgroup.subtree_control first, and v1 hierarchies keep theirs to themselves"},
		{Errno: unix.EINVAL, Rule: "cgroup.subtree_control takes space-separated +controller / -controller words"},
		{Errno: unix.EACCES, Rule: "writing cgroup.subtree_control needs write permission on it (root, or a delegated subtree)"},
		{Errno: unix.EPERM, Rule: "writing cgroup.subtree_control needs write permission on it (root, or a delegated subtree)"},
	}
	killRules = kerr.Rules{
		{Errno: unix.EPERM, Rule: "signalling a process needs the same user id or CAP_KILL"},
	}
	openRules = kerr.Rules{
		{Errno: unix.EACCES, Rule: "opening the cgroup directory needs read permission on it"},
	}
)

// writeRules is the rule set for writing an interface file.
func writeRules(file string) kerr.Rules {
	switch file {
	case "cgroup.procs", "tasks", "cgroup.threads":
		return procsRules
	case "cgroup.subtree_control":
		return subtreeRules
	}
	r := kerr.Rules{
		{Errno: unix.EACCES, Rule: "writing cgroup files needs write permission on them: root, or a subtree delegated to you (chowned), and never the root cgroup's limits"},
		{Errno: unix.EPERM, Rule: "writing cgroup files needs write permission on them: root, or a subtree delegated to you (chowned), and never the root cgroup's limits"},
		{Errno: unix.EINVAL, Rule: "the value is malformed or out of range for " + file + validRange(file)},
		{Errno: unix.ERANGE, Rule: "the value is out of range for " + file + validRange(file)},
		{Errno: unix.EBUSY, Rule: "the kernel cannot apply this value now (e.g. a memory limit below current usage that cannot be reclaimed, or a cpuset in use)"},
		{Errno: unix.ENOSPC, Rule: "a v1 cpuset needs non-empty cpuset.cpus and cpuset.mems, and a child's cpus/mems must stay within its parent's"},
		{Errno: unix.EOPNOTSUPP, Rule: "this controller or file does not support that operation here"},
	}
	if strings.HasPrefix(file, "memory.memsw") || file == "memory.limit_in_bytes" {
		r = kerr.Rules{{Errno: unix.EINVAL, Rule: "v1 requires memory.limit_in_bytes <= memory.memsw.limit_in_bytes (raise memsw first when raising the limit, lower the limit first when lowering memsw); -1 means unlimited"}}.Also(r)
	}
	if strings.HasPrefix(file, "cpuset.") {
		r = kerr.Rules{{Errno: unix.EINVAL, Rule: "cpuset lists look like 0-1,3 and must name cpus/memory nodes that exist and are in the parent's " + file}}.Also(r)
	}
	return r
}

// validRange names the valid values of well-known files.
func validRange(file string) string {
	switch file {
	case "cpu.weight":
		return ": 1..10000 (default 100)"
	case "cpu.weight.nice":
		return ": -20..19"
	case "cpu.shares":
		return ": 2..262144 (default 1024)"
	case "cpu.max":
		return `: "max|QUOTA [PERIOD]" in µs, quota >= 1000, period 1000..1000000`
	case "cpu.cfs_quota_us":
		return ": -1 (no limit) or >= 1000 µs, and quota/period must not exceed what the parent allows"
	case "cpu.cfs_period_us":
		return ": 1000..1000000 µs"
	case "pids.max":
		return `: "max" or 0..4194304`
	case "memory.max", "memory.high", "memory.low", "memory.min", "memory.swap.max":
		return `: "max" or a byte count`
	case "freezer.state":
		return ": FROZEN or THAWED"
	case "cgroup.freeze":
		return ": 0 or 1"
	case "cgroup.kill":
		return ": 1"
	case "io.weight", "blkio.weight", "blkio.bfq.weight":
		return ": 1..10000 (io.weight), 10..1000 (blkio weights)"
	}
	return ""
}

// filesFor lists the interface files in dir whose names start with prefix".".
func filesFor(dir, prefix string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasPrefix(e.Name(), prefix+".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// noFileError is ENOENT for an unknown interface file, listing the files the
// group does have for that controller.
func noFileError(call, dir, file string) error {
	prefix, _, _ := strings.Cut(file, ".")
	have := filesFor(dir, prefix)
	rule := fmt.Sprintf("%s has no file %s", dir, file)
	if len(have) > 0 {
		rule += "; its " + prefix + " files are: " + strings.Join(have, ", ")
	} else {
		rule += "; it has no " + prefix + " files (controller not enabled for this group, or it lives in another hierarchy)"
	}
	return &kerr.Error{Call: call, Errno: unix.ENOENT, Rule: rule}
}

// writeFile writes value to dir/file (never creating it), wrapping failures
// as the call the kernel refused: the open, or the write of the value.
func writeFile(dir, file, value string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		call := fmt.Sprintf("open(%s, O_WRONLY)", p)
		if errors.Is(err, unix.ENOENT) {
			return noFileError(call, dir, file)
		}
		return kerr.New(call, errnoOf(err), writeRules(file))
	}
	_, err = f.Write([]byte(value))
	cerr := f.Close()
	if err == nil {
		err = cerr
	}
	return kerr.New(fmt.Sprintf("write(%s, %q)", p, value), errnoOf(err), writeRules(file))
}

// readFile reads dir/file, trimmed.
func readFile(dir, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", readErr(dir, file, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// readErr is a failed open or read of dir/file, named as that call.
func readErr(dir, file string, err error) error {
	p := filepath.Join(dir, file)
	op := "read"
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Op == "open" {
		op = "open"
	}
	call := fmt.Sprintf("%s(%s)", op, p)
	if errors.Is(err, unix.ENOENT) {
		return noFileError(call, dir, file)
	}
	return kerr.New(call, errnoOf(err), nil)
}

// errnoOf unwraps *os.PathError and friends to the bare errno when there is one.
func errnoOf(err error) error {
	if err == nil {
		return nil
	}
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return err
}
