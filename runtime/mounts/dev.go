package mounts

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// devNode is one character device of the minimal /dev.
type devNode struct {
	name         string
	major, minor uint32
}

// devNodes are the nodes the OCI runtime spec calls the default devices.
var devNodes = []devNode{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// devLinks are the symbolic links of the minimal /dev, name -> target.
var devLinks = [][2]string{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
	{"ptmx", "pts/ptmx"},
}

// MinimalDev builds a container /dev at target (a directory that exists):
// a tmpfs, the nodes null, zero, full, random, urandom and tty, the links fd,
// stdin, stdout, stderr and ptmx, a private devpts at pts, a tmpfs at shm, and
// console bound from the terminal on stdin when stdin is a terminal.
func MinimalDev(target string) error {
	return minimalDev(target, true, true)
}

func minimalDev(target string, pts, shm bool) error {
	// A tmpfs of our own, so nothing of the host's /dev shows through.
	if err := mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return err
	}
	for _, n := range devNodes {
		if err := makeNode(filepath.Join(target, n.name), n); err != nil {
			return err
		}
	}
	for _, l := range devLinks {
		if err := os.Symlink(l[1], filepath.Join(target, l[0])); err != nil {
			return kerr.Newf(err, nil, "symlink(%q, %q)", l[1], filepath.Join(target, l[0]))
		}
	}
	if pts {
		// newinstance: a devpts of our own, whose ptys the host cannot see
		// (and we not the host's); ptmxmode=0666 so /dev/ptmx -> pts/ptmx
		// works for everyone. No gid=5: in a user namespace gid 5 may be
		// unmapped and the mount would fail with EINVAL.
		dir := filepath.Join(target, "pts")
		if err := mkdir(dir, 0o755); err != nil {
			return err
		}
		if err := mount("devpts", dir, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
			return err
		}
	}
	if shm {
		dir := filepath.Join(target, "shm")
		if err := mkdir(dir, 0o1777); err != nil {
			return err
		}
		if err := mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
			return err
		}
	}
	return bindConsole(filepath.Join(target, "console"))
}

// makeNode creates the character device n at path with mode 0666.
//
// Inside a user namespace mknod(2) of a device fails with EPERM whatever the
// namespace's capabilities: only CAP_MKNOD in the initial user namespace
// creates devices (otherwise the container could make a node for the host's
// disk). Binding the host's node onto an empty file gives the same device
// without creating one: the bind refers to the host's existing inode, which
// the kernel already lets us open.
func makeNode(path string, n devNode) error {
	err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(n.major, n.minor)))
	if err == nil {
		// mknod applied the umask; set the mode the devices need.
		return kerr.Newf(unix.Chmod(path, 0o666), nil, "chmod(%q, 0666)", path)
	}
	if !errors.Is(err, unix.EPERM) {
		return kerr.Newf(err, mknodRules, "mknod(%q, c, %d, %d)", path, n.major, n.minor)
	}
	f, ferr := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o666)
	if ferr != nil {
		return kerr.Newf(ferr, nil, "creating %q to bind /dev/%s on", path, n.name)
	}
	f.Close()
	return Bind("/dev/"+n.name, path, false, false)
}

// bindConsole binds the terminal on stdin to path, the way runc gives a
// container the user's terminal as /dev/console. Without a terminal there is
// no console, and nothing is done.
func bindConsole(path string) error {
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		return nil
	}
	tty, err := os.Readlink("/proc/thread-self/fd/0")
	if err != nil || !filepath.IsAbs(tty) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return kerr.Newf(err, nil, "creating %q to bind the terminal on", path)
	}
	f.Close()
	return Bind(tty, path, false, false)
}

// mkdir makes dir and its parents; the mode is set exactly (no umask).
func mkdir(dir string, mode uint32) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return kerr.Newf(err, nil, "mkdir(%q)", dir)
	}
	return kerr.Newf(unix.Chmod(dir, mode), nil, "chmod(%q, %#o)", dir, mode)
}
