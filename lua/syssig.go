package lua

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"nsh/runtime/sigs"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// The signal calls of the sys module (runtime/sigs decides). A Lua
// handler never runs inside Go's signal handler: the signal goroutine of
// the session's sigs.Table marks it due, and the interpreter runs it
// between two Lua instructions (chunkCtx.Done, which gopher-lua asks before
// each instruction), or when sys.sleep returns early for it.

func (s *Session) sysSigFuncs() []Func {
	return []Func{
		{Name: "signal", Args: "(sig, [handler | \"ignore\" | \"default\"])", Fn: s.sysSignal,
			Doc: "sigaction(2) for the shell: a Lua function (called with the signal's name, between Lua instructions, in the interpreter: not inside a coroutine, and after a blocking call other than sys.sleep/sys.sigwait returns), " +
				"\"ignore\" (SIG_IGN, inherited by programs the shell starts) or \"default\" (SIG_DFL; for SIGINT, SIGTERM, SIGHUP, SIGPIPE and SIGQUIT in the nsh you started, nsh's own: clean up and end). " +
				"Without a second argument reads it. Returns the previous one. sig: a name (\"TERM\", \"SIGTERM\") or a number. " +
				"The kernel refuses SIGKILL and SIGSTOP (EINVAL); nsh keeps the signals its Go runtime needs (SIGSEGV, SIGURG, SIGPROF, 32-34). " +
				"An init of a PID namespace gets a signal from its namespace's members only while it has a handler (or blocks it): pid_namespaces(7).",
			Example: "local got\nsys.signal(\"USR1\", function(name) got = name end)\nsys.kill(ns.getpid(), \"USR1\")\nsys.sleep(1)  -- returns early: a handler ran\nprint(got)  -- SIGUSR1\nsys.signal(\"USR1\", \"default\")"},
		{Name: "sigblock", Args: "(sigs)", Fn: s.sigMask(true),
			Doc: "sigprocmask(SIG_BLOCK): blocks signals (a name, a number, a list, or \"TERM,USR1\"); they wait as pending until unblocked or taken by sys.sigwait. " +
				"Programs the shell starts inherit the mask. The kernel leaves SIGKILL and SIGSTOP out silently. Returns the names blocked before. " +
				"(The mask is the Lua thread's; nsh holds what another thread of Go takes meanwhile, so it stays pending, without its siginfo.)",
			Example: "sys.sigblock(\"USR1\")\nsys.kill(ns.getpid(), \"USR1\")\nsys.sleep(0.1)  -- Go takes it on another thread; nsh holds it\nprint(table.concat(sys.sigpending(), \" \"))  -- SIGUSR1\nprint(sys.sigwait(\"USR1\").name)\nsys.sigunblock(\"USR1\")"},
		{Name: "sigunblock", Args: "(sigs)", Fn: s.sigMask(false),
			Doc:     "sigprocmask(SIG_UNBLOCK): a pending one is delivered then, by its disposition. Returns the names blocked before.",
			Example: "sys.sigblock(\"USR2\"); sys.sigunblock(\"USR2\")"},
		{Name: "sigpending", Args: "()", Fn: s.sysSigpending,
			Doc: "sigpending(2): the blocked signals waiting, as names.", Example: "print(#sys.sigpending())"},
		{Name: "sigwait", Args: "(sigs, [timeout])", Fn: s.sysSigwait,
			Doc: "sigtimedwait(2): waits for one of the signals (blocked for the time of the call) and returns its siginfo: {signo=, name=, code=, code_name= (\"SI_USER\" for kill(2)), pid=, uid=}; " +
				"pid is the sender as this process's PID namespace numbers it, 0 for a sender outside it; uid its real uid in this user namespace. nil after timeout seconds. " +
				"A signal that came while the shell was blocking it but not waiting, or that another thread of Go took first (held by nsh), has held=true and no siginfo: docs/signals.md says when. Ctrl-C ends the wait.",
			Example: "local h = ns.spawn{\"/bin/sh\", \"-c\", \"sleep 0.2; kill -USR1 $PPID\"}\nlocal si = sys.sigwait(\"USR1\", 5)\nprint(si.name, si.code_name, si.pid == h.pid)  -- SIGUSR1 SI_USER true\nh:wait()"},
	}
}

