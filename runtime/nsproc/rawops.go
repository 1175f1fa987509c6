package nsproc

import (
	"errors"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A raw set-up is the set-up steps of a container compiled, in the parent,
// into a list of system calls with every argument prepared (NUL-terminated
// paths, flags, the structs the calls read), which the child forked by
// clone3Child runs in order before execve, without a Go runtime of its own
// (see rawstart.go). Steps that decide something in the child (a missing
// path is skipped, a mask is a tmpfs for a directory and a bind of
// /dev/null for a file) are ops that skip the next ones. A failed op
// reports its index, the errno and one number (a capability); the parent
// turns that into the error the Go step gives (its Explain).

// The kinds of raw ops.
const (
	opCall         = iota // one system call
	opJump                // skip the next skip ops
	opSkipIfNotDir        // skip the next skip ops unless the statx buffer says directory
	opFailIfNotDir        // fail with ENOTDIR unless the statx buffer says directory
	opDropBounding        // PR_CAPBSET_DROP every capability not in keep, up to the kernel's last
	opSetCaps             // capget, then capset permitted=effective=inheritable=permitted&keep
	opPdeath              // PR_SET_PDEATHSIG again (a change of ids cleared it), and end if the parent is gone
)

// anyErrno as onErr: every errno skips.
const anyErrno = ^syscall.Errno(0)

// rawOp is one step of the child; only plain values and pointers the
// parent keeps alive (RawBuilder.keep), as the child may not allocate.
type rawOp struct {
	kind  uint8
	save  bool // keep the call's result (a descriptor) in the plan's register
	load  bool // the call's first argument is the register
	nr    uintptr
	a     [6]uintptr
	ok    [2]syscall.Errno // errnos that count as success
	onErr syscall.Errno    // an errno (anyErrno: any) that skips the next skip ops instead of failing
	skip  int
	stx   *unix.Statx_t
	keep  uint64 // capabilities kept (opDropBounding, opSetCaps)
}

// Explain turns a failed op (its errno and its number: a capability for
// opDropBounding, 0 or 1 for capget or capset) into the error the Go step
// gives.
type Explain func(errno syscall.Errno, extra uint64) error

// RawBuilder collects the ops of a raw set-up.
type RawBuilder struct {
	ops     []rawOp
	explain []Explain
	keep    []any // what the ops point at, alive until clone3 returns
}

// RawOp is a handle to the op just added, to set how it fails.
type RawOp struct {
	b *RawBuilder
	i int
}

// RawEnv is what a step's compiler may look at in the parent: the child's
// stdin (a container's /dev/console is the terminal on it).
type RawEnv struct {
	Stdin *os.File
}

// RawStepFunc compiles a registered set-up step (see RegisterStep) into
// ops; ErrRawUnsupported (or any error) makes the start re-execute nsh, which
// runs the Go step.
type RawStepFunc func(args []byte, b *RawBuilder, env RawEnv) error

// ErrRawUnsupported: the step cannot be done by raw ops here.
var ErrRawUnsupported = errors.New("not supported by the raw set-up")

var rawSteps = map[string]RawStepFunc{}

// RegisterRawStep makes a step that RegisterStep registered available to
// the raw set-up too. A step without one makes its starts re-execute nsh.
func RegisterRawStep(name string, fn RawStepFunc) { rawSteps[name] = fn }

func (b *RawBuilder) add(op rawOp, ex Explain) RawOp {
	b.ops = append(b.ops, op)
	b.explain = append(b.explain, ex)
	return RawOp{b, len(b.ops) - 1}
}

// Str is s as a NUL-terminated string for an argument.
func (b *RawBuilder) Str(s string) uintptr {
	p, err := syscall.BytePtrFromString(s)
	if err != nil { // a NUL inside: the path cannot exist; keep the part before
		bs := append([]byte(s[:indexNUL(s)]), 0)
		p = &bs[0]
	}
	b.keep = append(b.keep, p)
	return uintptr(unsafe.Pointer(p))
}

func indexNUL(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return i
		}
	}
	return len(s)
}

