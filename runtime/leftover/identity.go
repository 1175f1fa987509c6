package leftover

import (
	"os"
	"path/filepath"

	"nsh/runtime/cleanup"
	"nsh/runtime/sysv"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Identity. Every recorded thing is proved before it is removed, since
// its name can be another's by then: a path (pin, directory, cgroup) by
// the st_dev, st_ino and birth time it had, a link by its ifindex, a System V object
// by key, creation time, creator (runtime/sysv.Ident), a mount by its
// unique mount id or its peer group (runtime/mounts), a child by its start
// time. (A path's birth time has the kernel's coarse clock: another file
// made at the same inode within the same tick, a few milliseconds, would
// pass for it.) Records without identity (written by an older nsh) are taken by
// name, as before.

// Identify completes r with the identity of what it names now, as the
// calling thread sees it: call it right after the thing is made.
func Identify(r cleanup.Record) cleanup.Record {
	switch r.Kind {
	case "pin", "dir", "cgroup":
		r.Dev, r.Ino, r.Btime = cleanup.StatID(r.Path)
	case "link":
		if lk, err := netlink.LinkByName(r.Path); err == nil {
			r.Index = lk.Attrs().Index
		}
	}
	return r
}

// IPCRecord is the record of System V object id of kind ("sem", "shm",
// "msg") just made in the calling thread's IPC namespace, with its
// identity; ok is false when it cannot be read.
func IPCRecord(kind string, id int) (cleanup.Record, bool) {
	in, err := sysv.Identify(kind, id)
	if err != nil {
		return cleanup.Record{}, false
	}
	return cleanup.Record{Kind: "ipc", Path: kind, NS: cleanup.ThreadNS("ipc"), IPCID: id, Key: in.Key, Ctime: in.Ctime, Cuid: in.Cuid, Cpid: in.Cpid}, true
}

// IPCIdent is the identity r records.
func IPCIdent(r cleanup.Record) sysv.Ident {
	return sysv.Ident{Kind: r.Path, ID: r.IPCID, Key: r.Key, Ctime: r.Ctime, Cuid: r.Cuid, Cpid: r.Cpid}
}

// samePath: the path is what r recorded (or r recorded no identity).
func samePath(r cleanup.Record) bool {
	if r.Ino == 0 {
		return true
	}
	dev, ino, btime := cleanup.StatID(r.Path)
	return dev == r.Dev && ino == r.Ino && btime == r.Btime
}

// unpinRecorded removes a pin that is still the one recorded: the
// namespace file bound there (or, recorded before its bind mount, the
// pin file itself); a pin of another namespace under the same name, or a
// file someone else made there, is left alone.
func unpinRecorded(r cleanup.Record) (bool, error) {
	if _, err := os.Lstat(r.Path); err != nil {
		return false, nil
	}
	if !samePath(r) && !fileBeneath(r) {
		return false, nil
	}
	return unmount(r.Path, true)
}

// fileBeneath: r recorded the pin file before its bind mount, and the file
// under what is mounted at r.Path now is that file (nsh bound it, then died
// before it could note the namespace). The file is looked up in a clone of
// the directory's mount alone (open_tree OPEN_TREE_CLONE), where no mount
// covers it.
func fileBeneath(r cleanup.Record) bool {
	if r.Ino == 0 {
		return false
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, filepath.Dir(r.Path), unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Statx_t
	if unix.Statx(fd, filepath.Base(r.Path), unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO|unix.STATX_BTIME, &st) != nil {
		return false
	}
	var btime int64
	if st.Mask&unix.STATX_BTIME != 0 {
		btime = st.Btime.Sec*1e9 + int64(st.Btime.Nsec)
	}
	return unix.Mkdev(st.Dev_major, st.Dev_minor) == r.Dev && st.Ino == r.Ino && btime == r.Btime
}

// removeIPC removes a System V object that is still the one recorded.
func removeIPC(r cleanup.Record) (bool, error) {
	return sysv.RemoveIfSame(IPCIdent(r))
}

func nsFlag(typ string) int {
	switch typ {
	case "mnt":
		return unix.CLONE_NEWNS
	case "ipc":
		return unix.CLONE_NEWIPC
	}
	return unix.CLONE_NEWNET
}
