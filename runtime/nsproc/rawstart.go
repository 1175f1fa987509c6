package nsproc

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// The raw start: a program whose set-up steps all compile to raw ops
// (rawops.go) is started without re-executing nsh. The parent compiles
// the set-up (hostname, the registered steps such as a container's mounts
// and protections, the change of ids, the parent-death signal, the working
// directory), forks with clone3Child, writes the child's id maps while it
// waits, gives the go-ahead (at once, or at Release for a held start), and
// the child runs the ops and executes the program. A failed op comes back
// on the status pipe as (op, errno); the parent prints and keeps the error
// the Go step would have given (Explain), as a re-executed child does.
// What the ops cannot do falls back to the re-execution (rawProgram).

// ForceReexecEnv names the environment variable that, set to 1, makes
// every start that needs set-up steps re-execute nsh (the old path), so
// that both can be compared.
const ForceReexecEnv = "NSH_REEXEC_CHILD"

// ForceReexec makes every start re-execute nsh, as ForceReexecEnv does
// (for tests in this process).
var ForceReexec bool

// rawProgram compiles the child's part of spec into raw ops, or says why
// it re-executes nsh instead (nil): a Lua function, namespaces to join, a
// new session or terminal, a step without a raw compiler (the lab's etc
// step), one whose compiler refuses, or an nsh that is not dumpable.
func (s *Spec) rawProgram(stdin *os.File) *RawBuilder {
	if ForceReexec || os.Getenv(ForceReexecEnv) == "1" || len(s.Argv) == 0 || len(s.Join) > 0 ||
		len(s.SetTID) > 0 || s.Setsid || s.Ctty || len(s.Payload) > 0 {
		return nil
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		return nil
	}
	if _, ok := origNofile(); !ok {
		return nil
	}
	// An nsh that changed its ids (a Lua function's child that took uid=)
	// is not dumpable: the kernel keeps what it held before from its new
	// uid. A child copying or sharing that memory would have to be made
	// dumpable for nsh (same uid) to write its id maps, which would open
	// the old memory to the new uid's ptrace until the execve; a
	// re-executed nsh has only fresh memory by then.
	if d, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); d != 1 {
		return nil
	}
	b := &RawBuilder{}
	// the order of ChildMain: hostname, domainname, steps, ids, parent-death signal, directory
	if h := s.Setup.Hostname; h != "" {
		b.Call(errAs(fmt.Sprintf("sethostname(%q)", h), utsRules), unix.SYS_SETHOSTNAME, b.Str(h), uintptr(len(h)))
	}
	if d := s.Setup.Domainname; d != "" {
		b.Call(errAs(fmt.Sprintf("setdomainname(%q)", d), utsRules), unix.SYS_SETDOMAINNAME, b.Str(d), uintptr(len(d)))
	}
	for _, st := range s.Setup.Steps {
		fn, ok := rawSteps[st.Name]
		if !ok {
			return nil
		}
		if err := fn(st.Args, b, RawEnv{Stdin: orStd(stdin, os.Stdin)}); err != nil {
			return nil
		}
	}
	if s.GID != nil {
		b.Call(errAs("setgroups([])", nil), unix.SYS_SETGROUPS, 0, 0).Tolerate(unix.EPERM)
		b.Call(errAs(fmt.Sprintf("setgid(%d)", *s.GID), credRules), unix.SYS_SETGID, uintptr(*s.GID))
	}
	if s.UID != nil {
		b.Call(errAs(fmt.Sprintf("setuid(%d)", *s.UID), credRules), unix.SYS_SETUID, uintptr(*s.UID))
	}
	if !s.NoPdeath {
		b.pdeath(func(e syscall.Errno, x uint64) error {
			if x == 1 {
				return kerr.New("ppoll (is the parent alive?)", e, nil)
			}
			return kerr.New("prctl(PR_SET_PDEATHSIG)", e, nil)
		})
	}
	if s.Dir != "" {
		b.Call(errAs(fmt.Sprintf("chdir(%q)", s.Dir), nil), unix.SYS_CHDIR, b.Str(s.Dir))
	}
	return b
}

// errAs is an Explain giving kerr.New(call, errno, rules).
func errAs(call string, rules kerr.Rules) Explain {
	return func(e syscall.Errno, _ uint64) error { return kerr.New(call, e, rules) }
}

