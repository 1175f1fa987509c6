package sysv

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// System V semaphore sets and shared memory, in the IPC namespace of the
// calling thread, and a listing of all three kinds (what ipcs(1) shows).

const (
	ipcExcl = 0o2000
	getval  = 12
	setval  = 16
)

var semRules = kerr.Rules{
	{Errno: unix.ENOENT, Rule: "no semaphore set with that key in this IPC namespace (each IPC namespace has its own System V objects)"},
	{Errno: unix.EINVAL, Rule: "no set with that id in this IPC namespace, a semaphore number out of range, or more semaphores than an existing set has"},
	{Errno: unix.EACCES, Rule: "the set's permissions do not allow this"},
	{Errno: unix.EIDRM, Rule: "the set was removed"},
	{Errno: unix.EAGAIN, Rule: "the operation would block (a semaphore would go below 0), and nsh never waits (IPC_NOWAIT)"},
	{Errno: unix.ERANGE, Rule: "the value would exceed SEMVMX (32767)"},
	{Errno: unix.ENOSPC, Rule: "the namespace's limit on semaphore sets (kernel.sem) was reached"},
	{Errno: unix.EFBIG, Rule: "the semaphore number is out of range"},
}

var shmRules = kerr.Rules{
	{Errno: unix.ENOENT, Rule: "no shared memory segment with that key in this IPC namespace (each IPC namespace has its own System V objects)"},
	{Errno: unix.EINVAL, Rule: "no segment with that id in this IPC namespace, or a size outside SHMMIN..SHMMAX (or larger than the existing segment's)"},
	{Errno: unix.EACCES, Rule: "the segment's permissions do not allow this"},
	{Errno: unix.EIDRM, Rule: "the segment was removed"},
	{Errno: unix.ENOSPC, Rule: "the namespace's shared memory limits (kernel.shmmni, shmall) were reached"},
}

// get runs a *get call (sys: the call with its flags word), first
// exclusively when create is set, so the caller learns whether it made the
// object (and only then should remove it).
func get(call string, rules kerr.Rules, key uintptr, sys func(flags uintptr) (uintptr, unix.Errno), create bool) (int, bool, error) {
	if create {
		id, e := sys(0o600 | ipcCreat | ipcExcl)
		if e == 0 {
			return int(id), true, nil
		}
		if e != unix.EEXIST || key == 0 { // IPC_PRIVATE never exists
			return 0, false, kerr.New(call, e, rules)
		}
	}
	id, e := sys(0o600)
	if e != 0 {
		return 0, false, kerr.New(call, e, rules)
	}
	return int(id), false, nil
}

// getCall is a *get call whose flags come third (semget, shmget).
func getCall(nr, key, arg uintptr) func(uintptr) (uintptr, unix.Errno) {
	return func(flags uintptr) (uintptr, unix.Errno) {
		id, _, e := unix.Syscall(nr, key, arg, flags)
		return id, e
	}
}

// Semget returns the id of the set with key (key 0: IPC_PRIVATE, a new one)
// of nsems semaphores, creating it when create is set; created says whether
// this call made it.
func Semget(key, nsems int, create bool) (id int, created bool, err error) {
	return get(fmt.Sprintf("semget(%d, %d)", key, nsems), semRules, uintptr(key), getCall(unix.SYS_SEMGET, uintptr(key), uintptr(nsems)), create)
}

type sembuf struct {
	num uint16
	op  int16
	flg int16
}

// Semop adds op to semaphore num of set id (semop(2), IPC_NOWAIT: EAGAIN
// instead of blocking; op 0 waits for zero, so EAGAIN unless it is 0).
func Semop(id, num, op int) error {
	b := sembuf{num: uint16(num), op: int16(op), flg: ipcNowait}
	_, _, e := unix.Syscall(unix.SYS_SEMOP, uintptr(id), uintptr(unsafe.Pointer(&b)), 1)
	if e != 0 {
		return kerr.New(fmt.Sprintf("semop(%d, {%d, %+d})", id, num, op), e, semRules)
	}
	return nil
}

