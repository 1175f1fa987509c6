package lua

import (
	"fmt"

	"nsh/runtime/cleanup"
	"nsh/runtime/leftover"
	"nsh/runtime/statedir"
	"strconv"
)

// The records bindings give the cleanup registry, so that what they make is
// in the journal (runtime/cleanup.Journal) before they return, and another
// nsh can undo it if this one is killed.

// childRec names a child by pid and start time.
func childRec(pid int) cleanup.Record {
	st, _ := statedir.StartTime(pid)
	return cleanup.Record{Kind: "child", Pid: pid, Start: st}
}

// mntRec is a pin or directory in the Lua thread's mount namespace, with
// its identity (leftover.Identify: what it is now, proved before removal).
func mntRec(kind, path string) cleanup.Record {
	return leftover.Identify(cleanup.Record{Kind: kind, Path: path, NS: nsInode("mnt")})
}

// linkRec is a link in the Lua thread's network namespace.
func linkRec(name string) cleanup.Record {
	return leftover.Identify(cleanup.Record{Kind: "link", Path: name, NS: nsInode("net")})
}

// cgroupRec is a cgroup directory.
func cgroupRec(path string) cleanup.Record {
	return leftover.Identify(cleanup.Record{Kind: "cgroup", Path: path})
}

func nsInode(typ string) uint64 { return cleanup.ThreadNS(typ) }

// labRec is the record of what a lab told its Note about.
func labRec(kind, what string) cleanup.Record {
	switch kind {
	case "child":
		pid, _ := strconv.Atoi(what)
		return childRec(pid)
	case "link":
		return linkRec(what)
	}
	return mntRec(kind, what) // a pin or the lab's directory
}

// KeptChildren are the pids of the children h:keep() or keep=true leave
// running when nsh ends.
func (s *Session) KeptChildren() map[int]bool {
	out := map[int]bool{}
	for _, it := range s.Reg.Kept() {
		var pid int
		if _, err := fmt.Sscanf(it.What, "child %d", &pid); err == nil {
			out[pid] = true
		}
	}
	return out
}
