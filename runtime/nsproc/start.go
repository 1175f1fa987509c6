package nsproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

var cloneRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "creating namespaces other than a user namespace needs CAP_SYS_ADMIN in the caller's user namespace " +
		"(a new user namespace needs no privilege, and gives its first process every capability inside); " +
		"writing id maps needs CAP_SETUID/CAP_SETGID in the parent user namespace (and CAP_SETFCAP there for a map of its uid 0), " +
		"every id mapped must exist in the parent; " +
		"and a chrooted caller (root directory not its mount namespace's root) may not create a user namespace at all"},
	{Errno: unix.ENOMEM, Rule: "the PID namespace this child would enter has lost its init (PID 1 exited), so the kernel lets no " +
		"new process into it"},
	{Errno: unix.EINVAL, Rule: "the kernel refused the clone flags (a namespace type this kernel lacks, or a combination such as a new user namespace with CLONE_FS sharing, or a time namespace for a child of a threaded parent)"},
	{Errno: unix.ENOSPC, Rule: "the limit on nested namespaces was reached (/proc/sys/user/max_*_namespaces; or the depth: a PID namespace at most 32 levels below the initial one, a user namespace at most 33, since the kernel refuses a new one under a parent at level 33)"},
	{Errno: unix.EUSERS, Rule: "the limit of 32 nested user namespaces was reached"},
	{Errno: unix.EAGAIN, Rule: "the process limit (RLIMIT_NPROC or a pids cgroup) was reached"},
	{Errno: unix.ENOENT, Rule: "no such program (or its interpreter or dynamic loader is missing)"},
	{Errno: unix.EACCES, Rule: "the program is not executable, or its filesystem is mounted noexec"},
	{Errno: unix.ENOTTY, Rule: "a controlling terminal was asked for, and the child's stdin is not a terminal"},
}

// Exe is the binary re-executed for children that run nsh code: its real
// path when that is the running binary (so children are named "nsh" in ps,
// not "exe"), else /proc/self/exe. Empty until the first re-execution
// needs it (exe): a start-up that starts no child does not look (tests may
// set it).
var Exe string

// exe is Exe, found on first use.
func exe() string {
	if Exe == "" {
		Exe = exePath()
	}
	return Exe
}

func exePath() string {
	const self = "/proc/self/exe"
	p, err := os.Executable()
	if err != nil {
		return self
	}
	a, err1 := os.Stat(p)
	b, err2 := os.Stat(self)
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		return self
	}
	return p
}

