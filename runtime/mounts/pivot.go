package mounts

import (
	"fmt"

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
// drops the old root, the way runc does (no put_old directory needed):
//
//  1. make / rprivate: pivot_root refuses shared mounts, and nothing done
//     from here on may propagate back to the parent namespace;
//  2. bind newRoot onto itself: pivot_root needs new_root to be a mount point;
//  3. chdir(newRoot), then pivot_root(".", "."): the new root is mounted at
//     "/" and the old root is stacked on top of it, at the same place;
//  4. fchdir to the old root (the kernel gives no promise what "." is after
//     pivot_root), then umount2(".", MNT_DETACH): the old root is the top of
//     the stack, so this drops it, leaving the new root visible;
//  5. chdir("/").
//
// The caller must have its own mount namespace (unshare CLONE_NEWNS, which
// also unshares the fs struct), or it pivots the host.
func PivotInto(newRoot string) error {
	if err := MakePropagation("/", "private", true); err != nil {
		return err
	}
	if err := Bind(newRoot, newRoot, true, false); err != nil {
		return err
	}
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return kerr.Newf(err, nil, "open(\"/\")")
	}
	defer unix.Close(oldRoot)
	if err := unix.Chdir(newRoot); err != nil {
		return kerr.Newf(err, nil, "chdir(%q)", newRoot)
	}
	if err := PivotRoot(".", "."); err != nil {
		return err
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return kerr.Newf(err, nil, "fchdir(old root)")
	}
	if err := Umount(".", true, false); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	return kerr.Newf(unix.Chdir("/"), nil, "chdir(\"/\")")
}
