// Package leftover removes what dead nsh processes left behind, from their
// journals (runtime/cleanup.Journal): exactly the children, pins, mounts,
// cgroups, directories and links they recorded, nothing found by a name
// pattern. Every nsh runs it at start for its own user; `nsh --cleanup`
// runs it on demand.
package leftover

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"nsh/runtime/cleanup"
	"nsh/runtime/mounts"
	"nsh/runtime/rootfs"
	"nsh/runtime/statedir"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Sub is the folder of the state directory that holds the journals.
const Sub = "procs"

// Dir is the journals' directory, created when missing.
func Dir() (string, error) { return statedir.Sub(Sub) }

// Report is what a sweep did.
type Report struct {
	Procs  int            // dead processes whose journals were handled
	Counts map[string]int // things removed, by kind
	Errs   []error
}

// Empty: nothing was left behind.
func (r Report) Empty() bool { return r.Procs == 0 }

// Summary is one line: "3 pins, 1 cgroup, 2 children".
func (r Report) Summary() string {
	var kinds []string
	for k := range r.Counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		n := r.Counts[k]
		name := k
		if n != 1 {
			name = plural(k)
		} else if k == "ipc" {
			name = "System V object"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, name))
	}
	if len(parts) == 0 {
		return "nothing that still existed"
	}
	return strings.Join(parts, ", ")
}

func plural(k string) string {
	switch k {
	case "child":
		return "children"
	case "dir":
		return "directories"
	case "ipc":
		return "System V objects"
	}
	return k + "s"
}

// Sweep undoes, newest first, what the journals in dir of dead processes
// still record, and removes those journals. A journal whose owner lives
// (it holds the journal's lock) is left alone, as is one another nsh is
// sweeping at the same moment.
func Sweep(dir, self string) Report {
	rep := Report{Counts: map[string]int{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			rep.Errs = append(rep.Errs, err)
		}
		return rep
	}
	for _, e := range ents {
		pid, _, ok := parseName(e.Name())
		p := filepath.Join(dir, e.Name())
		if !ok || p == self {
			continue
		}
		locked, unlock := cleanup.Locked(p)
		if locked {
			continue
		}
		recs, err := cleanup.ReadJournal(p)
		if err != nil {
			rep.Errs = append(rep.Errs, err)
			unlock()
			continue
		}
		if len(recs) == 0 { // everything undone or kept: nothing to say
			os.Remove(p)
			unlock()
			continue
		}
		rep.Procs++
		failed := false
		for i := len(recs) - 1; i >= 0; i-- {
			done, err := Undo(recs[i])
			if err != nil {
				failed = true
				rep.Errs = append(rep.Errs, fmt.Errorf("%s (left by nsh %d): %w", recs[i], pid, err))
			} else if done {
				rep.Counts[recs[i].Kind]++
			}
		}
		if !failed {
			os.Remove(p)
		}
		unlock()
	}
	return rep
}

func parseName(n string) (int, uint64, bool) {
	a, rest, ok := strings.Cut(n, ".")
	b, _, _ := strings.Cut(rest, ".")
	if !ok {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(a)
	start, err2 := strconv.ParseUint(b, 10, 64)
	return pid, start, err1 == nil && err2 == nil && pid > 0
}

// Finish undoes what j still records at the end of its process (what
// its ns.clone children left, what failed to undo before) and closes it.
func Finish(j *cleanup.Journal) Report {
	rep := Report{Counts: map[string]int{}}
	if j == nil {
		return rep
	}
	recs, _ := j.Left()
	for i := len(recs) - 1; i >= 0; i-- {
		done, err := Undo(recs[i])
		if err != nil {
			rep.Errs = append(rep.Errs, fmt.Errorf("%s: %w", recs[i], err))
		} else if done {
			rep.Counts[recs[i].Kind]++
		}
	}
	if len(rep.Errs) == 0 && len(recs) > 0 {
		j.Truncate()
	}
	j.Close()
	return rep
}

// Undo removes one recorded thing if it still exists (done reports
// whether something was there to remove).
func Undo(r cleanup.Record) (done bool, err error) {
	switch r.Kind {
	case "child":
		st, err := statedir.StartTime(r.Pid)
		if err != nil || st != r.Start {
			return false, nil // ended (or the pid is another process's now)
		}
		if err := unix.Kill(r.Pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
			return false, fmt.Errorf("kill(%d, SIGKILL): %w", r.Pid, err)
		}
		return true, nil
	case "pin":
		return inNS(r.NS, "mnt", func() (bool, error) { return unpinRecorded(r) })
	case "mount":
		return inNS(r.NS, "mnt", func() (bool, error) { return mounts.UnmountRecorded(r) })
	case "dir":
		return inNS(r.NS, "mnt", func() (bool, error) {
			if _, err := os.Lstat(r.Path); err != nil || !samePath(r) {
				return false, nil
			}
			return true, rootfs.RemoveTree(r.Path)
		})
	case "cgroup":
		if !samePath(r) {
			return false, nil // gone, or another group of that name now
		}
		return removeCgroup(r.Path)
	case "link":
		return inNS(r.NS, "net", func() (bool, error) {
			lk, err := netlink.LinkByName(r.Path)
			if err != nil || (r.Index != 0 && lk.Attrs().Index != r.Index) {
				return false, nil
			}
			return true, netlink.LinkDel(lk)
		})
	case "ipc":
		return inNS(r.NS, "ipc", func() (bool, error) { return removeIPC(r) })
	}
	return false, fmt.Errorf("unknown kind %q in the journal", r.Kind)
}

func unmount(path string, pin bool) (bool, error) {
	err := unix.Unmount(path, unix.MNT_DETACH)
	done := err == nil
	if err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return false, fmt.Errorf("umount2(%q, MNT_DETACH): %w", path, err)
	}
	if pin {
		if err := os.Remove(path); err == nil {
			done = true
		} else if !os.IsNotExist(err) {
			return done, err
		}
		tidyPinDirs(path)
	}
	return done, nil
}

