// Package files holds the file calls namespace lessons lean on: stat with the
// ids and devices a namespace sees, directory listing, mkdir/rmdir, chmod,
// chown, symlink, mknod, chdir, chroot, umask, and open/close of descriptors
// (to join a namespace by fd). Each acts as the calling thread and returns a
// kerr.Error naming the call, the errno and the kernel's rule. It decides
// nothing about what a path should be: the caller passes what the user typed.
package files

import (
	"fmt"
	"os"
	"sort"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// rules common to every path call; each call adds its own (pathErr puts
// them after the call's, when the call failed).
var pathRules = kerr.Rules{
	{Errno: unix.ENOENT, Rule: "a component of the path does not exist (in this mount namespace's view)"},
	{Errno: unix.ENOTDIR, Rule: "a component of the path prefix is not a directory"},
	{Errno: unix.EACCES, Rule: "search permission is denied on a directory of the path, or write permission on the parent"},
	{Errno: unix.ELOOP, Rule: "too many symbolic links while resolving the path"},
	{Errno: unix.ENAMETOOLONG, Rule: "the path or one of its components is too long"},
	{Errno: unix.EROFS, Rule: "the file is on a read-only mount"},
}

// pathErr is kerr.Newf for a call on a path: the call's own rules, then
// pathRules.
func pathErr(err error, own kerr.Rules, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return kerr.Newf(err, own.Also(pathRules), format, args...)
}

var (
	mkdirRules = kerr.Rules{{Errno: unix.EEXIST, Rule: "the path already exists"}, {Errno: unix.EPERM, Rule: "the filesystem does not allow creating directories here"}}
	rmdirRules = kerr.Rules{
		{Errno: unix.ENOTEMPTY, Rule: "the directory is not empty"},
		{Errno: unix.EBUSY, Rule: "the directory is a mount point or the root of a process"},
		{Errno: unix.EINVAL, Rule: "the last component is \".\""},
		{Errno: unix.EPERM, Rule: "the parent is sticky and the caller owns neither it nor the directory, or the filesystem refuses"},
	}
	chmodRules = kerr.Rules{{Errno: unix.EPERM, Rule: "only the file's owner, or a caller with CAP_FOWNER over a user namespace that maps the owner, may change its mode"}}
	chownRules = kerr.Rules{
		{Errno: unix.EPERM, Rule: "changing the owner needs CAP_CHOWN over a user namespace that maps both the file's ids and the new ones (an owner may only change the group to one of its own)"},
		{Errno: unix.EINVAL, Rule: "the uid or gid is not mapped in the caller's user namespace"},
	}
	symlinkRules = kerr.Rules{{Errno: unix.EEXIST, Rule: "the link path already exists"}, {Errno: unix.EPERM, Rule: "the filesystem does not support symbolic links"}}
	mknodRules   = kerr.Rules{
		{Errno: unix.EEXIST, Rule: "the path already exists"},
		{Errno: unix.EPERM, Rule: "creating a device node needs CAP_MKNOD in the initial user namespace (a user namespace's root may create only FIFOs and sockets)"},
		{Errno: unix.EINVAL, Rule: "not a valid file type"},
	}
	chrootRules = kerr.Rules{{Errno: unix.EPERM, Rule: "chroot needs CAP_SYS_CHROOT in the caller's user namespace"}}
	openRules   = kerr.Rules{
		{Errno: unix.EEXIST, Rule: "create and exclusive were asked and the path exists"},
		{Errno: unix.EISDIR, Rule: "a directory can only be opened for reading"},
		{Errno: unix.ENXIO, Rule: "no device behind this node, or a FIFO without a reader opened for writing without blocking"},
		{Errno: unix.EPERM, Rule: "the file is immutable or append-only, or the filesystem refuses"},
	}
	closeRules = kerr.Rules{{Errno: unix.EBADF, Rule: "the descriptor is not open"}}
)

// Info is what stat(2)/statx(2) says about a file.
type Info struct {
	Type       string // "file", "dir", "symlink", "char", "block", "fifo", "socket"
	Mode       uint32 // permission bits, setuid, setgid and sticky (07777)
	UID, GID   int    // as the caller's user namespace sees them (65534 when unmapped)
	Size       int64
	Inode      uint64
	Nlink      uint32
	Dev, Rdev  [2]uint32 // major, minor
	MountID    uint64    // the mount's id in /proc/self/mountinfo
	HasMountID bool
}

// TypeName is the Info.Type word for a S_IFMT value.
func TypeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFCHR:
		return "char"
	case unix.S_IFBLK:
		return "block"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	}
	return "unknown"
}

