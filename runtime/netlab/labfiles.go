package netlab

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// A lab's own directory holds a helper per node (a directory and a file),
// written twice (the node, then its address) and removed at Close. On a
// disk filesystem that is four metadata updates per node, with their
// journal commits: on this machine's ext4 (mounted with discard) 1000
// nodes cost 0.7-1.5 s to write and 1.1-1.5 s to remove. On a tmpfs the
// same is 0.05-0.1 s, and Close removes it all with one umount. /run is
// a tmpfs on most systems, and so is $XDG_RUNTIME_DIR, where an ordinary
// user's labs go; where the labs directory is not, a lab's own directory
// gets a tmpfs of its own, mounted on it for the life of the lab.
//
// Only for root of the initial user namespace: an ordinary user's nsh runs
// in a user and mount namespace of its own, whose mounts no other terminal
// sees (nsh --enter must find the helpers), and its labs go to
// $XDG_RUNTIME_DIR anyway. A root nsh in a mount namespace of its own
// (unshare -m) keeps its lab's files in that namespace, as it keeps its
// pins under /run/netns.

// labTmpfsOpts: the helpers must stay executable; 64 MiB bounds what a
// lab's files may take (a 1000-node lab uses about 4 MiB: a page a file).
const labTmpfsOpts = "mode=0700,size=64m"

// wantTmpfs says whether dir (a lab's own, just made) should get a tmpfs.
func wantTmpfs(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil || st.Type == unix.TMPFS_MAGIC {
		return false
	}
	if b, err := os.ReadFile("/proc/self/uid_map"); err != nil || strings.Join(strings.Fields(string(b)), " ") != "0 0 4294967295" {
		return false // in a user namespace: its mounts are its own
	}
	return true
}

// mountTmpfs mounts the lab's tmpfs on its directory, told to Note first
// (a killed nsh's sweep unmounts it before it removes the directory).
func (l *Lab) mountTmpfs(dir string) error {
	l.note("mount", dir)
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, labTmpfsOpts); err != nil {
		return kerr.Newf(err, nil, "mount -t tmpfs -o %s tmpfs %s", labTmpfsOpts, dir)
	}
	l.tmpfs = true
	return nil
}

// umountTmpfs drops the lab's tmpfs and every file in it, then removes the
// directory it was mounted on.
func (l *Lab) umountTmpfs() error {
	if err := unix.Unmount(l.dir, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return kerr.Newf(err, nil, "umount %s", l.dir)
	}
	l.tmpfs = false
	if err := os.Remove(l.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// unpinAll removes pins concurrently: each umount waits for an RCU grace
// period (namespace_unlock), and concurrent ones share them.
func unpinAll(pins []string) []error {
	const workers = 16
	if len(pins) < 2*workers {
		var errs []error
		for _, p := range pins {
			if err := unpin(p); err != nil {
				errs = append(errs, err)
			}
		}
		return errs
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	ch := make(chan string)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range ch {
				if err := unpin(p); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range pins {
		ch <- p
	}
	close(ch)
	wg.Wait()
	return errs
}

// A pin is a file under /run/netns with the namespace bind-mounted on it.
// Making a new inode for each costs 1.3-3.5 ms of wall and up to 1 ms of
// CPU on this machine's ext4 (where /run is no tmpfs), and slows down the
// namespace creations around it; a new name for an existing inode costs
// 25 µs. So the pin files of a process are names of one anonymous inode:
// an O_TMPFILE in /run/netns, given each pin's name with linkat(2). A
// mount attaches to a name (a dentry), not to an inode, so each name is a
// mount point of its own, and once mounted every pin looks as ip netns
// add's does. Where O_TMPFILE is refused, each pin gets a file of its own.

// pinFile makes the file p for a pin, failing with EEXIST when it exists
// (as O_CREAT|O_EXCL). Call with pinState locked.
func pinFile(p string) error {
	if pinState.tmpfd < 0 && !pinState.noTmp {
		fd, err := unix.Open(runNetns, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			pinState.noTmp = true
		} else {
			pinState.tmpfd = fd
		}
	}
	if pinState.tmpfd >= 0 {
		err := unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", pinState.tmpfd), unix.AT_FDCWD, p, unix.AT_SYMLINK_FOLLOW)
		if err == nil || errors.Is(err, unix.EEXIST) {
			return err
		}
		// anything else: fall back to a file of its own
	}
	f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// closePinInode lets the pins' anonymous inode go (the last pin is gone).
// Call with pinState locked.
func closePinInode() {
	if pinState.tmpfd >= 0 {
		unix.Close(pinState.tmpfd)
		pinState.tmpfd = -1
	}
}