// sigState is the session's part of the signal machinery.
type sigState struct {
	handlers map[unix.Signal]*glua.LFunction
	wake     chan struct{} // one token: a handler became due (sys.sleep returns)
	running  bool          // a handler runs: the next waits for it to end (as the kernel masks a signal during its handler)
}

// chunkCtx is the context gopher-lua asks before every instruction: a due
// handler runs there.
type chunkCtx struct {
	context.Context
	s *Session
}

func (c chunkCtx) Done() <-chan struct{} {
	if c.s.sigDue.Load() {
		c.s.runHandlers()
	}
	return c.Context.Done()
}

// sigTable is the session's sigs.Table, made on first use.
func (s *Session) sigTable() *sigs.Table {
	if t := s.sigTab.Load(); t != nil {
		return t
	}
	s.sig.handlers = map[unix.Signal]*glua.LFunction{}
	s.sig.wake = make(chan struct{}, 1)
	t := sigs.NewTable(func() {
		s.sigDue.Store(true)
		select {
		case s.sig.wake <- struct{}{}:
		default:
		}
	})
	t.Own, t.Restore = s.OwnSignal, s.RestoreSignal
	s.sigTab.Store(t)
	return t
}

// SignalTaken reports whether the script decides what sig does now (a
// handler, ignore, blocked): nsh's own signal watcher then leaves it alone.
// Safe from any goroutine.
func (s *Session) SignalTaken(sig os.Signal) bool {
	t := s.sigTab.Load()
	us, ok := sig.(unix.Signal)
	return t != nil && ok && t.Takes(us)
}

// runHandlers runs the due handlers, each in a Lua thread of its own (so
// the interrupted frame's registers are untouched). An error in one ends
// the chunk.
func (s *Session) runHandlers() {
	if s.sig.running {
		return
	}
	s.sigDue.Store(false)
	t := s.sigTab.Load()
	if t == nil {
		return
	}
	s.sig.running = true
	defer func() { s.sig.running = false }()
	for _, sig := range t.Due() {
		fn := s.sig.handlers[sig]
		if fn == nil || t.Get(sig) != sigs.Handle {
			continue
		}
		co, _ := s.L.NewThread()
		co.SetContext(s.ctx)
		err := co.CallByParam(glua.P{Fn: fn, NRet: 0, Protect: true}, glua.LString(sigs.Name(sig)))
		co.Close()
		if err != nil {
			s.L.RaiseError("signal handler for %s: %s", sigs.Name(sig), cleanError(err).Error())
		}
	}
}

// signalArg reads argument n as one signal.
func signalArg(L *glua.LState, n int) unix.Signal {
	v := L.Get(n)
	var sig unix.Signal
	var err error
	switch v := v.(type) {
	case glua.LNumber:
		if float64(v) != float64(int(v)) {
			argErr(L, n, fmt.Sprintf("signal number must be an integer, got %v", float64(v)))
		}
		sig, err = sigs.Number(int(v))
	case glua.LString:
		sig, err = sigs.Parse(string(v))
	default:
		argErr(L, n, "signal expected (a name such as \"TERM\" or \"SIGTERM\", or a number), got "+describe(v))
	}
	if err != nil {
		argErr(L, n, err.Error())
	}
	return sig
}

// signalSetArg reads argument n as signals: a name, a number, "TERM,USR1" or a list.
func signalSetArg(L *glua.LState, n int) sigs.Set {
	var set sigs.Set
	add := func(v glua.LValue) {
		switch v := v.(type) {
		case glua.LString:
			for _, w := range strings.FieldsFunc(string(v), func(r rune) bool { return r == ',' || r == ' ' }) {
				sig, err := sigs.Parse(w)
				if err != nil {
					argErr(L, n, err.Error())
				}
				set.Add(sig)
			}
		case glua.LNumber:
			if float64(v) != float64(int(v)) {
				argErr(L, n, fmt.Sprintf("signal number must be an integer, got %v", float64(v)))
			}
			sig, err := sigs.Number(int(v))
			if err != nil {
				argErr(L, n, err.Error())
			}
			set.Add(sig)
		default:
			argErr(L, n, "signals expected (a name, a number, \"TERM,USR1\" or a list of them), got "+describe(v))
		}
	}
	switch v := L.Get(n).(type) {
	case *glua.LTable:
		v.ForEach(func(_, e glua.LValue) { add(e) })
	default:
		add(v)
	}
	if set == 0 {
		argErr(L, n, "at least one signal expected")
	}
	return set
}

