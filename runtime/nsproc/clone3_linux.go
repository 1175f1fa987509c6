package nsproc

import (
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A start with set_tid: clone3(2) with a chosen PID per PID namespace level,
// then execve(2), as checkpoint/restore tools start a restored process. Go's
// syscall.ForkExec calls clone3 but has no set_tid, so nsproc forks itself,
// the way the standard library does (syscall.forkAndExecInChild1 in
// $GOROOT/src/syscall/exec_linux.go): everything the child needs is
// prepared in the parent; between clone3 and execve the child runs only
// nosplit code that makes raw system calls (no allocation, no locks, no
// stack growth: the child is a copy of one thread of a process whose other
// threads may have held any lock), framed by the runtime's own fork hooks.
//
// Unlike Go's start it does a plain fork (no CLONE_VM|CLONE_VFORK): sharing
// the parent's memory needs Go's assembly (rawVforkSyscall), which is not
// exported. The child has its own copy of the memory, so it may write its
// plan; the cost is a copy of the page tables.

// The runtime's fork hooks, on Go's list of names kept for linkname
// (go.dev/issue/67401; gVisor pulls them the same way): BeforeFork blocks
// signals and poisons the stack guard (any stack growth in the child
// crashes instead of corrupting), AfterFork undoes that in the parent,
// AfterForkInChild resets handled signals to SIG_DFL and restores the
// signal mask in the child.

//go:linkname runtimeBeforeFork syscall.runtime_BeforeFork
func runtimeBeforeFork()

//go:linkname runtimeAfterFork syscall.runtime_AfterFork
func runtimeAfterFork()

//go:linkname runtimeAfterForkInChild syscall.runtime_AfterForkInChild
func runtimeAfterForkInChild()

// cloneArgs is the kernel's struct clone_args (linux/sched.h), up to
// cgroup (CLONE_ARGS_SIZE_VER2, 88 bytes).
type cloneArgs struct {
	flags      uint64
	pidFD      uint64
	childTID   uint64
	parentTID  uint64
	exitSignal uint64
	stack      uint64
	stackSize  uint64
	tls        uint64
	setTID     uint64 // pointer to a pid_t array, innermost namespace first (since Linux 5.5)
	setTIDSize uint64
	cgroup     uint64
}

// The steps of the child, as it reports a failure to the parent.
const (
	stepPgid = iota + 1
	stepPdeath
	stepAlive
	stepDup
	stepChdir
	stepExec
	stepMapCred // setgid/setuid to the ids a new user namespace maps (raw set-up)
	stepOp      // an op of the raw set-up: fail.op is its index
	stepReady   // not a failure: the child took the ids its maps give (raw set-up)
)

// childFailure is what a child that failed writes on the status pipe: the
// step and the errno.
type childFailure struct {
	step  uint32
	errno uint32
	op    uint32 // stepOp: the index of the op
	_     uint32
	extra uint64 // stepOp: the op's number (see Explain)
}

// clone3Plan is everything the child needs, made by the parent before the
// fork (the child may not allocate).
type clone3Plan struct {
	args   cloneArgs
	argv0  *byte
	argv   []*byte // NULL-terminated
	envv   []*byte // NULL-terminated
	dir    *byte   // nil: stay
	fd     [3]int  // to become 0, 1, 2
	status int     // write end of the status pipe (close-on-exec)
	aliveR int     // read end of a pipe whose only writer is the parent
	aliveW int     // the child's copy of its write end (closed first)
	pdeath bool    // PR_SET_PDEATHSIG(SIGKILL)
	pgroup bool    // setpgid(0, 0)
	fail   childFailure
	code   uintptr // exit code after a failed step (0: 253)

	// The raw set-up of a container (rawstart.go); goR is 0 without one.
	goR, goW       int  // the go-ahead pipe: the child waits for a byte (EOF: give up); goW is the child's copy of the parent's end
	mapSync        bool // one byte on goR first says the parent wrote the id maps
	mapUID, mapGID int  // >= 0: take these ids once the maps are written (SysProcAttr.Credential)
	ops            []rawOp
	reg            uintptr // the descriptor an op saved (SaveFD)
	capHdr         unix.CapUserHeader
	capData        [2]unix.CapUserData
	rlim           *syscall.Rlimit // the soft RLIMIT_NOFILE nsh started with, restored before execve as Go's start does (nil: leave it)
	rlimNow        syscall.Rlimit
	buf            [1]byte
	// stack: the child shares nsh's memory (CLONE_VM) and runs on this
	// (rawClone3VM); nil: a plain fork. It and everything the plan points
	// at stay alive until the child executed or ended.
	stack []byte
}

// clone3Exec forks with clone3 and, in the child, runs the plan up to
// execve. It returns in the parent only: the child's pid, or the errno of
// clone3. The caller holds syscall.ForkLock.
//
//go:noinline
//go:norace
//go:nocheckptr
func clone3Exec(pl *clone3Plan) (pid uintptr, err syscall.Errno) {
	pid, err = clone3Child(pl)
	runtimeAfterFork()
	return pid, err
}

// clone3Child is the child's whole life before execve, in the frame that
// called clone3 (like forkAndExecInChild1). In the parent it returns at
// once with the result of clone3.
//
//go:noinline
//go:norace
//go:nocheckptr
//go:nosplit
func clone3Child(pl *clone3Plan) (pid uintptr, err1 syscall.Errno) {
	runtimeBeforeFork()
	if pl.stack != nil {
		// the raw set-up: memory shared, the child on a stack of its own
		var e uintptr
		pid, e = rawClone3VM(uintptr(unsafe.Pointer(&pl.args)), unsafe.Sizeof(pl.args), uintptr(unsafe.Pointer(pl)))
		return pid, syscall.Errno(e)
	}
	pid, _, err1 = syscall.RawSyscall(sysClone3, uintptr(unsafe.Pointer(&pl.args)), unsafe.Sizeof(pl.args), 0)
	if err1 != 0 || pid != 0 {
		return // the parent, or a failed clone3
	}
	childRun(pl)
	return
}

// childRun is the child's life up to execve (it never returns): on the
// parent's stack, copied, after a fork; on a stack of its own
// (rawClone3VM) when it shares the parent's memory.
//
//go:noinline
//go:norace
//go:nocheckptr
//go:nosplit
func childRun(pl *clone3Plan) {
	var (
		i      int
		nextfd int
		pfd    pollFd
		zero   [2]int64 // struct timespec {0, 0}: ppoll does not wait
		err1   syscall.Errno
	)
	// In the child.
	if pl.pgroup {
		pl.fail.step = stepPgid
		if _, _, err1 = syscall.RawSyscall(syscall.SYS_SETPGID, 0, 0, 0); err1 != 0 {
			goto childerror
		}
	}
	runtimeAfterForkInChild()

	if pl.pdeath {
		// Like nsh's other children: SIGKILL when the thread that forked
		// it ends. The parent may have died before this: its end of the
		// alive pipe is then closed, and with the child's own copy closed
		// no writer is left (POLLHUP). getppid() could not tell: it is 0
		// for a parent outside the child's PID namespace, alive or not.
		pl.fail.step = stepPdeath
		if _, _, err1 = syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0); err1 != 0 {
			goto childerror
		}
		pl.fail.step = stepAlive
		syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(pl.aliveW), 0, 0)
		pfd.fd, pfd.events = int32(pl.aliveR), pollIn
		if _, _, err1 = syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&zero[0])), 0, 0, 0); err1 != 0 {
			goto childerror
		}
		if pfd.revents&pollHup != 0 {
			for {
				syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 253, 0, 0)
			}
		}
	}

	// stdio, as Go does it: first move any fd[i] < i above all of them
	// (and the status pipe above them too), then dup each onto i.
	pl.fail.step = stepDup
	nextfd = pl.status
	for i = 0; i < 3; i++ {
		if pl.fd[i] > nextfd {
			nextfd = pl.fd[i]
		}
	}
	nextfd++
	if pl.status < 3 {
		if _, _, err1 = syscall.RawSyscall(syscall.SYS_DUP3, uintptr(pl.status), uintptr(nextfd), syscall.O_CLOEXEC); err1 != 0 {
			goto childerror
		}
		pl.status = nextfd
		nextfd++
	}
	for i = 0; i < 3; i++ {
		if pl.fd[i] < i {
			if _, _, err1 = syscall.RawSyscall(syscall.SYS_DUP3, uintptr(pl.fd[i]), uintptr(nextfd), syscall.O_CLOEXEC); err1 != 0 {
				goto childerror
			}
			pl.fd[i] = nextfd
			nextfd++
		}
	}
	for i = 0; i < 3; i++ {
		if pl.fd[i] == i {
			// dup3(i, i) is EINVAL: clear close-on-exec instead
			if _, _, err1 = syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(i), syscall.F_SETFD, 0); err1 != 0 {
				goto childerror
			}
			continue
		}
		if _, _, err1 = syscall.RawSyscall(syscall.SYS_DUP3, uintptr(pl.fd[i]), uintptr(i), 0); err1 != 0 {
			goto childerror
		}
	}

	if pl.goR > 0 {
		// The raw set-up: wait until the parent wrote the id maps (as
		// Go's own child waits for UidMappings), take the ids they give,
		// wait for the go-ahead (a held start: links, cgroups), then run
		// the ops.
		syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(pl.goW), 0, 0)
		if pl.mapSync {
			if !readByte(pl) {
				for {
					syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 125, 0, 0)
				}
			}
			pl.fail.step = stepMapCred
			if pl.mapGID >= 0 {
				if _, _, err1 = syscall.RawSyscall(syscall.SYS_SETGID, uintptr(pl.mapGID), 0, 0); err1 != 0 {
					goto childerror
				}
			}
			if pl.mapUID >= 0 {
				if _, _, err1 = syscall.RawSyscall(syscall.SYS_SETUID, uintptr(pl.mapUID), 0, 0); err1 != 0 {
					goto childerror
				}
			}
			if pl.mapGID >= 0 || pl.mapUID >= 0 {
				if pl.pdeath {
					pl.fail.step = stepPdeath // cleared by the change of ids
					if _, _, err1 = syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0); err1 != 0 {
						goto childerror
					}
				}
				pl.fail.step = stepReady
				syscall.RawSyscall(syscall.SYS_WRITE, uintptr(pl.status), uintptr(unsafe.Pointer(&pl.fail)), unsafe.Sizeof(pl.fail))
			}
		}
		if !readByte(pl) {
			for {
				syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 125, 0, 0)
			}
		}
		if i, err1, pl.fail.extra = runRawOps(pl); i >= 0 {
			pl.fail.step, pl.fail.op = stepOp, uint32(i)
			goto childerror
		}
	}

	if pl.rlim != nil {
		// as Go's child does: unless someone changed nsh's limit since
		_, _, err1 = syscall.RawSyscall6(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, 0, uintptr(unsafe.Pointer(&pl.rlimNow)), 0, 0)
		if err1 != 0 || (pl.rlimNow.Cur == pl.rlim.Max-1 && pl.rlimNow.Max == pl.rlim.Max) {
			syscall.RawSyscall6(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, uintptr(unsafe.Pointer(pl.rlim)), 0, 0, 0)
		}
	}

	if pl.dir != nil {
		pl.fail.step = stepChdir
		if _, _, err1 = syscall.RawSyscall(syscall.SYS_CHDIR, uintptr(unsafe.Pointer(pl.dir)), 0, 0); err1 != 0 {
			goto childerror
		}
	}

	pl.fail.step = stepExec
	_, _, err1 = syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(pl.argv0)),
		uintptr(unsafe.Pointer(&pl.argv[0])), uintptr(unsafe.Pointer(&pl.envv[0])))

