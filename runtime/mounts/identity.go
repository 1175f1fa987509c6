package mounts

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"nsh/runtime/cleanup"
)

// A mount's identity for the journal. A path names whatever is mounted
// there now, and the classic mount id of mountinfo is reused once a mount
// goes, so a mount nsh recorded is proved before it is unmounted: by its
// unique mount id (statx STATX_MNT_ID_UNIQUE, never reused while the
// machine runs) when it was made in the namespace that outlives nsh, or,
// for the copies that propagation gave other namespaces of a mount made in
// a namespace of nsh's own, by the peer group and filesystem they share.

// UniqueID is the unique id of the mount at path (the topmost one when
// mounts are stacked there), or 0 when the kernel has none (before 6.8).
func UniqueID(path string) uint64 {
	var st unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, path, unix.AT_NO_AUTOMOUNT, unix.STATX_MNT_ID_UNIQUE, &st) != nil {
		return 0
	}
	if st.Mask&unix.STATX_MNT_ID_UNIQUE == 0 {
		return 0
	}
	return st.Mnt_id
}

// classicID is the mountinfo id of the mount at path (the topmost one).
func classicID(path string) int {
	var st unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, path, unix.AT_NO_AUTOMOUNT, unix.STATX_MNT_ID, &st) != nil || st.Mask&unix.STATX_MNT_ID == 0 {
		return -1
	}
	return int(st.Mnt_id)
}

// Record is the journal record of the mount just made at abs in the
// calling thread's mount namespace: the mount itself, by its unique id.
func Record(abs string) cleanup.Record {
	return cleanup.Record{Kind: "mount", Path: abs, NS: cleanup.ThreadNS("mnt"), MntID: UniqueID(abs)}
}

// CopyRecords are the records of the copies that the mount just made at
// abs (in a mount namespace that does not outlive nsh) has in each of the
// namespaces outer: none when it is not shared, since only a mount made
// under a shared mount has peers that received copies.
func CopyRecords(abs string, outer []uint64) []cleanup.Record {
	e, ok := topmost(abs)
	if !ok || e.Shared == 0 {
		return nil
	}
	var out []cleanup.Record
	for _, ns := range outer {
		out = append(out, cleanup.Record{Kind: "mount", Path: abs, NS: ns, Group: e.Shared, MntDev: devOf(e)})
	}
	return out
}

func devOf(e Entry) string { return strconv.Itoa(e.Major) + ":" + strconv.Itoa(e.Minor) }

// topmost is the mountinfo entry of the mount at abs that nothing covers.
func topmost(abs string) (Entry, bool) {
	t, err := List(0)
	if err != nil {
		return Entry{}, false
	}
	id := classicID(abs)
	for i := len(t) - 1; i >= 0; i-- {
		if t[i].Target == abs && (id < 0 || t[i].ID == id) {
			return t[i], true
		}
	}
	return Entry{}, false
}

// UnmountRecorded unmounts (MNT_DETACH) what r records in the calling
// thread's mount namespace, once proved: the mount with r's unique id on
// top at r.Path, or every copy (a mount of peer group r.Group, shared or
// slave, of filesystem r.MntDev, on top at its mount point). Anything else
// at that path is another's and is left alone. done says whether
// something was unmounted.
func UnmountRecorded(r cleanup.Record) (done bool, err error) {
	if r.Group != 0 {
		return unmountCopies(r)
	}
	if r.MntID != 0 && UniqueID(r.Path) != r.MntID {
		return false, nil // gone, or another mount is there now
	}
	return detach(r.Path)
}

func unmountCopies(r cleanup.Record) (bool, error) {
	t, err := List(0)
	if err != nil {
		return false, nil // no procfs here: nothing can be proved
	}
	done := false
	for i := len(t) - 1; i >= 0; i-- {
		e := t[i]
		if (e.Shared != r.Group && e.Master != r.Group) || devOf(e) != r.MntDev {
			continue
		}
		if classicID(e.Target) != e.ID {
			continue // covered by another mount: not ours to take
		}
		d, err := detach(e.Target)
		if err != nil {
			return done, err
		}
		done = done || d
	}
	return done, nil
}

func detach(path string) (bool, error) {
	err := unix.Unmount(path, unix.MNT_DETACH)
	switch err {
	case nil:
		return true, nil
	case unix.EINVAL, unix.ENOENT:
		return false, nil // not a mount point (any more)
	}
	return false, fmt.Errorf("umount2(%q, MNT_DETACH): %w", path, err)
}