// Semval is semctl(GETVAL); with set, SETVAL to val first.
func Semval(id, num int, set bool, val int) (int, error) {
	if set {
		if _, _, e := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), uintptr(num), setval, uintptr(val), 0, 0); e != 0 {
			return 0, kerr.New(fmt.Sprintf("semctl(%d, %d, SETVAL, %d)", id, num, val), e, semRules)
		}
	}
	v, _, e := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), uintptr(num), getval, 0, 0, 0)
	if e != 0 {
		return 0, kerr.New(fmt.Sprintf("semctl(%d, %d, GETVAL)", id, num), e, semRules)
	}
	return int(v), nil
}

// Semrm removes a set (IPC_RMID).
func Semrm(id int) error {
	_, _, e := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), 0, ipcRmid, 0, 0, 0)
	return kerr.New(fmt.Sprintf("semctl(%d, IPC_RMID)", id), errnoOrNil(e), semRules)
}

// Shmget returns the id of the segment with key of size bytes, as Semget.
func Shmget(key, size int, create bool) (id int, created bool, err error) {
	return get(fmt.Sprintf("shmget(%d, %d)", key, size), shmRules, uintptr(key), getCall(unix.SYS_SHMGET, uintptr(key), uintptr(size)), create)
}

// Shm reads n bytes at offset of segment id, after writing data there when
// data is not nil: it attaches the segment (shmat), copies, detaches.
func Shm(id, offset int, data []byte, n int) ([]byte, error) {
	mem, err := unix.SysvShmAttach(id, 0, 0) // the whole segment, as a slice
	if err != nil {
		return nil, kerr.New(fmt.Sprintf("shmat(%d)", id), err, shmRules)
	}
	defer unix.SysvShmDetach(mem)
	if data != nil {
		n = len(data)
	}
	if offset < 0 || n < 0 || offset+n > len(mem) {
		return nil, fmt.Errorf("bytes %d..%d are outside the segment of %d bytes", offset, offset+n, len(mem))
	}
	if data != nil {
		copy(mem[offset:], data)
	}
	return append([]byte(nil), mem[offset:offset+n]...), nil
}

// Shmrm removes a segment (IPC_RMID: it goes when the last process detaches).
func Shmrm(id int) error {
	_, _, e := unix.Syscall(unix.SYS_SHMCTL, uintptr(id), ipcRmid, 0)
	return kerr.New(fmt.Sprintf("shmctl(%d, IPC_RMID)", id), errnoOrNil(e), shmRules)
}

func errnoOrNil(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// Object is one System V object of the calling thread's IPC namespace.
type Object struct {
	Kind    string // "msg", "sem", "shm"
	Key, ID int
	Perms   int // octal permission bits
	UID     int
	Size    int // messages (msg), semaphores (sem), bytes (shm)
}

// Objects lists the System V objects of the calling thread's IPC namespace
// (/proc/sysvipc/msg, sem, shm): what ipcs(1) shows.
func Objects() ([]Object, error) {
	var out []Object
	// column of the size field and of the uid, per file
	for _, k := range []struct {
		kind      string
		size, uid int
	}{{"msg", 4, 7}, {"sem", 3, 4}, {"shm", 3, 7}} {
		b, err := os.ReadFile("/proc/sysvipc/" + k.kind)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, kerr.New(`read("/proc/sysvipc/`+k.kind+`")`, unix.ENOENT, kerr.Rules{
					{Errno: unix.ENOENT, Rule: "the kernel has no System V IPC (CONFIG_SYSVIPC), or no procfs is mounted at /proc"}})
			}
			return nil, err
		}
		for i, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if i == 0 || len(f) <= k.uid {
				continue
			}
			o := Object{Kind: k.kind}
			o.Key, _ = strconv.Atoi(f[0])
			o.ID, _ = strconv.Atoi(f[1])
			p, _ := strconv.ParseInt(f[2], 8, 32)
			o.Perms = int(p) & 0o777
			o.Size, _ = strconv.Atoi(f[k.size])
			o.UID, _ = strconv.Atoi(f[k.uid])
			out = append(out, o)
		}
	}
	return out, nil
}
