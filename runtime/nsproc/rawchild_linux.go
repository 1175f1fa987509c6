package nsproc

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// runRawOps is the raw set-up in the child forked by clone3Child: the ops
// in order, as raw system calls (nosplit, no allocation, no write to the
// heap but the plan's own copy). It returns -1, or the index of the op
// that failed, its errno and its number (see Explain).
//
//go:noinline
//go:norace
//go:nocheckptr
//go:nosplit
func runRawOps(pl *clone3Plan) (int, syscall.Errno, uint64) {
	var (
		i    int
		c    uintptr
		a0   uintptr
		r1   uintptr
		e    syscall.Errno
		op   *rawOp
		pfd  pollFd
		zero [2]int64
		k    uint32
	)
	for i = 0; i < len(pl.ops); i++ {
		op = &pl.ops[i]
		switch op.kind {
		case opCall:
			a0 = op.a[0]
			if op.load {
				a0 = pl.reg
			}
			r1, _, e = syscall.RawSyscall6(op.nr, a0, op.a[1], op.a[2], op.a[3], op.a[4], op.a[5])
			if e == 0 {
				if op.save {
					pl.reg = r1
				}
				continue
			}
			if e == op.ok[0] || e == op.ok[1] {
				continue
			}
			if op.onErr != 0 && (op.onErr == anyErrno || op.onErr == e) {
				i += op.skip
				continue
			}
			return i, e, 0
		case opJump:
			i += op.skip
		case opSkipIfNotDir:
			if op.stx.Mode&unix.S_IFMT != unix.S_IFDIR {
				i += op.skip
			}
		case opFailIfNotDir:
			if op.stx.Mode&unix.S_IFMT != unix.S_IFDIR {
				return i, syscall.ENOTDIR, 0
			}
		case opDropBounding:
			for c = 0; c < 64; c++ {
				if op.keep&(1<<c) != 0 {
					continue
				}
				_, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0, 0, 0, 0)
				if e == syscall.EINVAL {
					break
				}
				if e != 0 {
					return i, e, uint64(c)
				}
			}
		case opSetCaps:
			if _, _, e = syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&pl.capHdr)), uintptr(unsafe.Pointer(&pl.capData[0])), 0); e != 0 {
				return i, e, 0
			}
			for c = 0; c < 2; c++ {
				k = uint32(op.keep >> (32 * c))
				pl.capData[c].Permitted &= k
				pl.capData[c].Effective = pl.capData[c].Permitted
				pl.capData[c].Inheritable = pl.capData[c].Permitted
			}
			if _, _, e = syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&pl.capHdr)), uintptr(unsafe.Pointer(&pl.capData[0])), 0); e != 0 {
				return i, e, 1
			}
		case opPdeath:
			if _, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0); e != 0 {
				return i, e, 0
			}
			pfd.fd, pfd.events, pfd.revents = int32(pl.aliveR), pollIn, 0
			if _, _, e = syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&zero[0])), 0, 0, 0); e != 0 {
				return i, e, 1
			}
			if pfd.revents&pollHup != 0 {
				for {
					syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 125, 0, 0)
				}
			}
		}
	}
	return -1, 0, 0
}
