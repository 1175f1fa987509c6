package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// settleTimeout bounds every wait for the kernel (freezing, dying processes).
const settleTimeout = 5 * time.Second

// Freeze stops every process in the group and waits until the kernel reports
// it frozen: v1 freezer.state FROZEN (passing through FREEZING), or v2
// cgroup.freeze 1 until cgroup.events says "frozen 1".
func (g *Group) Freeze() error { return g.setFrozen(true) }

// Thaw undoes Freeze and waits until the group runs again.
func (g *Group) Thaw() error { return g.setFrozen(false) }

func (g *Group) setFrozen(frozen bool) error {
	if dir, v := g.dirOf("freezer"); dir != "" && v == 1 {
		want := "THAWED"
		if frozen {
			want = "FROZEN"
		}
		deadline := time.Now().Add(settleTimeout)
		for {
			// Writing again while FREEZING retries tasks that were busy.
			if err := writeFile(dir, "freezer.state", want); err != nil {
				return err
			}
			st, err := readFile(dir, "freezer.state")
			if err != nil {
				return err
			}
			if st == want {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("cgroups: %s/freezer.state stayed %s, wanted %s after %v", dir, st, want, settleTimeout)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	dir := g.v2dir()
	if dir == "" {
		return fmt.Errorf("cgroups: group %q has no freezer: create it with the \"freezer\" controller (v1) or on a host with cgroup v2", g.name)
	}
	want := "0"
	if frozen {
		want = "1"
	}
	if err := writeFile(dir, "cgroup.freeze", want); err != nil {
		return err
	}
	deadline := time.Now().Add(settleTimeout)
	for {
		ev, err := readKeyed(dir, "cgroup.events")
		if err != nil {
			return err
		}
		if v, ok := ev["frozen"]; !ok || fmt.Sprint(v) == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroups: %s/cgroup.events did not report frozen %s after %v", dir, want, settleTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Frozen reports whether the group is frozen (v1 freezer.state FROZEN, v2
// cgroup.events frozen 1).
func (g *Group) Frozen() (bool, error) {
	if dir, v := g.dirOf("freezer"); dir != "" && v == 1 {
		st, err := readFile(dir, "freezer.state")
		return st == "FROZEN", err
	}
	if dir := g.v2dir(); dir != "" {
		ev, err := readKeyed(dir, "cgroup.events")
		return ev["frozen"] == 1, err
	}
	return false, nil
}

// Kill sends SIGKILL to every process in the group and its children and
// waits until they are gone. v2 uses cgroup.kill (atomic, also reaches
// frozen tasks and tasks forking meanwhile); v1 has no such file, so every pid
// in cgroup.procs is killed repeatedly until the lists stay empty (a process
// may fork between the read and the kill), thawing a frozen v1 freezer so the
// signal can be acted on. It refuses if the calling process is in the group.
func (g *Group) Kill() error {
	self := os.Getpid()
	pids, err := g.allPids()
	if err != nil {
		return err
	}
	for _, p := range pids {
		if p == self {
			return fmt.Errorf("cgroups.kill: the calling process (pid %d) is in group %q; move it out first", self, g.name)
		}
	}
	if v2 := g.v2dir(); v2 != "" && exists(filepath.Join(v2, "cgroup.kill")) {
		if err := writeFile(v2, "cgroup.kill", "1"); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(settleTimeout)
	thawed := false
	for {
		pids, err := g.allPids()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		for _, p := range pids {
			if p == self {
				continue
			}
			if err := unix.Kill(p, unix.SIGKILL); err != nil && err != unix.ESRCH {
				return kerr.New(fmt.Sprintf("kill(%d, SIGKILL)", p), err, killRules)
			}
		}
		if !thawed {
			if fr, _ := g.Frozen(); fr {
				// A frozen task does not die until thawed (v1 freezer).
				if dir, v := g.dirOf("freezer"); dir != "" && v == 1 {
					_ = writeFile(dir, "freezer.state", "THAWED")
				}
			}
			thawed = true
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroups.kill: group %q still has processes %v after %v", g.name, pids, settleTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// allPids lists the processes in the group and in every cgroup below it, in
// every hierarchy. A directory already gone counts as empty.
func (g *Group) allPids() ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for _, d := range g.dirs {
		err := walkDirs(d.dir, func(dir string) error {
			pids, err := readPids(dir)
			if err != nil {
				if errors.Is(err, unix.ENOENT) {
					return nil
				}
				return err
			}
			for _, p := range pids {
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// walkDirs calls fn for dir and each cgroup below it, children after parents.
func walkDirs(dir string, fn func(string) error) error {
	if err := fn(dir); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return kerr.New(fmt.Sprintf("readdir(%s)", dir), errnoOf(err), nil)
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := walkDirs(filepath.Join(dir, e.Name()), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// Remove kills what is left in the group, removes its directories in every
// hierarchy (child cgroups first), then the empty "nsh" parents it leaves.
// Removing a removed group is a no-op. rmdir of a cgroup fails with EBUSY
// while it holds processes or children; a killed process leaves its cgroup a
// moment after it dies, so EBUSY is retried briefly.
func (g *Group) Remove() error {
	if len(g.dirs) == 0 {
		return nil
	}
	var firstErr error
	if err := g.Kill(); err != nil {
		firstErr = err
	}
	var left []groupDir
	for _, d := range g.dirs {
		if err := removeTree(d.dir); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			left = append(left, d)
			continue
		}
		removeEmptyParents(d.h.Mount, filepath.Dir(d.dir))
		if d.h.Version == 2 && len(g.rootOn) > 0 && !exists(filepath.Join(d.h.Mount, Parent)) {
			// Undo what Create turned on at the root; it fails harmlessly
			// (EBUSY) if something else started using the controller.
			for _, c := range g.rootOn {
				_ = writeFile(d.h.Mount, "cgroup.subtree_control", "-"+c)
			}
			g.rootOn = nil
		}
	}
	g.dirs = left
	return firstErr
}

// removeTree rmdirs dir's child cgroups then dir, retrying EBUSY until
// settleTimeout. A missing directory is fine.
func removeTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return kerr.New(fmt.Sprintf("readdir(%s)", dir), errnoOf(err), nil)
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	deadline := time.Now().Add(settleTimeout)
	for {
		err := unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if (err != unix.EBUSY && err != unix.ENOTEMPTY) || time.Now().After(deadline) {
			return kerr.New(fmt.Sprintf("rmdir(%s)", dir), err, rmdirRules)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// removeEmptyParents rmdirs dir and its ancestors below mount while they are
// empty nsh directories (another group still inside keeps them: EBUSY).
func removeEmptyParents(mount, dir string) {
	rel, err := filepath.Rel(mount, dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return
	}
	if rel != Parent && !strings.HasPrefix(rel, Parent+"/") {
		return
	}
	for dir != mount && len(dir) > len(mount) {
		if err := unix.Rmdir(dir); err != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// rmdirErr is one rmdir with the package's rules (no retry).
func rmdirErr(dir string) error {
	return kerr.New(fmt.Sprintf("rmdir(%s)", dir), unix.Rmdir(dir), rmdirRules)
}
