package mounts

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// Mount is mount(2) with flags as words (see ParseFlags). key=value items in
// flags are joined before data.
func Mount(source, target, fstype, flags, data string) error {
	f, fdata, err := ParseFlags(flags)
	if err != nil {
		return err
	}
	switch {
	case fdata != "" && data != "":
		data = fdata + "," + data
	case fdata != "":
		data = fdata
	}
	return mount(source, target, fstype, f, data)
}

// mount is the raw call with the kerr wrapping shared by every function here.
func mount(source, target, fstype string, flags uintptr, data string) error {
	err := unix.Mount(source, target, fstype, flags, data)
	if err == nil {
		return nil
	}
	return kerr.New(mountCall(source, target, fstype, flags, data), err, rulesFor(fstype))
}

// mountCall is how a failed mount(2) is named in its error.
func mountCall(source, target, fstype string, flags uintptr, data string) string {
	call := fmt.Sprintf("mount(%q, %q, %q, %q", source, target, fstype, FormatFlags(flags))
	if data != "" {
		call += fmt.Sprintf(", %q", data)
	}
	return call + ")"
}

// Umount is umount2(2): detach gives MNT_DETACH (lazy: gone from the tree now,
// freed when the last user leaves), force gives MNT_FORCE.
func Umount(target string, detach, force bool) error {
	flags := 0
	var words []string
	if detach {
		flags |= unix.MNT_DETACH
		words = append(words, "detach")
	}
	if force {
		flags |= unix.MNT_FORCE
		words = append(words, "force")
	}
	return kerr.Newf(unix.Unmount(target, flags), umountRules, "umount(%q%s)", target, quoteWords(words))
}

func quoteWords(words []string) string {
	if len(words) == 0 {
		return ""
	}
	return fmt.Sprintf(", %q", strings.Join(words, ","))
}

// Bind makes target show source's tree (MS_BIND; MS_REC with recursive).
// A bind mount ignores MS_RDONLY on creation, so readonly takes a second step:
// a remount with MS_BIND|MS_REMOUNT|MS_RDONLY that keeps the mount's other
// flags (nosuid, nodev, noexec, atime): inside a user namespace those are
// locked and dropping them makes the remount fail with EPERM. With recursive
// and readonly, every submount is made read-only too, through mount_setattr(2)
// with AT_RECURSIVE, which the old remount cannot do.
func Bind(source, target string, recursive, readonly bool) error {
	flags := uintptr(unix.MS_BIND)
	if recursive {
		flags |= unix.MS_REC
	}
	if err := mount(source, target, "", flags, ""); err != nil {
		return bindErr(source, err)
	}
	if !readonly {
		return nil
	}
	if recursive {
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		err := unix.MountSetattr(unix.AT_FDCWD, target, unix.AT_RECURSIVE, attr)
		return kerr.Newf(err, kerr.Rules{
			{Errno: unix.EPERM, Rule: "a submount is locked read-write by a more privileged user namespace"},
			{Errno: unix.EINVAL, Rule: "the target is not a mount point"},
			{Errno: unix.ENOSYS, Rule: "mount_setattr needs Linux 5.12 or later"},
		}, "mount_setattr(%q, AT_RECURSIVE, MOUNT_ATTR_RDONLY)", target)
	}
	return remountReadonly(target)
}

// bindErr names the unbindable rule when the source's mount is unbindable:
// the kernel refuses to bind such a mount anywhere (EINVAL), and the generic
// mount(2) rule would not say so.
func bindErr(source string, err error) error {
	var ke *kerr.Error
	if !errors.As(err, &ke) || ke.Errno != unix.EINVAL {
		return err
	}
	var stx unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, source, 0, unix.STATX_MNT_ID, &stx) != nil || stx.Mask&unix.STATX_MNT_ID == 0 {
		return err
	}
	table, lerr := List(0)
	if lerr != nil {
		return err
	}
	for _, e := range table {
		if uint64(e.ID) == stx.Mnt_id && strings.Contains(e.Kind(), "unbindable") {
			ke.Rule = fmt.Sprintf("the source is on an unbindable mount (%s, mount ID %d, MS_UNBINDABLE): the kernel refuses to bind it anywhere; "+
				"a recursive bind of a tree above it skips it instead", e.Target, e.ID)
			return ke
		}
	}
	return err
}

// remountReadonly remounts the bind mount at target read-only, keeping the
// per-mount flags statfs reports (ST_* bits equal the MS_* bits).
func remountReadonly(target string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		return kerr.Newf(err, nil, "statfs(%q)", target)
	}
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
		unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	return mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, "")
}

// propagationKind is the MS_* flag of a propagation type.
func propagationKind(kind string) (uintptr, bool) {
	switch kind {
	case "private":
		return unix.MS_PRIVATE, true
	case "shared":
		return unix.MS_SHARED, true
	case "slave":
		return unix.MS_SLAVE, true
	case "unbindable":
		return unix.MS_UNBINDABLE, true
	}
	return 0, false
}

