package main

import (
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// becomeSubreaper makes nsh the child subreaper of what it starts: a
// grandchild whose parent ends (`sh -c "sleep 1 & sleep 2"`) is adopted by
// nsh instead of init, so that killAdopted can end it with nsh.
func becomeSubreaper() {
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// killAdopted kills, at the end, every child of nsh that is not kept:
// the orphans nsh adopted as subreaper (and any child cleanup missed), and
// reaps them, until none is left or a few seconds passed.
func killAdopted(kept map[int]bool) {
	if !hasChildren() {
		return // the common case of a script that started nothing: no sweep of /proc/self/task
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		left := 0
		for _, pid := range ownChildren() {
			if kept[pid] {
				continue
			}
			left++
			unix.Kill(pid, unix.SIGKILL)
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
		if left == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hasChildren asks the kernel whether any thread of nsh has a child,
// living or a zombie, without reaping one (waitid WNOHANG|WNOWAIT with
// __WALL: ECHILD means none).
func hasChildren() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT|unix.WALL, nil)
	return err != unix.ECHILD
}

// ownChildren lists the children of every thread of nsh.
func ownChildren() []int {
	tasks, _ := os.ReadDir("/proc/self/task")
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}
