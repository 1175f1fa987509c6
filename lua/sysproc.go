package lua

import (
	"fmt"
	"strings"

	"nsh/runtime/caps"
	"nsh/runtime/nsproc"
	"nsh/runtime/sigs"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// The process calls of the sys module: sessions and process groups (the ids
// are the caller's PID namespace's; 0 is a leader outside it), prctl and
// capsets (runtime/caps). Beside sys.go, as sysfiles.go is: the sys
// module's records by topic.

func (s *Session) sysProcFuncs() []Func {
	return []Func{
		{Name: "setsid", Args: "()", Fn: s.sysSetsid,
			Doc: "setsid(2): the shell (or the clone child calling it) starts a new session and process group, both numbered as its pid, with no controlling terminal; returns the session id. " +
				"EPERM for a process group leader. The first process of a new PID namespace sees session and group 0 (their leader is outside) until it calls this; then both are 1.",
			Example: "-- pgroup=false: on a terminal nsh would make the child a group leader, which may not setsid\n" +
				"ns.clone({ns = \"pid\", pgroup = false}, function()\n  print(sys.getsid(), sys.getpgid())  -- 0 0\n  sys.setsid()\n  print(sys.getsid(), sys.getpgid())  -- 1 1\nend):wait()"},
		{Name: "getsid", Args: "([pid])", Fn: s.pidQuery(nsproc.Getsid),
			Doc: "getsid(2): the session id of a process (default: the shell), as this PID namespace numbers it (0: its leader is outside).", Example: "print(sys.getsid())"},
		{Name: "getpgid", Args: "([pid])", Fn: s.pidQuery(nsproc.Getpgid),
			Doc: "getpgid(2): the process group id of a process (default: the shell), as this PID namespace numbers it (0: its leader is outside).", Example: "print(sys.getpgid())"},
		{Name: "setpgid", Args: "(pid, [pgid])", Fn: s.sysSetpgid,
			Doc: "setpgid(2): moves a process (0: the shell; else itself or a child that has not executed a program yet: EACCES after execve) into group pgid " +
				"(default 0: a group of its own numbered as its pid); EPERM across sessions or for a session leader.",
			Example: "ns.clone(\"pid\", function() sys.setpgid(0, 0); print(sys.getpgid()) end):wait()"},
		{Name: "prctl", Args: "(option, [value])", Fn: s.sysPrctl,
			Doc: "prctl(2) on the shell (every thread of it, so children it starts later inherit the change). Without a value reads the option; with one sets it. " +
				"A capability option takes a capability name (\"setfcap\", \"CAP_SETFCAP\") and reads or changes that one. Options: " + prctlDoc() + ".",
			Example: "print(sys.prctl(\"no_new_privs\"), sys.prctl(\"capbset_read\", \"setfcap\"))\n" +
				"ns.clone({}, function() sys.prctl(\"capbset_drop\", \"setfcap\"); print(sys.prctl(\"capbset_read\", \"setfcap\")) end):wait()"},
		{Name: "capset", Args: "({effective=, permitted=, inheritable=})", Fn: s.sysCapset,
			Doc: "capset(2) on every thread of the shell: each set a list of capability names (a set not given stays as it is). " +
				"The kernel lets permitted only shrink, effective stay within permitted, inheritable grow only within the bounding set; EPERM otherwise.",
			Example: "ns.clone({}, function()\n  sys.capset{effective = {}}  -- keep them permitted, use none\n  print(#sys.caps().effective, #sys.caps().permitted)\nend):wait()"},
	}
}

func prctlDoc() string {
	var parts []string
	for _, o := range caps.Options {
		parts = append(parts, fmt.Sprintf("%s (%s)", o.Name, o.Doc))
	}
	return strings.Join(parts, "; ")
}

// capArg reads argument n as a capability name or number.
func capArg(L *glua.LState, n int) int {
	v := L.Get(n)
	w := ""
	switch v := v.(type) {
	case glua.LString:
		w = string(v)
	case glua.LNumber:
		w = fmt.Sprint(wholeNumber(L, n, "capability", v, 0, 63))
	default:
		argErr(L, n, "a capability name expected (\"sys_admin\", \"CAP_SETFCAP\"), got "+describe(v))
	}
	c, ok := caps.Number(w)
	if !ok {
		oneOf(L, n, "capability", strings.TrimPrefix(strings.ToLower(w), "cap_"), caps.Known())
	}
	return c
}

func (s *Session) sysPrctl(L *glua.LState) int {
	name := argChoice(L, 1, "option", caps.OptionNames()...)
	o, _ := caps.LookupOption(name)
	set, arg := L.GetTop() >= 2 && L.Get(2) != glua.LNil, 0
	switch o.Arg {
	case "cap":
		arg, set = capArg(L, 2), o.Set != 0
	case "bool":
		if set && argBool(L, 2, "value", false) {
			arg = 1
		}
	case "signal":
		if set {
			sig, err := parseSignal(L.Get(2))
			if err != nil {
				return argErr(L, 2, err.Error())
			}
			arg = int(sig)
		}
	case "":
		set = true
	}
	v, err := caps.Prctl(o, set, arg)
	if err != nil {
		return inputErr(L, 2, err)
	}
	switch {
	case set:
		return 0
	case o.Arg == "signal":
		if v == 0 {
			L.Push(glua.LNumber(0))
		} else {
			L.Push(glua.LString(strings.TrimPrefix(sigs.Name(unix.Signal(v)), "SIG")))
		}
	default:
		L.Push(glua.LBool(v != 0))
	}
	return 1
}

func (s *Session) sysCapset(L *glua.LState) int {
	o := argOptions(L, 1, "effective", "permitted", "inheritable")
	cur, err := caps.Get()
	if err != nil {
		return raiseErr(L, err)
	}
	for _, set := range []struct {
		key string
		to  *uint64
	}{{"effective", &cur.Effective}, {"permitted", &cur.Permitted}, {"inheritable", &cur.Inheritable}} {
		if !o.Has(set.key) {
			continue
		}
		m, err := caps.Mask(o.Strings(set.key))
		if err != nil {
			return argErr(L, 1, "option "+set.key+": "+err.Error()+" (valid: "+strings.Join(caps.Known(), ", ")+")")
		}
		*set.to = m
	}
	if err := caps.Set(cur); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

// pidOrSelf reads an optional pid argument where nil and 0 mean the caller.
func (s *Session) pidOrSelf(L *glua.LState, n int) int {
	if v, ok := L.Get(n).(glua.LNumber); ok && v == 0 {
		return 0
	}
	return s.checkPid(L, n, true)
}

// pidQuery binds a runtime call from a pid (0: the caller) to an id.
func (s *Session) pidQuery(fn func(int) (int, error)) glua.LGFunction {
	return func(L *glua.LState) int {
		id, err := fn(s.pidOrSelf(L, 1))
		if err != nil {
			return raiseErr(L, err)
		}
		L.Push(glua.LNumber(id))
		return 1
	}
}

func (s *Session) sysSetsid(L *glua.LState) int {
	sid, err := nsproc.Setsid()
	if err != nil {
		return raiseErr(L, err, hint(L, err))
	}
	L.Push(glua.LNumber(sid))
	return 1
}

func (s *Session) sysSetpgid(L *glua.LState) int {
	if L.Get(1) == glua.LNil {
		return argErr(L, 1, "pid expected (0 for the shell itself, a pid or a process handle)")
	}
	pid := s.pidOrSelf(L, 1)
	pgid := argOptInt(L, 2, "pgid", 0, 0, maxPid)
	if err := nsproc.Setpgid(pid, pgid); err != nil {
		return raiseErr(L, err)
	}
	return 0
}
