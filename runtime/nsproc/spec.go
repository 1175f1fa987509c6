package nsproc

import (
	"os"
)

// Spec says how to start a child process in new namespaces. Either Argv (a
// program to execute) or Payload (work for a re-executed nsh, e.g. a Lua
// function) is set.
type Spec struct {
	Argv []string // program and arguments; Argv[0] is looked up in PATH
	// Path, when set, is the file executed, and Argv[0] only the name the
	// program is given (execve's pathname and argv[0] differ, as with
	// exec -a). Only for a program executed directly (no re-executed nsh,
	// no SetTID).
	Path string
	Env  []string // nil: inherit
	Dir  string   // working directory in the child ("" = inherit)

	Types     Set               // namespaces to create (clone flags)
	Join      map[string]string // existing namespaces to start in: type -> namespace file (not user)
	UIDMap    []IDMap           // written before the child runs (user namespace)
	GIDMap    []IDMap
	Setgroups string // "allow" or "deny"; "" = "deny" when GIDMap is set by an unprivileged parent

	// Hold keeps the child waiting, after clone and before it runs
	// anything, until Release: the parent can write id maps, move links,
	// join cgroups first.
	Hold bool

	// Steps the child performs itself, in kernel order, before it runs.
	Setup Setup

	UID, GID *int // credentials to switch to in the child (after Setup)
	// MapUID/MapGID: ids to take right after clone, before anything runs,
	// in a new user namespace whose map does not cover the caller's ids
	// (so the child is who the map says, e.g. root inside).
	MapUID, MapGID *int
	CgroupFD       int  // >0: start the child directly in this cgroup v2 directory (CLONE_INTO_CGROUP)
	NoPdeath       bool // do not kill the child when nsh's interpreter thread exits
	OwnPgroup      bool // put the child in its own process group (not reached by the terminal's Ctrl-C)
	// Setsid starts the child in a session of its own (setsid(2) before
	// exec; OwnPgroup is then implied and not asked for separately), with
	// no controlling terminal; Ctty also makes its stdin, a terminal, the
	// session's controlling terminal (TIOCSCTTY).
	Setsid, Ctty bool

	Stdin, Stdout, Stderr *os.File // nil: nsh's own

	// SetTID chooses the child's PID, one entry per PID namespace level
	// from the child's own namespace outward (clone3's set_tid): nsproc
	// then forks itself (startSetTID), for a program and a subset of the
	// spec (SetTIDFields).
	SetTID []int

	// Payload is opaque work for a re-executed nsh (see ChildMain).
	Payload []byte
	// NshEnv are NAME=VALUE variables for a re-executed nsh itself; a
	// program it executes does not get them.
	NshEnv []string
}

// Setup is what a child does between clone and exec, in the order the
// kernel needs it. It travels to the child as JSON.
type Setup struct {
	Hostname   string `json:",omitempty"`
	Domainname string `json:",omitempty"`
	// Extra steps other runtime packages register (mounts, rootfs, ...),
	// by name with JSON arguments; run in order after hostname.
	Steps []Step `json:",omitempty"`
}

// Step is one named set-up step with JSON arguments.
type Step struct {
	Name string
	Args []byte
}

func (s Setup) empty() bool {
	return s.Hostname == "" && s.Domainname == "" && len(s.Steps) == 0
}

// needsReexec says whether the child must run nsh's own code before it
// executes the program (else nsh forks straight into the program, which is
// as fast as a raw clone(2)). Start then still avoids the re-execution when
// the set-up compiles to raw ops (rawProgram).
func (s *Spec) needsReexec() bool {
	_, joinsPid := s.Join["pid"]
	// A child joining a PID namespace gets its parent-death signal from a
	// re-executed nsh (Go refuses it there: getppid() is 0).
	return s.Hold || !s.Setup.empty() || len(s.Argv) == 0 || (joinsPid && !s.NoPdeath)
}

// StepFunc performs a named set-up step inside the child.
type StepFunc func(args []byte) error

var stepFuncs = map[string]StepFunc{}

// RegisterStep makes a set-up step available to children. Packages call it
// from init, so the re-executed nsh has the same table.
func RegisterStep(name string, fn StepFunc) { stepFuncs[name] = fn }