// tidyPinDirs removes /run/nsh/TYPE (and /run/netns's own leftovers are
// ip netns's business) once empty.
func tidyPinDirs(path string) {
	d := filepath.Dir(path)
	if filepath.Dir(d) == "/run/nsh" {
		os.Remove(d)
	}
}

// inNS runs fn in the namespace of type typ with inode ino: here when it
// is this thread's, else on a fresh thread that joins it through a process
// still in it. A namespace nobody is in any more is gone, with everything
// in it: nothing to do.
func inNS(ino uint64, typ string, fn func() (bool, error)) (bool, error) {
	if ino == 0 || inode("/proc/thread-self/ns/"+typ) == ino {
		return fn()
	}
	holder := findNS(ino, typ)
	if holder == "" {
		return false, nil
	}
	type res struct {
		done bool
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		fd, err := unix.Open(holder, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- res{false, nil} // the holder went away
			return
		}
		defer unix.Close(fd)
		flag := nsFlag(typ)
		if typ == "mnt" {
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				ch <- res{false, fmt.Errorf("unshare(CLONE_FS): %w", err)}
				return
			}
		}
		if inode(holder) != ino {
			ch <- res{false, nil}
			return
		}
		if err := unix.Setns(fd, flag); err != nil {
			ch <- res{false, fmt.Errorf("setns(%s namespace %d): %w", typ, ino, err)}
			return
		}
		d, err := fn()
		ch <- res{d, err}
	}()
	r := <-ch
	return r.done, r.err
}

func inode(p string) uint64 {
	var st unix.Stat_t
	if unix.Stat(p, &st) != nil {
		return 0
	}
	return st.Ino
}

// findNS is /proc/PID/ns/TYPE of some process in the namespace, or "".
func findNS(ino uint64, typ string) string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return ""
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		p := "/proc/" + e.Name() + "/ns/" + typ
		if inode(p) == ino {
			return p
		}
	}
	return ""
}

// removeCgroup kills what is in the group and its children, then removes
// them, deepest first.
func removeCgroup(dir string) (bool, error) {
	if _, err := os.Stat(dir); err != nil {
		return false, nil
	}
	if os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0) != nil {
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Name() == "cgroup.procs" {
				if b, err := os.ReadFile(p); err == nil {
					for _, f := range strings.Fields(string(b)) {
						if pid, err := strconv.Atoi(f); err == nil {
							syscall.Kill(pid, syscall.SIGKILL)
						}
					}
				}
			}
			return nil
		})
	}
	var dirs []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		deadline := time.Now().Add(3 * time.Second)
		for {
			err := unix.Rmdir(dirs[i])
			if err == nil || err == unix.ENOENT {
				break
			}
			if (err != unix.EBUSY && err != unix.ENOTEMPTY) || time.Now().After(deadline) {
				return false, fmt.Errorf("rmdir(%s): %w", dirs[i], err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// the parent nsh made for its groups, when empty now
	os.Remove(filepath.Dir(dir))
	return true, nil
}