func namesTable(L *glua.LState, set sigs.Set) *glua.LTable {
	t := L.NewTable()
	for _, n := range set.Names() {
		t.Append(glua.LString(n))
	}
	return t
}

func (s *Session) dispValue(sig unix.Signal, d sigs.Disposition) glua.LValue {
	switch d {
	case sigs.Handle:
		if fn := s.sig.handlers[sig]; fn != nil {
			return fn
		}
	case sigs.Ignore:
		return glua.LString("ignore")
	}
	return glua.LString("default")
}

func (s *Session) sysSignal(L *glua.LState) int {
	sig := signalArg(L, 1)
	t := s.sigTable()
	old := s.dispValue(sig, t.Get(sig))
	if L.GetTop() < 2 || L.Get(2) == glua.LNil {
		if err := sigs.Check(sig); err != nil {
			return inputErr(L, 1, err)
		}
		L.Push(old)
		return 1
	}
	var d sigs.Disposition
	var fn *glua.LFunction
	switch v := L.Get(2).(type) {
	case *glua.LFunction:
		d, fn = sigs.Handle, v
	case glua.LString:
		switch string(v) {
		case "ignore":
			d = sigs.Ignore
		case "default":
			d = sigs.Default
		default:
			return argErr(L, 2, fmt.Sprintf("unknown disposition %q (valid: a function, \"ignore\", \"default\")", string(v)))
		}
	default:
		return argErr(L, 2, "a function, \"ignore\" or \"default\" expected, got "+describe(v))
	}
	if err := t.Set(sig, d); err != nil {
		return inputErr(L, 1, err)
	}
	if fn != nil {
		s.sig.handlers[sig] = fn
	} else {
		delete(s.sig.handlers, sig)
	}
	L.Push(old)
	return 1
}

func (s *Session) sigMask(block bool) glua.LGFunction {
	return func(L *glua.LState) int {
		set := signalSetArg(L, 1)
		t := s.sigTable()
		var old sigs.Set
		var err error
		if block {
			old, err = t.Block(set)
		} else {
			old, err = t.Unblock(set)
		}
		if err != nil {
			return inputErr(L, 1, err)
		}
		L.Push(namesTable(L, old))
		return 1
	}
}

func (s *Session) sysSigpending(L *glua.LState) int {
	p, err := s.sigTable().Pending()
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(namesTable(L, p))
	return 1
}

func (s *Session) sysSigwait(L *glua.LState) int {
	set := signalSetArg(L, 1)
	d, ok := argOptSeconds(L, 2, "timeout")
	if !ok {
		d = -1
	}
	info, held, got, err := s.sigTable().Wait(s.Context(), set, d)
	if err != nil {
		return inputErr(L, 1, err)
	}
	if !got {
		L.Push(glua.LNil)
		return 1
	}
	r := L.NewTable()
	r.RawSetString("signo", glua.LNumber(info.Signo))
	r.RawSetString("name", glua.LString(sigs.Name(unix.Signal(info.Signo))))
	if held {
		r.RawSetString("held", glua.LTrue)
	} else {
		r.RawSetString("code", glua.LNumber(info.Code))
		r.RawSetString("code_name", glua.LString(info.CodeName()))
		r.RawSetString("pid", glua.LNumber(info.Pid))
		r.RawSetString("uid", glua.LNumber(info.Uid))
	}
	L.Push(r)
	return 1
}

// sleepFor sleeps d, ended early by Ctrl-C (an error) or by a due signal
// handler (as sleep(3) is by a signal): it returns the time left.
func (s *Session) sleepFor(d time.Duration) (time.Duration, error) {
	if s.sig.wake != nil {
		select {
		case <-s.sig.wake:
		default:
		}
		if s.sigDue.Load() {
			return d, nil
		}
	}
	end := time.Now().Add(d)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return 0, nil
	case <-s.sig.wake: // nil until the session uses signals: never ready
		return max(time.Until(end), 0), nil
	case <-s.Context().Done():
		return 0, s.Context().Err()
	}
}