// Ptr is p (a struct the call reads or fills) as an argument, kept alive.
func (b *RawBuilder) Ptr(p unsafe.Pointer) uintptr {
	b.keep = append(b.keep, p)
	return uintptr(p)
}

// Call adds the system call nr; any errno fails with ex.
func (b *RawBuilder) Call(ex Explain, nr uintptr, args ...uintptr) RawOp {
	op := rawOp{kind: opCall, nr: nr}
	copy(op.a[:], args)
	return b.add(op, ex)
}

// Tolerate makes the errnos es count as success.
func (o RawOp) Tolerate(es ...syscall.Errno) RawOp {
	copy(o.b.ops[o.i].ok[:], es)
	return o
}

// SaveFD keeps the call's result (a descriptor) for a later LoadFD.
func (o RawOp) SaveFD() RawOp { o.b.ops[o.i].save = true; return o }

// LoadFD passes the saved descriptor as the call's first argument.
func (o RawOp) LoadFD() RawOp { o.b.ops[o.i].load = true; return o }

// Len is the number of ops so far.
func (b *RawBuilder) Len() int { return len(b.ops) }

// Branch makes o (the last op added) choose: success runs then, the errno
// e (AnyErrno: any) runs otherwise; other errnos fail as before.
func (b *RawBuilder) Branch(o RawOp, e syscall.Errno, then, otherwise func()) {
	start := b.Len()
	if then != nil {
		then()
	}
	if otherwise == nil {
		b.ops[o.i].onErr, b.ops[o.i].skip = e, b.Len()-start
		return
	}
	j := b.add(rawOp{kind: opJump}, nil)
	b.ops[o.i].onErr, b.ops[o.i].skip = e, b.Len()-start
	start = b.Len()
	otherwise()
	b.ops[j.i].skip = b.Len() - start
}

// AtFDCWD is AT_FDCWD (-100) as a system call argument.
const AtFDCWD = ^uintptr(99)

// AnyErrno as Branch's errno: every errno takes the other way.
const AnyErrno = anyErrno

// Statx adds statx(path) into a buffer of its own (following a final
// symlink unless nofollow), which IfDir and FailUnlessDir read.
func (b *RawBuilder) Statx(ex Explain, path string, nofollow bool) (RawOp, *unix.Statx_t) {
	stx := new(unix.Statx_t)
	flags := uintptr(0)
	if nofollow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	o := b.Call(ex, unix.SYS_STATX, AtFDCWD, b.Str(path), flags, unix.STATX_TYPE, b.Ptr(unsafe.Pointer(stx)))
	return o, stx
}

// IfDir runs then when the statx buffer stx says directory, else otherwise.
func (b *RawBuilder) IfDir(stx *unix.Statx_t, then, otherwise func()) {
	o := b.add(rawOp{kind: opSkipIfNotDir, stx: stx}, nil)
	start := b.Len()
	then()
	j := b.add(rawOp{kind: opJump}, nil)
	b.ops[o.i].skip = b.Len() - start
	start = b.Len()
	otherwise()
	b.ops[j.i].skip = b.Len() - start
}

// FailUnlessDir fails with ex (errno ENOTDIR) unless stx says directory.
func (b *RawBuilder) FailUnlessDir(stx *unix.Statx_t, ex Explain) {
	b.add(rawOp{kind: opFailIfNotDir, stx: stx}, ex)
}

// DropBounding drops every capability not in keep from the bounding set,
// from 0 up to the first the kernel calls invalid; ex gets the capability
// that failed as extra.
func (b *RawBuilder) DropBounding(keep uint64, ex Explain) {
	b.add(rawOp{kind: opDropBounding, keep: keep}, ex)
}

// SetCaps cuts permitted to keep and makes effective and inheritable equal
// to it (capget, then capset); ex gets 0 for capget, 1 for capset.
func (b *RawBuilder) SetCaps(keep uint64, ex Explain) {
	b.add(rawOp{kind: opSetCaps, keep: keep}, ex)
}

// pdeath sets the parent-death signal again and ends the child if the
// parent has gone.
func (b *RawBuilder) pdeath(ex Explain) { b.add(rawOp{kind: opPdeath}, ex) }
