package nsproc

import (
	"fmt"
	"os"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

var ioctlRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "the namespace asked for lies outside the caller's view (an ancestor of the caller's own PID or user namespace), so the kernel will not hand out a descriptor for it"},
	{Errno: unix.ENOTTY, Rule: "the file is not a namespace (nsfs) file, or the kernel lacks ioctl_ns"},
	{Errno: unix.EINVAL, Rule: "this query applies to PID and user namespaces only (NS_GET_PARENT), or to user namespaces only (NS_GET_OWNER_UID)"},
}

// NSInfo describes one namespace found through ioctl_ns(2).
type NSInfo struct {
	Type     string // from NS_GET_NSTYPE
	Inode    uint64
	OwnerUID int // uid of the creator of the owning user namespace (NS_GET_OWNER_UID on the owner); -1 unknown
}

func nsTypeName(flag int) string {
	for _, t := range Types {
		if int(t.Flag) == flag {
			return t.Name
		}
	}
	return fmt.Sprintf("type %#x", flag)
}

func inodeOfFD(fd int) uint64 {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0
	}
	return st.Ino
}

// TypeOf is NS_GET_NSTYPE on the namespace file at path.
func TypeOf(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nsErr(fmt.Sprintf("open(%q)", path), err)
	}
	defer f.Close()
	v, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		return "", kerr.New(fmt.Sprintf("ioctl(%q, NS_GET_NSTYPE)", path), err, ioctlRules)
	}
	return nsTypeName(v), nil
}

// relative opens the namespace related to the one at path by req
// (NS_GET_PARENT or NS_GET_USERNS) and describes it.
func relative(path string, req uint, reqName string) (NSInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return NSInfo{}, nsErr(fmt.Sprintf("open(%q)", path), err)
	}
	defer f.Close()
	fd, err := unix.IoctlRetInt(int(f.Fd()), req)
	if err != nil {
		return NSInfo{}, kerr.New(fmt.Sprintf("ioctl(%q, %s)", path, reqName), err, ioctlRules)
	}
	defer unix.Close(fd)
	return describeFD(fd)
}

func describeFD(fd int) (NSInfo, error) {
	info := NSInfo{Inode: inodeOfFD(fd), OwnerUID: -1}
	if v, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE); err == nil {
		info.Type = nsTypeName(v)
	}
	if info.Type == "user" {
		info.OwnerUID = ownerUID(fd)
	}
	return info, nil
}

func ownerUID(fd int) int {
	var uid uint32
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.NS_GET_OWNER_UID), uintptrOf(&uid))
	if errno != 0 {
		return -1
	}
	return int(uid)
}

// Parent is NS_GET_PARENT: the parent of a PID or user namespace.
func Parent(path string) (NSInfo, error) { return relative(path, unix.NS_GET_PARENT, "NS_GET_PARENT") }

// Owner is NS_GET_USERNS: the user namespace that owns the namespace.
func Owner(path string) (NSInfo, error) { return relative(path, unix.NS_GET_USERNS, "NS_GET_USERNS") }

// Describe reports the type, inode and (for a user namespace) owner uid of
// the namespace at path.
func Describe(path string) (NSInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return NSInfo{}, nsErr(fmt.Sprintf("open(%q)", path), err)
	}
	defer f.Close()
	return describeFD(int(f.Fd()))
}

// Ancestors walks NS_GET_PARENT from the namespace at path up to the top the
// caller can see, returning the chain from that namespace upward (first
// element: the namespace itself).
func Ancestors(path string) ([]NSInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nsErr(fmt.Sprintf("open(%q)", path), err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return nil, err
	}
	var chain []NSInfo
	for i := 0; i < 64; i++ {
		info, _ := describeFD(fd)
		chain = append(chain, info)
		pfd, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
		unix.Close(fd)
		if err != nil {
			// EPERM: the parent is outside our view; that is the top.
			break
		}
		fd = pfd
	}
	return chain, nil
}
