package nsproc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// ErrPinExists: the pin's path is taken (by an earlier pin, or a file).
var ErrPinExists = errors.New("the file already exists (another namespace pinned there?)")

// NetnsDir is where `ip netns` keeps named network namespaces.
const NetnsDir = "/run/netns"

var pinRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "bind-mounting a namespace file needs CAP_SYS_ADMIN in the user namespace that owns the caller's mount namespace"},
	{Errno: unix.EINVAL, Rule: "a namespace can only be pinned in a mount namespace other than its own mount namespace's descendants (a mount namespace cannot pin itself or a newer one inside itself: that would make a loop)"},
	{Errno: unix.ENOENT, Rule: "the target directory does not exist"},
}

// PinPath is where Pin puts a namespace given a bare name: /run/netns/NAME
// for net (so `ip netns exec NAME` and `nsenter --net=/run/netns/NAME` work),
// /run/nsh/TYPE/NAME for other types. A name with a slash is a path.
func PinPath(typ, name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	if typ == "net" {
		return filepath.Join(NetnsDir, name)
	}
	return filepath.Join("/run/nsh", typ, name)
}

// PinNameRule is what a pin's name must be.
const PinNameRule = "a pin's name is a file name: 1 to 255 bytes, no NUL, not \".\" or \"..\", and no control characters such as a newline (ip netns, mountinfo and every line-based tool would misread them); a name with a slash is a path of such names"

// CheckPinName refuses a name the kernel or ip netns would refuse or that
// would break the line-based tools that list pins.
func CheckPinName(name string) error {
	bad := func(why string) error { return fmt.Errorf("bad pin name %q: %s (%s)", name, why, PinNameRule) }
	if name == "" {
		return bad("empty")
	}
	for _, c := range []byte(name) {
		if c == 0 || c < 0x20 || c == 0x7f {
			return bad(fmt.Sprintf("it contains the byte 0x%02x", c))
		}
	}
	if strings.Contains(name, "/") {
		for _, part := range strings.Split(name, "/") {
			if part == ".." || part == "." {
				return bad("no \".\" or \"..\" in a path")
			}
			if len(part) > 255 {
				return bad("a part of the path is longer than 255 bytes")
			}
		}
		if strings.HasSuffix(name, "/") {
			return bad("a path must name a file, not end in /")
		}
		return nil
	}
	if name == "." || name == ".." {
		return bad("not a file name")
	}
	if len(name) > 255 {
		return bad("longer than 255 bytes")
	}
	return nil
}

// Pin bind-mounts the namespace file src (e.g. /proc/PID/ns/net) onto target,
// creating target as an empty file. The namespace then lives as long as the
// mount does, with no process in it. Returns the target path.
func Pin(src, typ, name string) (string, error) {
	if err := CheckPinName(name); err != nil {
		return "", err
	}
	target := PinPath(typ, name)
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", kerr.New(fmt.Sprintf("mkdir(%q)", dir), err, nil)
	}
	if filepath.Clean(dir) == NetnsDir {
		if err := sharedNetnsDir(); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(target); err == nil {
		return "", fmt.Errorf("pin %q: %w", target, ErrPinExists)
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return "", kerr.New(fmt.Sprintf("create(%q)", target), err, nil)
	}
	f.Close()
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		os.Remove(target)
		return "", kerr.New(fmt.Sprintf("mount(%q, %q, MS_BIND)", src, target), err, pinRules)
	}
	return target, nil
}

// madeNetnsMount: this process made /run/netns a mount point (and undoes
// that when its last pin there goes).
var madeNetnsMount bool

// sharedNetnsDir does what `ip netns add` does to /run/netns: make it a mount
// point with shared propagation, so pins made later propagate to every mount
// namespace that copied it.
func sharedNetnsDir() error {
	err := unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == unix.EINVAL { // not a mount point yet
		if err := unix.Mount(NetnsDir, NetnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return kerr.New(fmt.Sprintf("mount(%q, %q, MS_BIND)", NetnsDir, NetnsDir), err, pinRules)
		}
		madeNetnsMount = true
		err = unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	return kerr.New(fmt.Sprintf("mount(%q, MS_SHARED)", NetnsDir), err, pinRules)
}

// releaseNetnsDir undoes sharedNetnsDir once no pin is left there, so a
// session leaves the machine as it found it (ip netns add does not).
func releaseNetnsDir() {
	if !madeNetnsMount {
		return
	}
	if names, err := os.ReadDir(NetnsDir); err == nil && len(names) == 0 {
		if unix.Unmount(NetnsDir, unix.MNT_DETACH) == nil {
			madeNetnsMount = false
		}
	}
}

// Unpin detaches the bind mount at target and removes the file. The
// namespace dies when nothing else holds it.
func Unpin(target string) error {
	err := unix.Unmount(target, unix.MNT_DETACH)
	if err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return kerr.New(fmt.Sprintf("umount2(%q, MNT_DETACH)", target), err, pinRules)
	}
	if err := os.Remove(target); err != nil && !os.IsNotExist(err) {
		return kerr.New(fmt.Sprintf("unlink(%q)", target), err, nil)
	}
	if filepath.Dir(target) == NetnsDir {
		releaseNetnsDir()
	}
	tidyPinDir(target)
	return nil
}

// tidyPinDir removes the directory /run/nsh/TYPE that Pin made for bare
// names, once its last pin is gone (rmdir fails harmlessly before).
func tidyPinDir(target string) {
	if d := filepath.Dir(target); filepath.Dir(d) == "/run/nsh" {
		os.Remove(d)
	}
}