// Start forks a child from the calling thread (so it inherits the thread's
// namespaces) into the new namespaces of spec. A program with no set-up
// steps is executed directly; one whose set-up compiles to raw ops (a
// hostname, a container's mounts and protections, ids, a held start) is
// started by nsproc's own clone3 child without a second Go runtime
// (rawstart.go); anything else that needs nsh code in the child (a Lua
// function, join=, the steps without raw ops) re-executes nsh first.
func Start(spec Spec) (*Process, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec.Defaults()
	if len(spec.SetTID) > 0 {
		return startSetTID(spec)
	}
	if spec.needsReexec() {
		if b := spec.rawProgram(spec.Stdin); b != nil {
			return startRaw(spec, b)
		}
	}
	p := &Process{Argv: spec.Argv, Types: spec.Types, done: make(chan struct{}), held: spec.Hold, OwnPgroup: spec.OwnPgroup && !spec.Setsid && !spec.Ctty}
	var cmd *exec.Cmd
	var ctlChild, resChild *os.File
	var msg *childMsg
	if spec.needsReexec() {
		msg = &childMsg{Argv: spec.Argv, Env: spec.Env, Dir: spec.Dir, Setup: spec.Setup, UID: spec.UID, GID: spec.GID, Payload: spec.Payload, Pdeath: !spec.NoPdeath, Created: spec.Types}
		if len(spec.Argv) > 0 {
			path, err := lookPath(spec.Argv[0], spec.Setup)
			if err != nil {
				return nil, err
			}
			msg.Argv = append([]string{path}, spec.Argv[1:]...)
		}
		cmd = exec.Command(exe(), ChildFlag)
		cmd.Args[0] = "nsh"
		if len(spec.Argv) > 0 {
			cmd.Args = append(cmd.Args, filepath.Base(spec.Argv[0]))
		}
		var err error
		var ctlParent, resParent *os.File
		if ctlChild, ctlParent, err = ctlPair(); err != nil {
			return nil, err
		}
		p.serve = len(msg.Argv) == 0 // a payload child keeps the channel (Keep)
		if resParent, resChild, err = os.Pipe(); err != nil {
			ctlChild.Close()
			ctlParent.Close()
			return nil, err
		}
		p.ctl, p.res = ctlParent, resParent
		cmd.ExtraFiles = []*os.File{ctlChild, resChild}
		cmd.Env = append(os.Environ(), spec.NshEnv...)
		if len(msg.Argv) > 0 {
			for _, kv := range spec.NshEnv {
				name, _, _ := strings.Cut(kv, "=")
				msg.UnsetEnv = append(msg.UnsetEnv, name)
			}
		}
		// One P: the Go runtime of the child starts one thread fewer
		// (each takes a PID in a new PID namespace). A GOMAXPROCS the
		// user set is left alone.
		if _, set := os.LookupEnv("GOMAXPROCS"); !set {
			cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
			msg.UnsetEnv = append(msg.UnsetEnv, "GOMAXPROCS")
		}
		if kv := nofileEnvFor(); kv != "" {
			cmd.Env = append(cmd.Env, kv)
		}
		msg.UnsetEnv = append(msg.UnsetEnv, nofileEnv)
	} else {
		path := spec.Path
		if path == "" {
			var err error
			if path, err = lookPath(spec.Argv[0], spec.Setup); err != nil {
				return nil, err
			}
		}
		cmd = exec.Command(path, spec.Argv[1:]...)
		cmd.Args[0] = spec.Argv[0]
		cmd.Env = spec.Env
		cmd.Dir = spec.Dir
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = orStd(spec.Stdin, os.Stdin), orStd(spec.Stdout, os.Stdout), orStd(spec.Stderr, os.Stderr)

	attr := &syscall.SysProcAttr{Cloneflags: spec.Types.Flags()}
	if !NoPdeathsig(spec) {
		attr.Pdeathsig = syscall.SIGKILL
	}
	if spec.OwnPgroup && !spec.Setsid && !spec.Ctty {
		attr.Setpgid = true
	}
	if spec.Setsid || spec.Ctty {
		// setsid(2) in the child, then TIOCSCTTY on its fd 0 (a session
		// leader may not also setpgid: EPERM)
		attr.Setsid, attr.Setctty, attr.Ctty = true, spec.Ctty, 0
	}
	if len(spec.UIDMap) > 0 {
		attr.UidMappings = toSys(spec.UIDMap)
	}
	if len(spec.GIDMap) > 0 {
		attr.GidMappings = toSys(spec.GIDMap)
		attr.GidMappingsEnableSetgroups = spec.Setgroups == "allow"
	}
	// Credentials set before exec: the ids the new user namespace maps
	// (MapUID/MapGID), and, for a program executed directly, the uid/gid
	// asked for. A re-executed nsh applies the asked-for ids itself, after
	// its set-up steps, which may need root. (They cannot wait until after
	// exec when a user namespace is new: execve as an unmapped uid drops
	// every capability.)
	uid, gid := spec.MapUID, spec.MapGID
	if !spec.needsReexec() {
		if spec.UID != nil {
			uid = spec.UID
		}
		if spec.GID != nil {
			gid = spec.GID
		}
	}
	if uid != nil || gid != nil {
		cred := &syscall.Credential{NoSetGroups: true, Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
		if uid != nil {
			cred.Uid = uint32(*uid)
		}
		if gid != nil {
			cred.Gid = uint32(*gid)
		}
		attr.Credential = cred
		if spec.Types.Has(User) {
			if err := spec.checkCredMaps(int(cred.Uid), int(cred.Gid)); err != nil {
				closeAll(ctlChild, resChild, p.ctl, p.res)
				return nil, err
			}
		}
	}
	if msg != nil && spec.Types.Has(User) {
		attr.AmbientCaps = keepCapsThroughReexec()
		msg.DropAmbient = len(attr.AmbientCaps) > 0
	}
	if spec.CgroupFD > 0 {
		attr.UseCgroupFD = true
		attr.CgroupFD = spec.CgroupFD
	}
	cmd.SysProcAttr = attr

	p.Start = time.Now()
	var err error
	if len(spec.Join) > 0 {
		err = forkOnFreshThread(spec.Join, cmd, p.done)
	} else {
		err = cmd.Start()
	}
	if ctlChild != nil {
		ctlChild.Close()
		resChild.Close()
	}
	if err != nil {
		if p.ctl != nil {
			p.ctl.Close()
			p.res.Close()
		}
		return nil, startErr(spec, err)
	}
	p.cmd = cmd
	p.Pid = cmd.Process.Pid
	ownChildren.add(p.Pid)
	p.openPidfd()
	go p.reap()
	if msg != nil {
		if err := writeFrame(p.ctl, msg); err != nil {
			p.abort()
			return p, fmt.Errorf("sending set-up to child %d: %v", p.Pid, err)
		}
		if !spec.Hold {
			if err := p.Release(); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}

func lookPath(prog string, setup Setup) (string, error) {
	if filepath.IsAbs(prog) || len(setup.Steps) > 0 {
		// with set-up steps (a new root, say) the path is resolved
		// in the child's own filesystem
		return prog, nil
	}
	path, err := exec.LookPath(prog)
	if err != nil {
		return "", fmt.Errorf("program %q not found in PATH (%s)", prog, os.Getenv("PATH"))
	}
	return path, nil
}

func startErr(spec Spec, err error) error {
	call := fmt.Sprintf("clone(%s) + exec(%q)", spec.Types, spec.Argv)
	if spec.Types.Empty() {
		call = fmt.Sprintf("fork + exec(%q)", spec.Argv)
	}
	if len(spec.Argv) == 0 {
		call = fmt.Sprintf("clone(%s) of a child nsh", spec.Types)
	}
	var errno unix.Errno
	if errors.As(err, &errno) && (len(spec.UIDMap) > 0 || len(spec.GIDMap) > 0) && !OwnProc() {
		// Go wrote the maps into whichever process has the child's
		// number in this /proc: ENOENT when none, EPERM or EINVAL when
		// another one.
		return kerr.New(call, err, kerr.Rules{{Errno: errno, Rule: ForeignProcRule}})
	}
	if errors.As(err, &errno) && (len(spec.UIDMap) > 0 || len(spec.GIDMap) > 0) {
		if e := mapErr(spec, errno); e != nil {
			return e
		}
	}
	if errors.Is(err, unix.EPERM) && spec.Types.Has(User) && !OwnIDsMapped() {
		return kerr.New(call, err, kerr.Rules{{Errno: unix.EPERM, Rule: UnmappedRule}})
	}
	if errors.Is(err, unix.EINVAL) && spec.Types.Has(User) {
		return &kerr.Error{Call: call, Errno: unix.EINVAL, Rule: "the kernel refused the clone, or the child's switch of ids before exec: " +
			"setuid/setgid to an id the new user namespace does not map"}
	}
	return kerr.New(call, err, cloneRules)
}

// UnmappedRule is clone(2)'s EPERM for a new user namespace whose creator's
// ids are not mapped (user_namespaces(7)).
const UnmappedRule = "a process whose uid or gid has no mapping in its own user namespace cannot create a nested user " +
	"namespace (clone(2), unshare(2): EPERM; an unmapped id shows as the overflow id 65534); this process's user namespace " +
	"was given no uid_map/gid_map, or one that does not map its ids"

// ForeignProcRule explains ENOENT from writing a child's id maps in a PID
// namespace whose /proc is another namespace's.
const ForeignProcRule = "the id maps are written to /proc/PID/uid_map with the PID this process's PID namespace gave the child, " +
	"but this /proc was mounted by another PID namespace, which numbers processes differently (a procfs shows the PIDs of the " +
	"PID namespace that mounted it)"

// OwnProc reports whether /proc numbers processes as this process's PID
// namespace does (it was mounted there).
func OwnProc() bool {
	self, err := os.Readlink("/proc/self")
	return err != nil || self == strconv.Itoa(os.Getpid())
}

// OwnIDsMapped reports whether this process's effective uid and gid have a
// mapping in its user namespace (the condition for creating a nested one).
func OwnIDsMapped() bool {
	return idMapped("/proc/self/uid_map", os.Geteuid()) && idMapped("/proc/self/gid_map", os.Getegid())
}

func idMapped(file string, id int) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return true // cannot tell: do not claim otherwise
	}
	for _, line := range strings.Split(string(b), "\n") {
		var in, out, n int64
		if _, err := fmt.Sscan(line, &in, &out, &n); err == nil && int64(id) >= in && int64(id) < in+n {
			return true
		}
	}
	return false
}

// ctlPair is the control channel: a stream socket pair, since a payload
// child also answers requests on it (Keep) after its go-ahead. The
// parent's end is non-blocking (Go's poller: deadlines work).
func ctlPair() (child, parent *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, kerr.New("socketpair(AF_UNIX, SOCK_STREAM)", err, nil)
	}
	unix.SetNonblock(fds[1], true)
	return os.NewFile(uintptr(fds[0]), "nsh-ctl-child"), os.NewFile(uintptr(fds[1]), "nsh-ctl"), nil
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// NoPdeathsig says whether a child started from spec goes without a
// parent-death signal (SIGKILL when the forking thread ends). It does when
// spec asks for that (NoPdeath), and when the child lands in a PID namespace
// where its parent has no number: a joined PID namespace (Join["pid"]), or
// the calling thread's pid_for_children after unshare or setns of "pid".
// Go's child compares getppid() with the parent's pid after setting the
// signal and kills itself when they differ, and getppid() is 0 there. Only
// that namespace's init would survive (its own namespace cannot kill it);
// the init, which has the signal, takes the others down with it.
func NoPdeathsig(spec Spec) bool {
	_, joinsPid := spec.Join["pid"]
	return spec.NoPdeath || joinsPid || childrenInOtherPidNS()
}

// childrenInOtherPidNS: the calling thread forks into another PID namespace
// than its own (after unshare or setns of "pid").
func childrenInOtherPidNS() bool {
	own, err1 := Inode(NSPath(0, "pid"))
	kids, err2 := Inode(NSPath(0, "pid_for_children"))
	return err1 == nil && err2 == nil && own != kids
}