// Stat is stat(2) (follow) or lstat(2), through statx(2) for the mount id.
func Stat(path string, follow bool) (Info, error) {
	call := "lstat"
	flags := unix.AT_SYMLINK_NOFOLLOW
	if follow {
		call, flags = "stat", 0
	}
	var x unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, flags, unix.STATX_BASIC_STATS|unix.STATX_MNT_ID, &x); err != nil {
		return Info{}, pathErr(err, nil, "%s(%q)", call, path)
	}
	return Info{
		Type: TypeName(uint32(x.Mode)), Mode: uint32(x.Mode) & 0o7777,
		UID: int(x.Uid), GID: int(x.Gid), Size: int64(x.Size), Inode: x.Ino, Nlink: x.Nlink,
		Dev: [2]uint32{x.Dev_major, x.Dev_minor}, Rdev: [2]uint32{x.Rdev_major, x.Rdev_minor},
		MountID: x.Mnt_id, HasMountID: x.Mask&unix.STATX_MNT_ID != 0,
	}, nil
}

// Entry is one name in a directory.
type Entry struct {
	Name string
	Type string // as Info.Type; "unknown" when the filesystem does not say
}

// Readdir lists a directory (getdents64(2)), sorted by name, without "." and "..".
func Readdir(path string) ([]Entry, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, pathErr(err, nil, "open(%q, O_DIRECTORY)", path)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, pathErr(err, nil, "getdents64(%q)", path)
	}
	out := make([]Entry, 0, len(des))
	for _, de := range des {
		t := "unknown"
		switch m := de.Type(); {
		case m&os.ModeSymlink != 0:
			t = "symlink"
		case m.IsDir():
			t = "dir"
		case m&os.ModeNamedPipe != 0:
			t = "fifo"
		case m&os.ModeSocket != 0:
			t = "socket"
		case m&os.ModeCharDevice != 0:
			t = "char"
		case m&os.ModeDevice != 0:
			t = "block"
		case m.IsRegular():
			t = "file"
		}
		out = append(out, Entry{Name: de.Name(), Type: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Mkdir is mkdir(2); the umask applies to mode.
func Mkdir(path string, mode uint32) error {
	return pathErr(unix.Mkdir(path, mode), mkdirRules, "mkdir(%q, 0%o)", path, mode)
}

// Rmdir is rmdir(2).
func Rmdir(path string) error { return pathErr(unix.Rmdir(path), rmdirRules, "rmdir(%q)", path) }

// Chmod is chmod(2).
func Chmod(path string, mode uint32) error {
	return pathErr(unix.Chmod(path, mode), chmodRules, "chmod(%q, 0%o)", path, mode)
}

// Chown is chown(2) (lchown(2) when follow is false); -1 leaves an id alone.
func Chown(path string, uid, gid int, follow bool) error {
	if follow {
		return pathErr(unix.Chown(path, uid, gid), chownRules, "chown(%q, %d, %d)", path, uid, gid)
	}
	return pathErr(unix.Lchown(path, uid, gid), chownRules, "lchown(%q, %d, %d)", path, uid, gid)
}

// Symlink is symlink(2): a link at path pointing to target.
func Symlink(target, path string) error {
	return pathErr(unix.Symlink(target, path), symlinkRules, "symlink(%q, %q)", target, path)
}

// Mknod kinds: the file types mknod(2) makes here.
// mknodType is the S_IF* bits of a kind word of Mknod.
func mknodType(kind string) (uint32, bool) {
	switch kind {
	case "char":
		return unix.S_IFCHR, true
	case "block":
		return unix.S_IFBLK, true
	case "fifo":
		return unix.S_IFIFO, true
	}
	return 0, false
}

// MknodTypes are the kind words Mknod takes.
func MknodTypes() []string { return []string{"char", "block", "fifo"} }

// Mknod is mknod(2) of a character or block device major:minor, or a FIFO
// (whose numbers are ignored); the umask applies to mode.
func Mknod(path, kind string, major, minor uint32, mode uint32) error {
	t, ok := mknodType(kind)
	if !ok {
		return fmt.Errorf("unknown node type %q (valid types: char, block, fifo)", kind)
	}
	dev := 0
	if kind != "fifo" {
		dev = int(unix.Mkdev(major, minor))
	}
	return pathErr(unix.Mknod(path, t|mode&0o7777, dev), mknodRules, "mknod(%q, %s %d:%d, 0%o)", path, kind, major, minor, mode)
}

// Chdir is chdir(2) of the calling thread (and every thread sharing its
// fs_struct).
func Chdir(path string) error { return pathErr(unix.Chdir(path), nil, "chdir(%q)", path) }

// Chroot is chroot(2): changes the root directory (not the cwd).
func Chroot(path string) error { return pathErr(unix.Chroot(path), chrootRules, "chroot(%q)", path) }

// Umask sets the file mode creation mask and returns the old one.
func Umask(mask uint32) uint32 { return uint32(unix.Umask(int(mask & 0o777))) }

// CurrentUmask reads the mask without changing it (by setting it and
// putting it back).
func CurrentUmask() uint32 {
	old := unix.Umask(0)
	unix.Umask(old)
	return uint32(old)
}

// Open flag words and their O_ bits.
// openFlags are Open's flag words and their O_* bits.
var openFlags = [...]struct {
	word string
	bits int
}{
	{"rdonly", unix.O_RDONLY}, {"wronly", unix.O_WRONLY}, {"rdwr", unix.O_RDWR}, {"creat", unix.O_CREAT},
	{"excl", unix.O_EXCL}, {"trunc", unix.O_TRUNC}, {"append", unix.O_APPEND}, {"directory", unix.O_DIRECTORY},
	{"nofollow", unix.O_NOFOLLOW}, {"path", unix.O_PATH}, {"nonblock", unix.O_NONBLOCK},
}

// openFlag is the O_* bits of flag word w.
func openFlag(w string) (int, bool) {
	for _, f := range openFlags {
		if f.word == w {
			return f.bits, true
		}
	}
	return 0, false
}

// OpenFlagNames are the words Open takes.
func OpenFlagNames() []string {
	names := make([]string, len(openFlags))
	for i, f := range openFlags {
		names[i] = f.word
	}
	return names
}

// Open is open(2) with flag words (O_CLOEXEC always: a descriptor is the
// shell's, not its children's); mode applies with "creat".
func Open(path string, flags []string, mode uint32) (*os.File, error) {
	bits := unix.O_CLOEXEC
	for _, w := range flags {
		b, ok := openFlag(w)
		if !ok {
			return nil, fmt.Errorf("unknown open flag %q", w)
		}
		bits |= b
	}
	fd, err := unix.Open(path, bits, mode)
	if err != nil {
		return nil, pathErr(err, openRules, "open(%q)", path)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Close closes a descriptor Open returned.
func Close(f *os.File) error {
	if err := f.Close(); err != nil {
		return kerr.New(fmt.Sprintf("close(%q)", f.Name()), unix.EBADF, closeRules)
	}
	return nil
}
