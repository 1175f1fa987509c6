package mounts

import (
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// mountRules explain mount(2) errnos in general.
var mountRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "mounting needs CAP_SYS_ADMIN in the user namespace that owns this mount namespace, and inside a user namespace only filesystem types marked FS_USERNS_MOUNT (tmpfs, proc, sysfs, devpts, mqueue, overlay, bind mounts) may be mounted"},
	{Errno: unix.EBUSY, Rule: "the source is already mounted read-write elsewhere and cannot change, or the target is busy"},
	{Errno: unix.EINVAL, Rule: "a propagation change, remount or move needs the target to be a mount point, a bind source must not be on an unbindable mount, a flag combination is invalid (e.g. bind together with a propagation type), or the filesystem rejected its data options"},
	{Errno: unix.ENODEV, Rule: "the kernel does not know this filesystem type (see /proc/filesystems; a module may be missing)"},
	{Errno: unix.ENOENT, Rule: "the source or the target path does not exist"},
	{Errno: unix.ENOTDIR, Rule: "the target (or a component of a path) is not a directory"},
	{Errno: unix.ENOTBLK, Rule: "this filesystem type needs a block device as source"},
	{Errno: unix.EACCES, Rule: "a path component is not searchable, or the block device is on a nodev mount or read-only"},
	{Errno: unix.ELOOP, Rule: "a move or bind would put a mount inside itself, or too many symbolic links"},
	{Errno: unix.ENOMEM, Rule: "the kernel could not allocate the mount"},
}

// fsEPERM explains EPERM for filesystem types that have a stricter rule
// ("" for the others).
func fsEPERM(fstype string) string {
	switch fstype {
	case "devtmpfs":
		return "devtmpfs lacks FS_USERNS_MOUNT: only root of the initial user namespace may mount it; inside a user namespace use a tmpfs /dev with device nodes bound from the host (mount.mkdev, or dev=\"minimal\")"
	case "sysfs":
		return "sysfs in a user namespace needs a network namespace owned by that user namespace (unshare net too), and a sysfs must already be mounted, fully visible (nothing mounted over parts of it), in this mount namespace"
	case "proc":
		return "proc in a user namespace needs a pid namespace owned by that user namespace, and a proc must already be mounted, fully visible (nothing mounted over parts of it), in this mount namespace: mount it before the old root is detached"
	case "devpts":
		return "devpts needs CAP_SYS_ADMIN in the user namespace owning the mount namespace; gid= and mode= must name ids mapped in that namespace"
	}
	return ""
}

// rulesFor returns mountRules, with the EPERM rule replaced for fstypes that
// have their own.
func rulesFor(fstype string) kerr.Rules {
	rule := fsEPERM(fstype)
	if rule == "" {
		return mountRules
	}
	return kerr.Rules{{Errno: unix.EPERM, Rule: rule}}.Also(mountRules)
}

var umountRules = kerr.Rules{
	{Errno: unix.EBUSY, Rule: "something still uses the mount: a process has its cwd, root or an open file there, or another mount sits below it (use detach for a lazy unmount)"},
	{Errno: unix.EINVAL, Rule: "the target is not a mount point, or it is a mount locked by a less privileged user namespace (inherited together with its parent)"},
	{Errno: unix.ENOENT, Rule: "the target path does not exist"},
	{Errno: unix.EPERM, Rule: "unmounting needs CAP_SYS_ADMIN in the user namespace that owns this mount namespace"},
}

var propagationRules = kerr.Rules{
	{Errno: unix.EINVAL, Rule: "the target is not a mount point (bind it onto itself first), or more than one propagation type was given"},
	{Errno: unix.ENOENT, Rule: "the target path does not exist"},
	{Errno: unix.EPERM, Rule: "changing propagation needs CAP_SYS_ADMIN in the user namespace that owns this mount namespace"},
}

var moveRules = kerr.Rules{
	{Errno: unix.EINVAL, Rule: "the source is not a mount point, or the source's parent mount is shared (moving out of a shared mount is refused), or the target is under an unbindable/shared mount that would propagate it"},
	{Errno: unix.ELOOP, Rule: "the target is inside the mount being moved"},
	{Errno: unix.ENOENT, Rule: "the source or the target path does not exist"},
	{Errno: unix.EPERM, Rule: "moving a mount needs CAP_SYS_ADMIN in the user namespace that owns this mount namespace, and locked mounts cannot be moved"},
}

var pivotRules = kerr.Rules{
	{Errno: unix.EINVAL, Rule: "pivot_root refuses when: new_root is not a mount point (bind it onto itself); put_old is not at or under new_root; the mount of put_old (usually new_root's), new_root's parent mount or the current root's parent mount is shared (make / rprivate first); the current root is not a mount point (e.g. after chroot) or is the initramfs rootfs; or new_root is a locked mount or in another mount namespace"},
	{Errno: unix.EBUSY, Rule: "new_root or put_old is on the same mount as the current root (the kernel tests this before whether new_root is a mount point: bind new_root onto itself)"},
	{Errno: unix.ENOTDIR, Rule: "new_root or put_old is not a directory"},
	{Errno: unix.ENOENT, Rule: "new_root or put_old does not exist"},
	{Errno: unix.EPERM, Rule: "pivot_root needs CAP_SYS_ADMIN in the user namespace that owns this mount namespace"},
}

var mknodRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "creating device nodes needs CAP_MKNOD in the initial user namespace: inside a user namespace bind the host's node instead"},
	{Errno: unix.EEXIST, Rule: "the path already exists"},
}
