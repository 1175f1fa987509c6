package mounts

import (
	"path/filepath"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// PivotRoot is pivot_root(2): newRoot becomes the root of the calling
// thread's mount namespace and the old root is moved to putOld. The kernel
// refuses (EINVAL) when newRoot is not a mount point, putOld is not at or
// under newRoot, newRoot or either parent mount is shared, or the current root
// is not a mount point (after chroot). Every task in this mount namespace
// whose root or cwd was the old root is moved to the new one.
func PivotRoot(newRoot, putOld string) error {
	return kerr.Newf(unix.PivotRoot(newRoot, putOld), pivotRules, "pivot_root(%q, %q)", newRoot, putOld)
}

// PivotInto makes newRoot the root of the calling thread's mount namespace and
// drops the old root, the way runc does (no put_old directory needed): it is
// the Container with nothing but a Rootfs, whose steps are
//
//  1. make / rprivate: pivot_root refuses shared mounts, and nothing done
//     from here on may propagate back to the parent namespace;
//  2. bind newRoot onto itself: pivot_root needs new_root to be a mount point;
//  3. chdir(newRoot), then pivot_root(".", "."): the new root is mounted at
//     "/" and the old root is stacked on top of it, at the same place;
//  4. fchdir to the old root (the kernel gives no promise what "." is after
//     pivot_root), then umount2(".", MNT_DETACH): the old root is the top of
//     the stack, so this drops it, leaving the new root visible; chdir("/").
//
// The caller must have its own mount namespace (unshare CLONE_NEWNS, which
// also unshares the fs struct), or it pivots the host.
func PivotInto(newRoot string) error {
	abs, err := filepath.Abs(newRoot)
	if err != nil {
		return kerr.Newf(err, nil, "getcwd() [for %q]", newRoot)
	}
	return Container{Rootfs: abs}.Unprotected().Setup() // the pivot alone: the caller is no container
}