// PropagationKinds are the words MakePropagation takes: private, shared,
// slave, unbindable, and each with an r in front (recursive, as mount(8)'s
// --make-rprivate).
var PropagationKinds = []string{"private", "shared", "slave", "unbindable", "rprivate", "rshared", "rslave", "runbindable"}

// MakePropagation sets the propagation type of the mount at target: kind is
// one of PropagationKinds; recursive (or an r in front of kind) applies it
// to every mount below as well (MS_REC).
func MakePropagation(target, kind string, recursive bool) error {
	f, ok := propagationKind(kind)
	if !ok {
		if k, cut := strings.CutPrefix(kind, "r"); cut {
			if f, ok = propagationKind(k); ok {
				kind, recursive = k, true
			}
		}
	}
	if !ok {
		return fmt.Errorf("make: kind %q is not valid (valid: %s)", kind, strings.Join(PropagationKinds, ", "))
	}
	word := kind
	if recursive {
		f |= unix.MS_REC
		word = "r" + kind
	}
	return kerr.Newf(unix.Mount("", target, "", f, ""), propagationRules, "mount(\"\", %q, \"\", %q)", target, word)
}

// Move moves the mount at source (and everything under it) to target (MS_MOVE).
func Move(source, target string) error {
	return kerr.Newf(unix.Mount(source, target, "", unix.MS_MOVE, ""), moveRules, "mount(%q, %q, \"\", \"move\")", source, target)
}

// validSize: digits, then at most one of k, m, g (either case) or %
// (`^[0-9]+[kKmMgG%]?$`; checked by hand: the regexp package, linked, ran
// its and unicode's table inits at every start of nsh).
func validSize(s string) bool {
	digits := strings.TrimRight(s, "0123456789")
	if len(digits) == len(s) {
		// a unit at the end
		if len(s) < 2 || !strings.ContainsRune("kKmMgG%", rune(s[len(s)-1])) {
			return false
		}
		digits = strings.TrimRight(s[:len(s)-1], "0123456789")
	}
	return digits == ""
}

// validMode: three or four octal digits (`^[0-7]{3,4}$`).
func validMode(s string) bool {
	return (len(s) == 3 || len(s) == 4) && strings.Trim(s, "01234567") == ""
}

// Tmpfs mounts a tmpfs at target. size is "" (the kernel default, half of
// RAM), bytes, or a number with k, m, g or % (of RAM); mode is "" or octal
// such as "755" or "1777".
func Tmpfs(target, size, mode string) error {
	var opts []string
	if size != "" {
		if !validSize(size) {
			return fmt.Errorf("tmpfs: size %q is not valid (valid: bytes, or a number with k, m, g or %%, e.g. \"64m\")", size)
		}
		opts = append(opts, "size="+size)
	}
	if mode != "" {
		if !validMode(mode) {
			return fmt.Errorf("tmpfs: mode %q is not valid (valid: octal such as \"755\" or \"1777\")", mode)
		}
		opts = append(opts, "mode="+mode)
	}
	return mount("tmpfs", target, "tmpfs", 0, strings.Join(opts, ","))
}

var overlayRules = kerr.Rules{
	{Errno: unix.EINVAL, Rule: "overlay refuses when upperdir and workdir are on different filesystems, workdir is not an empty directory, one of them is inside the other, or a lower layer is missing; the kernel log (dmesg) names the exact reason"},
	{Errno: unix.ENOENT, Rule: "a lowerdir, upperdir or workdir does not exist"},
	{Errno: unix.EBUSY, Rule: "upperdir or workdir is already in use by another overlay mount"},
	{Errno: unix.EPERM, Rule: "overlay in a user namespace needs Linux 5.11 or later and CAP_SYS_ADMIN in the user namespace owning the mount namespace"},
	{Errno: unix.ENODEV, Rule: "the kernel has no overlay filesystem (modprobe overlay)"},
}

// Overlay mounts an overlay filesystem at target. lower lists the lower
// layers, topmost first. With upper and work empty the overlay is read-only;
// otherwise writes go to upper, and work must be an empty directory on the
// same filesystem as upper.
func Overlay(lower []string, upper, work, target string) error {
	if target == "" {
		return fmt.Errorf("overlay: target missing: the directory the overlay is mounted on")
	}
	if len(lower) == 0 {
		return fmt.Errorf("overlay: lower is empty (give at least one lower directory)")
	}
	if (upper == "") != (work == "") {
		return fmt.Errorf("overlay: upper and work go together (give both, or neither for a read-only overlay)")
	}
	for _, p := range append(append([]string{}, lower...), upper, work) {
		if strings.ContainsAny(p, ":,") {
			return fmt.Errorf("overlay: path %q contains ':' or ',', which overlay options cannot carry", p)
		}
	}
	data := "lowerdir=" + strings.Join(lower, ":")
	if upper != "" {
		data += ",upperdir=" + upper + ",workdir=" + work
	}
	err := unix.Mount("overlay", target, "overlay", 0, data)
	return kerr.Newf(err, overlayRules, "mount(\"overlay\", %q, \"overlay\", \"\", %q)", target, data)
}

// exists reports whether path exists (without following a final symlink).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
