package nsproc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// SetTIDFields are the parts of a Spec a start with set_tid supports, as
// the options of ns.spawn name them: the program (argv, env, cwd), the
// namespaces to create or join, stdio, the parent-death signal and the
// process group. The rest needs a re-executed nsh or Go's own start.
const SetTIDFields = "ns, join, join_ns, env, cwd, stdin, stdout, stderr, keep and pgroup"

// checkSetTID refuses what a start with set_tid cannot do.
func (s *Spec) checkSetTID() error {
	if len(s.SetTID) == 0 {
		return nil
	}
	var not []string
	add := func(cond bool, name string) {
		if cond {
			not = append(not, name)
		}
	}
	add(len(s.Argv) == 0, "a Lua function (ns.clone: start a program with ns.spawn instead)")
	add(s.Hold, "hold")
	add(s.Setup.Hostname != "", "hostname")
	add(s.Setup.Domainname != "", "domainname")
	add(len(s.Setup.Steps) > 0, "set-up steps (cap_drop, no_new_privs, rootfs and the container options)")
	add(len(s.UIDMap) > 0, "uid_map")
	add(len(s.GIDMap) > 0, "gid_map")
	add(s.Setgroups != "", "setgroups")
	add(s.UID != nil || s.MapUID != nil, "uid")
	add(s.GID != nil || s.MapGID != nil, "gid")
	add(s.CgroupFD > 0, "cgroup")
	add(s.Setsid, "setsid")
	add(s.Ctty, "ctty")
	if len(not) > 0 {
		return &SpecError{Field: "set_tid", Rule: "a start with set_tid (nsh's own clone3 and execve) cannot also take " +
			strings.Join(not, ", ") + "; it supports " + SetTIDFields}
	}
	return nil
}

// startSetTID starts spec's program with clone3(2) and set_tid, from the
// calling thread or, with Join, from a fresh thread in those namespaces.
func startSetTID(spec Spec) (*Process, error) {
	path, err := lookPath(spec.Argv[0], spec.Setup)
	if err != nil {
		return nil, err
	}
	env := spec.Env
	if env == nil {
		env = os.Environ()
		if spec.Dir != "" {
			env = withPWD(env, spec.Dir) // as os/exec does
		}
	}
	tids := make([]int32, len(spec.SetTID))
	for i, t := range spec.SetTID {
		tids[i] = int32(t)
	}
	files := []*os.File{orStd(spec.Stdin, os.Stdin), orStd(spec.Stdout, os.Stdout), orStd(spec.Stderr, os.Stderr)}
	pl := &clone3Plan{pdeath: !spec.NoPdeath, pgroup: spec.OwnPgroup}
	pl.args.flags = uint64(spec.Types.Flags())
	for i, f := range files {
		pl.fd[i] = int(f.Fd())
	}
	if pl.argv0, err = syscall.BytePtrFromString(path); err != nil {
		return nil, err
	}
	if pl.argv, err = syscall.SlicePtrFromStrings(spec.Argv); err != nil {
		return nil, err
	}
	if pl.envv, err = syscall.SlicePtrFromStrings(env); err != nil {
		return nil, err
	}

	p := &Process{Argv: spec.Argv, Types: spec.Types, done: make(chan struct{}), OwnPgroup: spec.OwnPgroup}
	var fail childFailure
	start := func() error {
		if spec.Dir != "" {
			if pl.dir, err = syscall.BytePtrFromString(spec.Dir); err != nil {
				return err
			}
		}
		var e error
		p.Pid, fail, e = cloneWithSetTID(pl, tids, files)
		return e
	}
	p.Start = time.Now()
	if len(spec.Join) > 0 {
		err = startOnFreshThread(spec.Join, &spec.Dir, start, p.done)
	} else {
		err = start()
	}
	if err != nil {
		return nil, setTIDErr(spec, err)
	}
	if fail.step != 0 {
		close(p.done) // the fresh thread may go
		return nil, fail.err(spec, path)
	}
	if p.osp, err = os.FindProcess(p.Pid); err != nil { // a pidfd: the child is not reaped, its pid not reused
		syscall.Kill(p.Pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		syscall.Wait4(p.Pid, &ws, 0, nil)
		close(p.done)
		return nil, err
	}
	ownChildren.add(p.Pid)
	p.openPidfd()
	go p.reap()
	return p, nil
}

// withPWD sets PWD to dir (made absolute), as os/exec does for a child
// given a working directory and nsh's environment.
func withPWD(env []string, dir string) []string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return env
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PWD=") {
			out = append(out, kv)
		}
	}
	return append(out, "PWD="+abs)
}

// The kernel's rules for clone3 with set_tid (kernel/fork.c
// copy_clone_args_from_user, kernel/pid.c alloc_pid), in its order.
const (
	setTIDLevelsRule = "set_tid may have at most one entry per PID namespace level of the child: its own namespace and each ancestor " +
		"(the level of the namespace it is born in, plus one), and at most 32"
	setTIDInitRule = "an entry other than 1 must name a namespace that already has an init: with CLONE_NEWPID the first entry is the new " +
		"namespace's and must be 1"
	setTIDRangeRule = "each entry is a PID from 1 to the namespace's pid_max - 1 (/proc/sys/kernel/pid_max)"
	setTIDPermRule  = "choosing a PID needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE over the user namespace that owns each PID namespace " +
		"an entry names (the owner of a new user namespace has them over a PID namespace created with it); creating namespaces other than " +
		"a user namespace needs CAP_SYS_ADMIN too"
	setTIDInUseRule = "a PID that set_tid asks for is in use in its namespace (every thread takes a PID too)"
)

