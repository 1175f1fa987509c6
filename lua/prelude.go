package lua

import (
	"fmt"
	"sort"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// The prelude: small helpers every experiment uses (check, checks, finish,
// say, section). They are Go functions, so that a session's start compiles
// no Lua (the start-up of nsh -e and of every ns.clone child); each prints
// through the global print of the moment, as a Lua function would, so
// record() and a script's own print see their lines.

type preludeState struct{ passes, failures int }

func (s *Session) installPrelude() {
	s.installGlobal(&Func{Name: "check", Args: "(cond, claim, ...)", Fn: s.check,
		Doc:     "Records one claim of an experiment: prints 'ok' or 'FAIL' with the claim (and any details). finish() makes the script fail if any check failed.",
		Example: "check(ns.getpid() == 1, \"the first process of a new PID namespace is PID 1\")"})
	s.installGlobal(&Func{Name: "checks", Args: "()", Fn: s.checks,
		Doc: "The numbers of passed and failed checks so far.", Example: "local ok, bad = checks()"})
	s.installGlobal(&Func{Name: "finish", Args: "()", Fn: s.finish,
		Doc: "Prints the check summary and exits with status 1 if any check failed.", Example: "finish()"})
	s.installGlobal(&Func{Name: "say", Args: "(fmt, ...)", Fn: s.say,
		Doc: "Prints a line, formatted with string.format when arguments follow.", Example: "say(\"child has PID %d\", h.pid)"})
	s.installGlobal(&Func{Name: "section", Args: "(title)", Fn: s.section,
		Doc: "Prints a section heading.", Example: "section(\"PID namespaces\")"})
	// help() and docs/api.md list the global functions by name
	sort.Slice(s.globals, func(i, j int) bool { return s.globals[i].Name < s.globals[j].Name })
}

// luaPrint calls the global print with line.
func luaPrint(L *glua.LState, line string) {
	L.CallByParam(glua.P{Fn: L.GetGlobal("print"), NRet: 0, Protect: false}, glua.LString(line))
}

// concatArg is argument n as Lua's .. would take it: a string or a number.
func concatArg(L *glua.LState, n int, what string) string {
	switch v := L.Get(n).(type) {
	case glua.LString:
		return string(v)
	case glua.LNumber:
		return v.String()
	default:
		argErr(L, n, what+" (a string) expected, got "+typeName(v))
		return ""
	}
}

func (s *Session) check(L *glua.LState) int {
	cond := L.Get(1)
	claim := concatArg(L, 2, "claim")
	if glua.LVAsBool(cond) {
		s.prelude.passes++
		luaPrint(L, "  ok    "+claim)
	} else {
		s.prelude.failures++
		detail := ""
		if L.GetTop() > 2 {
			parts := make([]string, 0, L.GetTop()-2)
			for i := 3; i <= L.GetTop(); i++ {
				parts = append(parts, concatArg(L, i, "detail"))
			}
			detail = " (" + strings.Join(parts, " ") + ")"
		}
		luaPrint(L, "  FAIL  "+claim+detail)
	}
	L.Push(cond)
	return 1
}

func (s *Session) checks(L *glua.LState) int {
	L.Push(glua.LNumber(s.prelude.passes))
	L.Push(glua.LNumber(s.prelude.failures))
	return 2
}

func (s *Session) finish(L *glua.LState) int {
	luaPrint(L, fmt.Sprintf("\n%d checks passed, %d failed", s.prelude.passes, s.prelude.failures))
	if s.prelude.failures > 0 {
		exit := L.GetField(L.GetGlobal("os"), "exit")
		L.CallByParam(glua.P{Fn: exit, NRet: 0, Protect: false}, glua.LNumber(1))
	}
	return 0
}

func (s *Session) say(L *glua.LState) int {
	if L.GetTop() <= 1 {
		luaPrint(L, concatArg(L, 1, "fmt"))
		return 0
	}
	// string.format of the moment, with every argument
	format := L.GetField(L.GetGlobal("string"), "format")
	args := make([]glua.LValue, L.GetTop())
	for i := range args {
		args[i] = L.Get(i + 1)
	}
	L.CallByParam(glua.P{Fn: format, NRet: 1, Protect: false}, args...)
	line := L.Get(-1)
	L.Pop(1)
	luaPrint(L, line.String())
	return 0
}

func (s *Session) section(L *glua.LState) int {
	title := concatArg(L, 1, "title")
	luaPrint(L, "\n== "+title+" "+strings.Repeat("=", max(0, 66-len(title))))
	return 0
}
