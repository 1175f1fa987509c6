package caps

import (
	"encoding/json"
	"fmt"
	"strings"
	"unsafe"

	"nsh/runtime/kerr"
	"nsh/runtime/nsproc"

	"golang.org/x/sys/unix"
)

// An Option is one prctl(2) option nsh offers, by the name the man page
// gives it (PR_SET_CHILD_SUBREAPER is "child_subreaper").
type Option struct {
	Name string
	Arg  string  // what a set takes: "bool", "signal", "cap", "" (nothing)
	Get  uintptr // PR_GET_* (0: none)
	Set  uintptr // PR_SET_* or the action (0: none)
	Sub  uintptr // the PR_CAP_AMBIENT sub-operation
	ptr  bool    // Get writes an int through arg2 instead of returning it
	Doc  string
}

// Options are the prctl options, in the order the help lists them.
var Options = []Option{
	{Name: "child_subreaper", Arg: "bool", Get: unix.PR_GET_CHILD_SUBREAPER, Set: unix.PR_SET_CHILD_SUBREAPER, ptr: true,
		Doc: "orphaned descendants are re-parented to this process instead of its PID namespace's init (per process)"},
	{Name: "pdeathsig", Arg: "signal", Get: unix.PR_GET_PDEATHSIG, Set: unix.PR_SET_PDEATHSIG, ptr: true,
		Doc: "the signal this process gets when its parent (thread) dies; 0 none"},
	{Name: "no_new_privs", Arg: "bool", Get: unix.PR_GET_NO_NEW_PRIVS, Set: unix.PR_SET_NO_NEW_PRIVS,
		Doc: "execve no longer grants privileges (setuid bits, file capabilities); cannot be unset, children inherit it"},
	{Name: "keepcaps", Arg: "bool", Get: unix.PR_GET_KEEPCAPS, Set: unix.PR_SET_KEEPCAPS,
		Doc: "keep the permitted capabilities when every uid changes from 0 to non-zero"},
	{Name: "dumpable", Arg: "bool", Get: unix.PR_GET_DUMPABLE, Set: unix.PR_SET_DUMPABLE,
		Doc: "core dumps, and who may ptrace the process or open its /proc files (per process)"},
	{Name: "capbset_read", Arg: "cap", Get: unix.PR_CAPBSET_READ,
		Doc: "whether a capability is in the bounding set"},
	{Name: "capbset_drop", Arg: "cap", Set: unix.PR_CAPBSET_DROP,
		Doc: "drop a capability from the bounding set: no execve can give it back (needs CAP_SETPCAP)"},
	{Name: "ambient_is_set", Arg: "cap", Get: unix.PR_CAP_AMBIENT, Sub: unix.PR_CAP_AMBIENT_IS_SET,
		Doc: "whether a capability is in the ambient set"},
	{Name: "ambient_raise", Arg: "cap", Set: unix.PR_CAP_AMBIENT, Sub: unix.PR_CAP_AMBIENT_RAISE,
		Doc: "add a capability to the ambient set (kept across execve of an unprivileged program; must be permitted and inheritable)"},
	{Name: "ambient_lower", Arg: "cap", Set: unix.PR_CAP_AMBIENT, Sub: unix.PR_CAP_AMBIENT_LOWER,
		Doc: "remove a capability from the ambient set"},
	{Name: "ambient_clear_all", Set: unix.PR_CAP_AMBIENT, Sub: unix.PR_CAP_AMBIENT_CLEAR_ALL,
		Doc: "empty the ambient set"},
}