// setTIDErr explains a failed clone3 with set_tid. For EINVAL it names
// the rule the spec breaks, found from the depth of the child's PID
// namespace.
func setTIDErr(spec Spec, err error) error {
	call := fmt.Sprintf("clone3(%s, set_tid=%s)", flagNames(spec.Types), tidList(spec.SetTID))
	errno, ok := err.(syscall.Errno)
	if !ok {
		return &kerr.Error{Call: call, Err: err}
	}
	rules := kerr.Rules{
		{Errno: unix.EPERM, Rule: setTIDPermRule},
		{Errno: unix.EEXIST, Rule: setTIDInUseRule},
		{Errno: unix.EINVAL, Rule: setTIDLevelsRule + "; " + setTIDInitRule + "; " + setTIDRangeRule},
		{Errno: unix.ENOMEM, Rule: cloneRules.For(unix.ENOMEM)},
		{Errno: unix.ENOSPC, Rule: cloneRules.For(unix.ENOSPC)},
		{Errno: unix.EUSERS, Rule: cloneRules.For(unix.EUSERS)},
		{Errno: unix.EAGAIN, Rule: cloneRules.For(unix.EAGAIN)},
	}
	if errno == unix.EINVAL {
		if r := setTIDInvalid(spec); r != "" {
			rules = kerr.Rules{{Errno: unix.EINVAL, Rule: r}}.Also(rules)
		}
	}
	return kerr.New(call, errno, rules)
}

// setTIDInvalid names the rules of EINVAL that spec's set_tid breaks, as
// far as this process can tell ("" if none it can see). How deep its own
// PID namespace is, it may not see: /proc/self/status NSpid lists the
// levels from the namespace of the procfs read, and a PID namespace hides
// its ancestors; so the count is judged against a lower bound.
func setTIDInvalid(spec Spec) string {
	var broken []string
	n := len(spec.SetTID)
	if seen, ok := childPidLevels(spec); n > 32 || (ok && n > seen) {
		broken = append(broken, fmt.Sprintf("%s; %d entries given, and this child has %d level(s) that nsh can see (more if its namespace has ancestors hidden from it)", setTIDLevelsRule, n, seen))
	}
	if spec.Types.Has(PID) && spec.SetTID[0] != 1 {
		broken = append(broken, setTIDInitRule)
	}
	pidMax := readPidMax()
	for _, t := range spec.SetTID {
		if t < 1 || (pidMax > 0 && t >= pidMax) {
			broken = append(broken, fmt.Sprintf("%s (%d here)", setTIDRangeRule, pidMax))
			break
		}
	}
	return strings.Join(broken, "; and ")
}

// readPidMax is /proc/sys/kernel/pid_max (0 if unreadable).
func readPidMax() int {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return 0
	}
	var n int
	fmt.Sscan(string(b), &n)
	return n
}

// childPidLevels is how many PID namespace levels a child of spec has, as
// far as this process can see: those of the namespace it is born in, plus
// one for a new one. That namespace is the joined one or the calling
// thread's pid_for_children: this process's own or one below it, and
// walking NS_GET_PARENT up from it stops at this process's own (whose
// parent is out of view).
func childPidLevels(spec Spec) (int, bool) {
	path, joins := spec.Join["pid"]
	if !joins {
		path = NSPath(0, "pid_for_children")
	}
	chain, err := Ancestors(path)
	if err != nil || len(chain) == 0 {
		return 0, false
	}
	levels := ownLevel() + len(chain) // (ownLevel + len(chain) - 1) + 1
	if spec.Types.Has(PID) {
		levels++
	}
	return levels, true
}

// ownLevel is the level of this process's PID namespace as /proc shows it
// (its NSpid line has one number per level from the procfs's namespace).
func ownLevel() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "NSpid:" {
			return len(f) - 2
		}
	}
	return 0
}

func minTID(t []int) int {
	m := t[0]
	for _, v := range t {
		m = min(m, v)
	}
	return m
}

func tidList(t []int) string {
	s := make([]string, len(t))
	for i, v := range t {
		s[i] = fmt.Sprint(v)
	}
	return "{" + strings.Join(s, ", ") + "}"
}

func flagNames(ts Set) string {
	if ts.Empty() {
		return "0"
	}
	var f []string
	for _, t := range ts.Types() {
		name := "CLONE_NEW" + strings.ToUpper(t.Name)
		if t.Set() == Mnt {
			name = "CLONE_NEWNS"
		}
		f = append(f, name)
	}
	return strings.Join(f, "|")
}

// err explains a step the child failed after clone3.
func (f childFailure) err(spec Spec, path string) error {
	errno := unix.Errno(f.errno)
	switch f.step {
	case stepExec:
		return kerr.New(fmt.Sprintf("execve(%q)", path), errno, cloneRules)
	case stepChdir:
		return kerr.New(fmt.Sprintf("chdir(%q)", spec.Dir), errno, kerr.Rules{
			{Errno: unix.ENOENT, Rule: "no such directory (in the child's mount namespace)"}, {Errno: unix.EACCES, Rule: "search permission denied on a component of the path"},
			{Errno: unix.ENOTDIR, Rule: "a component of the path is not a directory"}})
	case stepPgid:
		return kerr.New("setpgid(0, 0)", errno, nil)
	case stepPdeath:
		return kerr.New("prctl(PR_SET_PDEATHSIG)", errno, nil)
	case stepAlive:
		return kerr.New("ppoll (is the parent alive?)", errno, nil)
	default:
		return kerr.New("dup3 of stdio", errno, kerr.Rules{{Errno: unix.EBADF, Rule: "a stdio descriptor given to the child is not open"}})
	}
}