// ErrAs is errAs for the step compilers of other packages.
func ErrAs(call string, rules kerr.Rules) Explain { return errAs(call, rules) }

// rawChild is what the parent keeps of a raw start until the child has
// executed its program or failed.
type rawChild struct {
	status int // read end of the status pipe
	aliveW int // the write end of the alive pipe: closed once the child no longer looks
	b      *RawBuilder
	stderr *os.File
	path   string
	pl     *clone3Plan // the child reads it (and with CLONE_VM runs on its stack) until it executed
	files  []*os.File
}

// startRaw starts spec's program with the raw set-up b.
func startRaw(spec Spec, b *RawBuilder) (*Process, error) {
	path, err := lookPath(spec.Argv[0], spec.Setup)
	if err != nil {
		return nil, err
	}
	argv := append([]string{path}, spec.Argv[1:]...)
	env := spec.Env
	if env == nil {
		env = os.Environ()
	}
	files := []*os.File{orStd(spec.Stdin, os.Stdin), orStd(spec.Stdout, os.Stdout), orStd(spec.Stderr, os.Stderr)}
	pl := &clone3Plan{pdeath: !spec.NoPdeath, pgroup: spec.OwnPgroup, code: 127, ops: b.ops, mapUID: -1, mapGID: -1}
	pl.capHdr.Version = unix.LINUX_CAPABILITY_VERSION_3
	pl.rlim, _ = origNofile()
	pl.args.flags = uint64(spec.Types.Flags())
	pl.args.exitSignal = uint64(syscall.SIGCHLD)
	if spec.CgroupFD > 0 {
		pl.args.flags |= unix.CLONE_INTO_CGROUP
		pl.args.cgroup = uint64(spec.CgroupFD)
	}
	for i, f := range files {
		pl.fd[i] = int(f.Fd())
	}
	if pl.argv0, err = syscall.BytePtrFromString(path); err != nil {
		return nil, err
	}
	if pl.argv, err = syscall.SlicePtrFromStrings(argv); err != nil {
		return nil, err
	}
	if pl.envv, err = syscall.SlicePtrFromStrings(env); err != nil {
		return nil, err
	}
	pl.mapSync = len(spec.UIDMap) > 0 || len(spec.GIDMap) > 0
	if spec.MapUID != nil || spec.MapGID != nil {
		// one Credential, as Start gives Go: the id not asked for is the caller's
		pl.mapUID, pl.mapGID = os.Getuid(), os.Getgid()
		if spec.MapUID != nil {
			pl.mapUID = *spec.MapUID
		}
		if spec.MapGID != nil {
			pl.mapGID = *spec.MapGID
		}
		if spec.Types.Has(User) {
			if err := spec.checkCredMaps(pl.mapUID, pl.mapGID); err != nil {
				return nil, err
			}
		}
	}
	if (pl.mapUID >= 0 || pl.mapGID >= 0) && !pl.mapSync {
		pl.mapSync = true // the ids are taken after the (empty) maps step, as Go does
	}

	// Dumpability belongs to the memory (the kernel's mm), and a change of
	// ids clears it: a child sharing nsh's memory that takes ids would make
	// nsh itself undumpable. Such a child is a plain fork.
	changesIDs := pl.mapUID >= 0 || pl.mapGID >= 0 || spec.UID != nil || spec.GID != nil
	if vmClone && !changesIDs {
		pl.stack = make([]byte, 64<<10)
		pl.args.flags |= unix.CLONE_VM
		pl.args.stack = uint64(uintptr(unsafe.Pointer(&pl.stack[0])))
		pl.args.stackSize = uint64(len(pl.stack))
	}
	var status, alive, goPipe [2]int
	if err := pipes(&status, &alive, &goPipe); err != nil {
		return nil, kerr.New("pipe2", err, nil)
	}
	pl.status, pl.aliveR, pl.aliveW = status[1], alive[0], alive[1]
	pl.goR, pl.goW = goPipe[0], goPipe[1]

	p := &Process{Argv: spec.Argv, Types: spec.Types, done: make(chan struct{}), held: spec.Hold, OwnPgroup: spec.OwnPgroup}
	p.Start = time.Now()
	syscall.ForkLock.Lock()
	pid, errno := clone3Exec(pl)
	syscall.ForkLock.Unlock()
	runtime.KeepAlive(b)
	runtime.KeepAlive(files)
	runtime.KeepAlive(pl)
	syscall.Close(status[1])
	syscall.Close(alive[0])
	syscall.Close(goPipe[0])
	fail := func(err error) (*Process, error) {
		syscall.Kill(int(pid), syscall.SIGKILL)
		var ws syscall.WaitStatus
		for {
			if _, e := syscall.Wait4(int(pid), &ws, 0, nil); e != syscall.EINTR {
				break
			}
		}
		syscall.Close(status[0])
		syscall.Close(alive[1])
		syscall.Close(goPipe[1])
		return nil, err
	}
	if errno == 0 && pl.pgroup {
		// as a shell does: the group exists when Start returns, whether or
		// not the child got to its own setpgid (the terminal is handed to it next)
		syscall.Setpgid(int(pid), int(pid))
	}
	if errno != 0 {
		syscall.Close(status[0])
		syscall.Close(alive[1])
		syscall.Close(goPipe[1])
		return nil, startErr(spec, errno)
	}
	if pl.mapSync {
		if e := writeMapsRaw(int(pid), spec); e != 0 {
			return fail(startErr(spec, e))
		}
		if _, err := syscall.Write(goPipe[1], []byte{'M'}); err != nil {
			return fail(startErr(spec, err))
		}
		if pl.mapUID >= 0 || pl.mapGID >= 0 {
			// Go's start returns once the child took its ids: so does this one
			var f childFailure
			n, _ := readFull(status[0], (*[unsafe.Sizeof(f)]byte)(unsafe.Pointer(&f))[:])
			if n != int(unsafe.Sizeof(f)) || f.step != stepReady {
				if n != int(unsafe.Sizeof(f)) {
					f.errno = uint32(syscall.EPIPE)
				}
				return fail(startErr(spec, syscall.Errno(f.errno)))
			}
		}
	}
	if p.osp, err = os.FindProcess(int(pid)); err != nil {
		return fail(err)
	}
	p.Pid = int(pid)
	p.ctl = os.NewFile(uintptr(goPipe[1]), "nsh-go-ahead")
	// the child's stderr, for its error: the caller may close its file once Start returns
	errFD, err := unix.FcntlInt(files[2].Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return fail(kerr.New("fcntl(stderr, F_DUPFD_CLOEXEC)", err, nil))
	}
	p.raw = &rawChild{status: status[0], aliveW: alive[1], b: b, stderr: os.NewFile(uintptr(errFD), "stderr"), path: path, pl: pl, files: files}
	ownChildren.add(p.Pid)
	p.openPidfd()
	go p.reap()
	if !spec.Hold {
		if err := p.Release(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// pipes makes close-on-exec pipes whose descriptors are all above 2, so
// that the child's dup of stdio onto 0, 1, 2 cannot hit them.
func pipes(ps ...*[2]int) error {
	for i, p := range ps {
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			for _, q := range ps[:i] {
				syscall.Close(q[0])
				syscall.Close(q[1])
			}
			return err
		}
		for j, fd := range p {
			if fd < 3 {
				nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
				syscall.Close(fd)
				if err != nil {
					return err
				}
				p[j] = nfd
			}
		}
	}
	return nil
}

// writeMapsRaw writes the child's id maps as Go's start does
// (syscall.writeUidGidMappings): uid_map, then setgroups, then gid_map; it
// gives the errno as Go's start returns it.
func writeMapsRaw(pid int, spec Spec) syscall.Errno {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	write := func(file, text string) syscall.Errno {
		fd, err := syscall.Open(dir+file, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if err != nil {
			return err.(syscall.Errno)
		}
		defer syscall.Close(fd)
		if _, err := syscall.Write(fd, []byte(text)); err != nil {
			return err.(syscall.Errno)
		}
		return 0
	}
	if len(spec.UIDMap) > 0 {
		if e := write("uid_map", mapText(spec.UIDMap)); e != 0 {
			return e
		}
	}
	if len(spec.GIDMap) > 0 {
		v := "deny"
		if spec.Setgroups == "allow" {
			v = "allow"
		}
		if e := write("setgroups", v); e != 0 && e != syscall.ENOENT {
			return e
		}
		if e := write("gid_map", mapText(spec.GIDMap)); e != 0 {
			return e
		}
	}
	return 0
}

func mapText(m []IDMap) string {
	var sb strings.Builder
	for _, l := range m {
		fmt.Fprintf(&sb, "%d %d %d\n", l.Inside, l.Outside, l.Count)
	}
	return sb.String()
}

// watch waits until the child executed its program (the status pipe closes)
// or failed; a failure is printed on the child's stderr and returned as
// ChildMain reports it: the error of a set-up step, or "" for a failed
// execve (which a re-executed child only prints).
func (r *rawChild) watch() string {
	var f childFailure
	n, _ := readFull(r.status, (*[unsafe.Sizeof(f)]byte)(unsafe.Pointer(&f))[:])
	syscall.Close(r.status)
	syscall.Close(r.aliveW)
	runtime.KeepAlive(r.pl)
	runtime.KeepAlive(r.files)
	defer r.stderr.Close()
	if n == 0 {
		return ""
	}
	var err error
	errno := unix.Errno(f.errno)
	switch {
	case n != int(unsafe.Sizeof(f)):
		err = fmt.Errorf("the child's report was cut short")
	case f.step == stepExec:
		fmt.Fprintln(r.stderr, "nsh child:", kerr.New(fmt.Sprintf("execve(%q)", r.path), errno, execRules))
		return ""
	case f.step == stepOp && int(f.op) < len(r.b.explain) && r.b.explain[f.op] != nil:
		err = r.b.explain[f.op](errno, f.extra)
	default:
		err = childFailure{step: f.step, errno: f.errno}.err(Spec{}, r.path)
	}
	fmt.Fprintln(r.stderr, "nsh child:", err)
	return err.Error()
}

// nofileEnv carries origNofile to a re-executed nsh ("CUR:MAX"), which
// sees only the limit its own Go runtime raised again.
const nofileEnv = "NSH_ORIG_NOFILE"

// nofileEnvFor is the nofileEnv entry for a re-executed child, "" when
// Go raised nothing.
func nofileEnvFor() string {
	lim, ok := origNofile()
	if !ok || lim == nil {
		return ""
	}
	return fmt.Sprintf("%s=%d:%d", nofileEnv, lim.Cur, lim.Max)
}

// origNofile is the soft RLIMIT_NOFILE nsh was started with, which Go's own
// start restores in every child before execve and the raw start must too
// (Go raised it to the hard limit minus one for itself, and keeps the
// original where no other package can read it). nil when Go left it alone.
// When it did, the original is read once from a child of Go's own start,
// stopped at its execve (ptrace) before it runs; false if that fails (the
// raw start is then not used).
var origNofile = sync.OnceValues(func() (*syscall.Rlimit, bool) {
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err != nil {
		return nil, false
	}
	if v, ok := os.LookupEnv(nofileEnv); ok {
		// a re-executed nsh: its parent knew it (no probe, which would
		// take a PID in the child's namespace)
		var lim syscall.Rlimit
		if _, err := fmt.Sscanf(v, "%d:%d", &lim.Cur, &lim.Max); err == nil && lim.Cur <= lim.Max {
			if lim == cur || lim.Max != cur.Max {
				return nil, true
			}
			return &lim, true
		}
	}
	if cur.Max == 0 || cur.Cur != cur.Max-1 {
		return nil, true // Go raised nothing (it sets exactly max-1)
	}
	pid, err := syscall.ForkExec("/proc/self/exe", []string{"nsh-rlimit-probe"}, &syscall.ProcAttr{Sys: &syscall.SysProcAttr{Ptrace: true}})
	if err != nil {
		return nil, false
	}
	defer func() {
		syscall.Kill(pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		for {
			if _, e := syscall.Wait4(pid, &ws, syscall.WALL, nil); e != syscall.EINTR {
				break
			}
		}
	}()
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WALL, nil); err != nil || !ws.Stopped() {
		return nil, false
	}
	var lim syscall.Rlimit
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_NOFILE, 0, uintptr(unsafe.Pointer(&lim)), 0, 0); e != 0 {
		return nil, false
	}
	if lim == cur {
		return nil, true
	}
	return &lim, true
})