// LookupOption finds an option by name.
func LookupOption(name string) (Option, bool) {
	for _, o := range Options {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// OptionNames are the names Prctl takes.
func OptionNames() []string {
	out := make([]string, len(Options))
	for i, o := range Options {
		out[i] = o.Name
	}
	return out
}

// prctlRules are the rules of the prctl option named name (a switch, so
// that no map is built at start).
func prctlRules(name string) kerr.Rules {
	switch name {
	case "capbset_drop":
		return kerr.Rules{{Errno: unix.EPERM, Rule: "dropping from the bounding set needs CAP_SETPCAP in the caller's user namespace"}, {Errno: unix.EINVAL, Rule: "the kernel knows no such capability"}}
	case "ambient_raise":
		return kerr.Rules{{Errno: unix.EPERM, Rule: "an ambient capability must be in both the permitted and the inheritable set (and SECBIT_NO_CAP_AMBIENT_RAISE unset)"}, {Errno: unix.EINVAL, Rule: "the kernel knows no such capability"}}
	case "no_new_privs":
		return kerr.Rules{{Errno: unix.EINVAL, Rule: "no_new_privs can only be set (1), never cleared"}}
	case "pdeathsig":
		return kerr.Rules{{Errno: unix.EINVAL, Rule: "not a valid signal number"}}
	case "dumpable":
		return kerr.Rules{{Errno: unix.EINVAL, Rule: "dumpable is 0 or 1 (2, suid-safe, is for core_pattern only)"}}
	}
	return nil
}

// Prctl reads option (set false) or sets it to arg (set true): a boolean
// as 0/1, a signal number, or a capability number. A read returns the
// value; a set returns 0. Per-thread attributes are set on every thread.
func Prctl(o Option, set bool, arg int) (int, error) {
	rules := prctlRules(o.Name)
	if rules == nil {
		rules = kerr.Rules{{Errno: unix.EINVAL, Rule: "the kernel refuses that value for this option"}}
	}
	name := callName(o, set)
	if !set || o.Set == 0 { // a read, or an option that only reads (a cap query)
		if o.Get == 0 {
			return 0, fmt.Errorf("%s cannot be read", o.Name)
		}
		var a1, a2 uintptr
		var out int32
		switch {
		case o.ptr:
			a1 = uintptr(unsafe.Pointer(&out))
		case o.Sub != 0:
			a1, a2 = o.Sub, uintptr(arg)
		case o.Arg == "cap":
			a1 = uintptr(arg)
		}
		r, _, e := unix.Syscall6(unix.SYS_PRCTL, o.Get, a1, a2, 0, 0, 0)
		if e != 0 {
			return 0, kerr.New(fmt.Sprintf("prctl(%s, %d)", name, arg), e, rules)
		}
		if o.ptr {
			return int(out), nil
		}
		return int(r), nil
	}
	a1, a2 := uintptr(arg), uintptr(0)
	if o.Sub != 0 {
		a1, a2 = o.Sub, uintptr(arg)
	}
	var err error
	if o.Name == "child_subreaper" || o.Name == "dumpable" { // per process
		_, _, e := unix.Syscall6(unix.SYS_PRCTL, o.Set, a1, a2, 0, 0, 0)
		if e != 0 {
			err = e
		}
	} else {
		err = AllThreads(unix.SYS_PRCTL, o.Set, a1, a2)
	}
	if err != nil {
		return 0, kerr.New(fmt.Sprintf("prctl(%s, %d)", name, arg), err, rules)
	}
	return 0, nil
}

// callName is the option as prctl(2) spells it.
func callName(o Option, set bool) string {
	up := strings.ToUpper(o.Name)
	switch {
	case o.Sub != 0:
		return "PR_CAP_AMBIENT, PR_CAP_" + up
	case o.Arg == "cap":
		return "PR_" + up
	case set:
		return "PR_SET_" + up
	}
	return "PR_GET_" + up
}

// Step is the set-up step a child runs before it executes its program:
// the capabilities to drop from its bounding set, then no_new_privs.
const Step = "caps"

// StepArgs are the arguments of Step.
type StepArgs struct {
	Drop       []int `json:",omitempty"`
	NoNewPrivs bool  `json:",omitempty"`
}

func init() { nsproc.RegisterStep(Step, runStep) }

func runStep(b []byte) error {
	var a StepArgs
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	drop, _ := LookupOption("capbset_drop")
	for _, c := range a.Drop {
		if _, err := Prctl(drop, true, c); err != nil {
			return err
		}
	}
	if a.NoNewPrivs {
		nnp, _ := LookupOption("no_new_privs")
		if _, err := Prctl(nnp, true, 1); err != nil {
			return err
		}
	}
	return nil
}

// StepFor is the nsproc step that drops caps from a child's bounding set and
// sets no_new_privs.
func StepFor(a StepArgs) nsproc.Step {
	b, _ := json.Marshal(a)
	return nsproc.Step{Name: Step, Args: b}
}
