package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// fileRules explain the errnos of the file calls rootfs makes.
var fileRules = kerr.Rules{
	{Errno: unix.ENOENT, Rule: "the path, or a directory on the way to it, does not exist"},
	{Errno: unix.ENOTDIR, Rule: "a component of the path is not a directory"},
	{Errno: unix.EACCES, Rule: "a directory on the way is not searchable, or the file or its directory is not readable or writable for this user"},
	{Errno: unix.EPERM, Rule: "the operation needs a privilege this process lacks (e.g. changing an owner as an ordinary user)"},
	{Errno: unix.EEXIST, Rule: "the path exists already"},
	{Errno: unix.EROFS, Rule: "the filesystem is mounted read-only"},
	{Errno: unix.ENOSPC, Rule: "the filesystem is full"},
	{Errno: unix.EBUSY, Rule: "the path is a mount point, or in use"},
	{Errno: unix.ELOOP, Rule: "too many levels of symbolic links"},
	{Errno: unix.EXDEV, Rule: "the two paths are on different mounts"},
}

// fileErr turns an error of the os package into a kerr.Error that names the
// call and the path the kernel refused ("mkdir(\"/x/etc\"): EROFS: ...").
// Other errors are returned as they are.
func fileErr(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	var se *os.SyscallError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return kerr.New(fmt.Sprintf("%s(%q)", pe.Op, pe.Path), pe.Err, fileRules)
	case errors.As(err, &le):
		return kerr.New(fmt.Sprintf("%s(%q, %q)", le.Op, le.Old, le.New), le.Err, fileRules)
	case errors.As(err, &se):
		return kerr.New(se.Syscall, se.Err, fileRules)
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return kerr.New("file operation", errno, fileRules)
	}
	return err
}

// callErr is a kerr.Error for a raw unix call.
func callErr(err error, format string, args ...any) error {
	return kerr.Newf(err, fileRules, format, args...)
}