childerror:
	pl.fail.errno = uint32(err1)
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(pl.status), uintptr(unsafe.Pointer(&pl.fail)), unsafe.Sizeof(pl.fail))
	if pl.code == 0 {
		pl.code = 253
	}
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, pl.code, 0, 0)
	}
}

// readByte reads one byte from the go-ahead pipe (false: EOF, the parent
// gave up or died).
//
//go:noinline
//go:norace
//go:nocheckptr
//go:nosplit
func readByte(pl *clone3Plan) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(pl.goR), uintptr(unsafe.Pointer(&pl.buf[0])), 1)
		if e == syscall.EINTR {
			continue
		}
		return e == 0 && n == 1
	}
}

// pollFd is the kernel's struct pollfd.
type pollFd struct {
	fd              int32
	events, revents int16
}

const (
	sysClone3 = 435 // SYS_clone3 (the same number on every architecture)
	pollIn    = 0x1
	pollHup   = 0x10
)

// cloneWithSetTID starts the program of pl with clone3 and set_tid from
// the calling thread. It returns the child's pid once it has executed, or
// a childFailure (step != 0) when a step in the child failed, or the errno
// of clone3 (step 0).
func cloneWithSetTID(pl *clone3Plan, tids []int32, files []*os.File) (int, childFailure, error) {
	var status, alive [2]int
	if err := syscall.Pipe2(status[:], syscall.O_CLOEXEC); err != nil {
		return 0, childFailure{}, err
	}
	if err := syscall.Pipe2(alive[:], syscall.O_CLOEXEC); err != nil {
		syscall.Close(status[0])
		syscall.Close(status[1])
		return 0, childFailure{}, err
	}
	pl.status, pl.aliveR, pl.aliveW = status[1], alive[0], alive[1]
	pl.args.exitSignal = uint64(syscall.SIGCHLD)
	if len(tids) > 0 {
		pl.args.setTID = uint64(uintptr(unsafe.Pointer(&tids[0])))
		pl.args.setTIDSize = uint64(len(tids))
	}

	// ForkLock: no descriptor is made without close-on-exec while the
	// child is forked (the promise of syscall.ForkLock).
	syscall.ForkLock.Lock()
	pid, errno := clone3Exec(pl)
	syscall.ForkLock.Unlock()
	runtime.KeepAlive(tids)
	runtime.KeepAlive(files)
	syscall.Close(status[1])
	syscall.Close(alive[0])
	if errno != 0 {
		syscall.Close(status[0])
		syscall.Close(alive[1])
		return 0, childFailure{}, errno
	}
	// EOF: the status pipe closed on execve. A record: a step failed.
	var fail childFailure
	n, err := readFull(status[0], (*[unsafe.Sizeof(fail)]byte)(unsafe.Pointer(&fail))[:])
	syscall.Close(status[0])
	syscall.Close(alive[1]) // after the exec: the child no longer looks
	if err == nil && n == 0 {
		return int(pid), childFailure{}, nil
	}
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(int(pid), &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}
	if n != int(unsafe.Sizeof(fail)) {
		fail = childFailure{step: stepExec, errno: uint32(syscall.EPIPE)}
	}
	return 0, fail, nil
}

func readFull(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Read(fd, b[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}
