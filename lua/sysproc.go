package lua

import (
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
)

// The process calls of the sys module: sessions and process groups (beside
// sys.go, as sysfiles.go is: the sys module's records by topic). The ids
// are the caller's PID namespace's; 0 is a leader outside it.

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
	}
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
