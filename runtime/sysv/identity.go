package sysv

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A System V object's identity. Its id is machine-wide within an IPC
// namespace and reused (the kernel hands out a slot's id again after the
// object goes, and kernel.{sem,shm,msg}_next_id chooses the next one), so
// an object nsh made is known by more than its id: its key, its creation
// time (the ctime IPC_STAT reports, which the kernel sets when the object
// is made and on IPC_SET or SETVAL), its creator's uid and, for a shared
// memory segment, its creator's pid. Before nsh removes an object it made
// it proves all of them.

// Ident is what names one object for its whole life.
type Ident struct {
	Kind  string // "sem", "shm", "msg"
	ID    int
	Key   int
	Ctime int64
	Cuid  int
	Cpid  int // shm only
}

// Identify reads the identity of object id of kind in the calling thread's
// IPC namespace.
func Identify(kind string, id int) (Ident, error) {
	if kind == "shm" {
		var d unix.SysvShmDesc
		if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d); err != nil {
			return Ident{}, fmt.Errorf("shmctl(%d, IPC_STAT): %w", id, err)
		}
		return Ident{Kind: kind, ID: id, Key: int(d.Perm.Key), Ctime: int64(d.Ctime), Cuid: int(d.Perm.Cuid), Cpid: int(d.Cpid)}, nil
	}
	return fromProc(kind, id)
}

// fromProc reads a semaphore set's or queue's identity from
// /proc/sysvipc (which shows the reader's IPC namespace): the columns
// key, id and, by name, cuid and ctime.
func fromProc(kind string, id int) (Ident, error) {
	b, err := os.ReadFile("/proc/sysvipc/" + kind)
	if err != nil {
		return Ident{}, err
	}
	lines := strings.Split(string(b), "\n")
	head := strings.Fields(lines[0])
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	ci, ok1 := col["cuid"]
	ti, ok2 := col["ctime"]
	if !ok1 || !ok2 {
		return Ident{}, fmt.Errorf("/proc/sysvipc/%s: no cuid or ctime column", kind)
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= ci || len(f) <= ti {
			continue
		}
		if n, _ := strconv.Atoi(f[1]); n != id {
			continue
		}
		key, _ := strconv.Atoi(f[0])
		cuid, _ := strconv.Atoi(f[ci])
		ct, _ := strconv.ParseInt(f[ti], 10, 64)
		return Ident{Kind: kind, ID: id, Key: key, Ctime: ct, Cuid: cuid}, nil
	}
	return Ident{}, fmt.Errorf("no System V %s with id %d in this IPC namespace", kind, id)
}

// RemoveIfSame removes the object that want names, when the object with
// that id in the calling thread's IPC namespace is still the one (every
// part of the identity equal). done says whether it was removed; an object
// that is gone, or is another's under a reused id, is left alone.
func RemoveIfSame(want Ident) (done bool, err error) {
	got, err := Identify(want.Kind, want.ID)
	if err != nil || got != want {
		return false, nil
	}
	err = Remove(want.Kind, want.ID)
	return err == nil, err
}

// Remove removes object id of kind (IPC_RMID), unproved: for the process
// that made it, when its identity cannot be read.
func Remove(kind string, id int) error {
	switch kind {
	case "sem":
		return Semrm(id)
	case "shm":
		return Shmrm(id)
	case "msg":
		return Msgrm(id)
	}
	return fmt.Errorf("unknown System V kind %q", kind)
}
