package lua

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"nsh/runtime/cleanup"
	"nsh/runtime/leftover"
	"nsh/runtime/nsproc"
	"nsh/runtime/sigs"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

const handleType = "nsh.process"

// procHandle is the Lua side of a child process.
type procHandle struct {
	p      *nsproc.Process
	item   *cleanup.Item
	lua    bool // runs a shipped Lua function
	waited bool // its end has been reported (h:wait, ns.waitany)
	pgroup bool // leads a process group of its own (job control)
	pdeath bool // started with a parent-death signal (not keep=true)
	// jprefix is the prefix of the child's ids in the journal (a child
	// nsh's: cleanup.PrefixEnv), "" without a journal
	jprefix string
	adopted bool // what it left in the journal is the session's (adopt)
}

// handleMethods are the methods of a process handle, each with its function.
var handleMethods = []Func{
	{Name: "wait", Args: "([timeout])", Method: (*Session).hWait,
		Doc:     "Waits for the child to end and returns its exit code, how it ended (\"exit\" or \"signal\") and the signal name or the Lua error it died of. A child killed by a signal returns 128+signal. With a timeout in seconds, returns nil, \"timeout\" if it is still running then.",
		Example: "local h = ns.spawn{\"/bin/true\"}\nassert(h:wait() == 0)"},
	{Name: "kill", Args: "([sig])", Method: (*Session).hKill,
		Doc: "Sends a signal (number or name: 9, \"KILL\", \"SIGTERM\"; default SIGTERM) to the child.", Example: "h:kill(9); h:wait()"},
	{Name: "ns", Args: "()", Method: (*Session).hNS,
		Doc: "The inodes of the child's namespaces, by type (as ns.list(h.pid)).", Example: "print(h:ns().pid)"},
	{Name: "release", Args: "()", Method: (*Session).hRelease,
		Doc:     "Lets a child started with hold=true go on (after the parent wrote its id maps, moved links, ...).",
		Example: "local h = ns.spawn{\"/bin/id\", ns=\"user\", hold=true}\nh:uid_map(\"0 0 1\"); h:release(); h:wait()"},
	{Name: "uid_map", Args: "(lines, [{raw=true}])", Method: (*Session).hUIDMap,
		Doc: "Writes the held child's /proc/PID/uid_map (\"0 1000 1\"). The kernel takes one write only. nsh checks the lines first; " +
			"with raw=true the text goes to the kernel as given (lines separated by newlines), so the kernel's own EINVAL or EPERM answers.",
		Example: "local h = ns.spawn{\"/bin/true\", ns = \"user\", hold = true}\nh:uid_map(\"0 \" .. sys.getuid() .. \" 1\")\n-- the kernel judges: print(pcall(h.uid_map, h, \"0 0 1\\n0 1 1\", {raw=true}))\nh:release(); h:wait()"},
	{Name: "gid_map", Args: "(lines, [{raw=true}])", Method: (*Session).hGIDMap,
		Doc:     "Writes the held child's /proc/PID/gid_map. An unprivileged writer must call h:setgroups(\"deny\") first. raw=true as for h:uid_map.",
		Example: "local h = ns.spawn{\"/bin/true\", ns = \"user\", hold = true}\nh:setgroups(\"deny\"); h:gid_map(\"0 \" .. sys.getgid() .. \" 1\")\nh:release(); h:wait()"},
	{Name: "setgroups", Args: "(\"allow\"|\"deny\")", Method: (*Session).hSetgroups,
		Doc: "Writes the held child's /proc/PID/setgroups (before gid_map).", Example: "local h = ns.spawn{\"/bin/true\", ns = \"user\", hold = true}\nh:setgroups(\"deny\")\nh:release(); h:wait()"},
	{Name: "alive", Args: "()", Method: (*Session).hAlive,
		Doc: "true while the child has not ended.", Example: "local h = ns.spawn{\"/bin/sleep\", \"0.3\"}\nwhile h:alive() do sys.sleep(0.1) end"},
	{Name: "result", Args: "()", Method: (*Session).hResult,
		Doc:     "The values an ns.clone function returned (after wait).",
		Example: "local h = ns.clone(\"pid\", function() return ns.getpid(), \"hi\" end)\nh:wait(); print(h:result())"},
	{Name: "keep", Args: "()", Method: (*Session).hKeep,
		Doc: "Leaves the child running when nsh ends (it is not killed at cleanup, and what it records in the journal is kept with it). " +
			"Every child has a parent-death signal (SIGKILL when nsh ends) unless started with keep=true, and only the process itself can clear one: " +
			"prctl(PR_SET_PDEATHSIG) sets the calling thread's own, and no kernel interface (prctl, /proc, pidfd) clears another process's. " +
			"An ns.clone child is an nsh, so h:keep() asks it over the channel nsh keeps with it, and it clears the signal on every one of its threads. " +
			"A program ns.spawn executed runs no nsh code: h:keep() on it (while it runs) is an error rather than a promise the kernel would break; start it with keep=true.",
		Example: "local h = ns.spawn{\"sleep\", \"60\", keep=true}\nh:keep()\nlocal c = ns.clone(\"uts\", function() sys.sleep(60) end)\nc:keep()\nc:kill(9); c:wait()"},
}

func (s *Session) newHandle(p *nsproc.Process, so *spawnOpts, isLua bool) *glua.LUserData {
	h := &procHandle{p: p, lua: isLua, pgroup: p.OwnPgroup, pdeath: !so.keep}
	onEnd := so.onEnd
	h.item = s.Reg.Add("child "+strconv.Itoa(p.Pid), func() error {
		stop := stopChild
		if isLua {
			stop = stopLuaChild
		}
		err := stop(p)
		s.adopt(h)
		if e := runAll(onEnd); err == nil {
			err = e
		}
		return err
	}, childRec(p.Pid))
	if so.keep {
		h.item.Keep()
	}
	ud := s.L.NewUserData()
	ud.Value = h
	s.L.SetMetatable(ud, s.L.GetTypeMetatable(handleType))
	return ud
}

// stopChild ends a child that is still there: a held one is told to give
// up, then SIGKILL, then it is reaped.
func stopChild(p *nsproc.Process) error {
	if !p.Alive() {
		return nil
	}
	p.Signal(unix.SIGKILL)
	select {
	case <-p.Done():
		return nil
	case <-time.After(3 * time.Second):
		return fmt.Errorf("child %d did not die after SIGKILL", p.Pid)
	}
}

// luaChildGrace is how long an ns.clone child has to undo what it made
// after the stop request before it is killed.
const luaChildGrace = 3 * time.Second

// stopLuaChild ends an ns.clone child so that its own cleanup runs: a
// stop request on its control channel (which interrupts its function; no
// signal, so that every signal keeps the kernel's meaning for the child,
// see nsproc/init.go), a grace period, then SIGKILL. A child that
// executed a program (sys.exec) cannot be asked: it gets SIGKILL.
// What it still left behind is in the journal it shares with its parent.
func stopLuaChild(p *nsproc.Process) error {
	if !p.Alive() {
		return nil
	}
	if p.Held() {
		return stopChild(p)
	}
	if p.RequestStop() != nil {
		return stopChild(p)
	}
	select {
	case <-p.Done():
		return nil
	case <-time.After(luaChildGrace):
		return stopChild(p)
	}
}

func (s *Session) installHandleType() {
	L := s.L
	mt := L.NewTypeMetatable(handleType)
	methods := s.lazyMethods("handle", "h:", func() []Func { return handleMethods })
	L.SetField(mt, "__index", L.NewFunction(func(L *glua.LState) int {
		h := checkHandle(L, 1)
		key := L.CheckString(2)
		switch key {
		case "pid":
			L.Push(glua.LNumber(h.p.Pid))
		case "argv":
			L.Push(strList(L, h.p.Argv))
		default:
			m := methods().RawGetString(key)
			if m == glua.LNil {
				return noSuchMember(L, handleType, L.Get(1), key)
			}
			L.Push(m)
		}
		return 1
	}))
	L.SetField(mt, "__tostring", L.NewFunction(func(L *glua.LState) int {
		h := checkHandle(L, 1)
		state := "running"
		if h.p.Held() {
			state = "held"
		} else if !h.p.Alive() {
			st := h.p.Status()
			state = fmt.Sprintf("ended, code %d", st.Code)
		}
		what := strings.Join(h.p.Argv, " ")
		if h.lua {
			what = "lua function"
		}
		L.Push(glua.LString(fmt.Sprintf("process %d (%s) [%s] in new %s", h.p.Pid, what, state, h.p.Types)))
		return 1
	}))
	L.SetField(mt, "__eq", L.NewFunction(func(L *glua.LState) int {
		a, b := checkHandle(L, 1), checkHandle(L, 2)
		L.Push(glua.LBool(a.p == b.p))
		return 1
	}))
}

func checkHandle(L *glua.LState, n int) *procHandle {
	ud, ok := L.Get(n).(*glua.LUserData)
	if ok {
		if h, ok := ud.Value.(*procHandle); ok {
			return h
		}
	}
	argErr(L, n, "process handle expected (call methods with a colon: h:wait())")
	return nil
}

func (s *Session) hWait(L *glua.LState) int {
	h := checkHandle(L, 1)
	ctx := s.Context()
	if timeout, ok := argOptSeconds(L, 2, "timeout"); ok {
		select {
		case <-h.p.Done():
		case <-time.After(timeout):
			if h.p.Alive() {
				L.Push(glua.LNil)
				L.Push(glua.LString("timeout"))
				return 2
			}
		case <-ctx.Done():
			return raiseErr(L, ctx.Err())
		}
	}
	var back func()
	if h.pgroup && h.p.Alive() {
		back = foregroundWhile(h.p.Pid, func() bool {
			st, err := s.Proc.ReadStatus(h.p.Pid)
			return err == nil && st.Ignores(int(unix.SIGINT))
		})
	}
	st, err := h.p.Wait(ctx)
	if back != nil {
		back()
	}
	if err != nil {
		return raiseErr(L, err)
	}
	h.item.Forget()
	h.waited = true
	s.adopt(h)
	L.Push(glua.LNumber(st.Code))
	switch {
	case st.Signal != "":
		L.Push(glua.LString("signal"))
		L.Push(glua.LString(st.Signal))
	case st.ErrorMsg != "":
		L.Push(glua.LString("exit"))
		L.Push(glua.LString(st.ErrorMsg))
	default:
		L.Push(glua.LString("exit"))
		return 2
	}
	return 3
}

// parseSignal reads 9, "9", "KILL", "SIGKILL" or "RTMIN+2" (0: kill(2)'s existence test).
func parseSignal(v glua.LValue) (unix.Signal, error) {
	switch v := v.(type) {
	case *glua.LNilType:
		return unix.SIGTERM, nil
	case glua.LNumber:
		if v < 0 || v > 64 || float64(v) != float64(int(v)) {
			return 0, fmt.Errorf("signal number must be 0..64 (0 only checks that the process exists), got %v", float64(v))
		}
		return unix.Signal(int(v)), nil
	case glua.LString:
		name := strings.ToUpper(strings.TrimSpace(string(v)))
		if n, err := strconv.Atoi(name); err == nil {
			return parseSignal(glua.LNumber(n))
		}
		return sigs.Parse(string(v)) // "TERM", "SIGTERM", "RTMIN+2": the names sys.signal takes
	}
	return 0, fmt.Errorf("signal must be a number or a name, got %s", describe(v))
}

func (s *Session) hKill(L *glua.LState) int {
	h := checkHandle(L, 1)
	sig, err := parseSignal(L.Get(2))
	if err != nil {
		return argErr(L, 2, err.Error())
	}
	if err := h.p.Signal(sig); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) hNS(L *glua.LState) int {
	h := checkHandle(L, 1)
	m, err := nsproc.List(h.p.Pid)
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(mapTable(L, m))
	return 1
}

func (s *Session) hRelease(L *glua.LState) int {
	h := checkHandle(L, 1)
	if err := h.p.Release(); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) hUIDMap(L *glua.LState) int { return s.hMap(L, "uid_map") }
func (s *Session) hGIDMap(L *glua.LState) int { return s.hMap(L, "gid_map") }

// hMap writes an id map of the held child: checked by nsh, or with raw=true
// as given, for the kernel to judge.
func (s *Session) hMap(L *glua.LState, which string) int {
	h := checkHandle(L, 1)
	text := argString(L, 2, "lines")
	if argOptions(L, 3, "raw").Bool("raw", false) {
		if err := nsproc.WriteIDMapText(h.p.Pid, which, text); err != nil {
			return raiseErr(L, err)
		}
		return 0
	}
	m, err := nsproc.ParseIDMap(text)
	if err != nil {
		return argErr(L, 2, err.Error())
	}
	write := nsproc.WriteUIDMap
	if which == "gid_map" {
		write = nsproc.WriteGIDMap
	}
	if err := write(h.p.Pid, m); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) hSetgroups(L *glua.LState) int {
	h := checkHandle(L, 1)
	if err := nsproc.WriteSetgroups(h.p.Pid, argChoice(L, 2, "setgroups", "allow", "deny")); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) hAlive(L *glua.LState) int {
	L.Push(glua.LBool(checkHandle(L, 1).p.Alive()))
	return 1
}

func (s *Session) hResult(L *glua.LState) int {
	h := checkHandle(L, 1)
	if h.p.Alive() {
		return raiseErr(L, fmt.Errorf("process %d has not ended yet (call h:wait() first)", h.p.Pid))
	}
	st := h.p.Status()
	if len(st.Result) == 0 {
		return 0
	}
	_, vals, err := s.Unship(st.Result)
	if err != nil {
		return raiseErr(L, err)
	}
	for _, v := range vals {
		L.Push(v)
	}
	return len(vals)
}

// adopt makes what an ended child nsh left in the journal (what the
// kernel keeps after it ended, or all it made when it was killed) this
// session's to undo, newer than everything the session made before: so it
// is undone first, as a stack of mounts comes off top first.
func (s *Session) adopt(h *procHandle) {
	if !h.lua || h.jprefix == "" || h.adopted || h.p.Alive() {
		return
	}
	h.adopted = true
	items := s.Reg.Adopt(s.Reg.OpenedJournal().Entries(h.jprefix), func(r cleanup.Record) error {
		_, err := leftover.Undo(r)
		return err
	})
	if s.Child && len(items) > 0 {
		// a child nsh passes on what outlives it, its children's too
		adopted := map[*cleanup.Item]bool{}
		for _, it := range items {
			adopted[it] = true
		}
		s.HandOver(func(it *cleanup.Item) bool { return adopted[it] && s.outlives(it) })
	}
}

// hKeep leaves the child running when nsh ends. A child nsh (ns.clone)
// clears its own parent-death signal when asked; what it and its children
// record in the journal is kept with it. A program nsh executed cannot be
// asked: no kernel interface clears another process's parent-death signal.
func (s *Session) hKeep(L *glua.LState) int {
	h := checkHandle(L, 1)
	if h.pdeath && h.p.Alive() {
		if !h.lua {
			return raiseAs(L, "h:keep", nsproc.ErrNoKeep,
				"start the child with keep=true in the spawn table (ns.spawn{..., keep=true}) to leave it running")
		}
		if err := h.p.Keep(); err != nil {
			return raiseAs(L, "h:keep", err)
		}
	}
	if h.p.Alive() {
		// what a running child records stays with it; an ended one's
		// leftovers are still undone at the end
		s.Reg.OpenedJournal().KeepPrefix(h.jprefix)
	}
	h.item.Keep()
	return 0
}

// nsWaitany waits for the first of several children to end.
func (s *Session) nsWaitany(L *glua.LState) int {
	t, ok := L.Get(1).(*glua.LTable)
	if !ok {
		return argErr(L, 1, "a list of process handles expected, got "+describe(L.Get(1)))
	}
	var hs []*procHandle
	var uds []*glua.LUserData
	for i := 1; i <= t.Len(); i++ {
		ud, ok := t.RawGetInt(i).(*glua.LUserData)
		h, ok2 := (*procHandle)(nil), false
		if ok {
			h, ok2 = ud.Value.(*procHandle)
		}
		if !ok2 {
			return argErr(L, 1, fmt.Sprintf("element %d is not a process handle (got %s)", i, describe(t.RawGetInt(i))))
		}
		if h.waited {
			continue
		}
		hs = append(hs, h)
		uds = append(uds, ud)
	}
	timeout, hasTimeout := argOptSeconds(L, 2, "timeout")
	if len(hs) == 0 {
		L.Push(glua.LNil)
		return 1
	}
	cases := make([]reflect.SelectCase, 0, len(hs)+2)
	for _, h := range hs {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(h.p.Done())})
	}
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.Context().Done())})
	if hasTimeout {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(time.After(timeout))})
	}
	i, _, _ := reflect.Select(cases)
	switch {
	case i == len(hs):
		return raiseErr(L, s.Context().Err())
	case i > len(hs):
		L.Push(glua.LNil)
		L.Push(glua.LString("timeout"))
		return 2
	}
	h := hs[i]
	st := h.p.Status()
	h.waited = true
	h.item.Forget()
	s.adopt(h)
	L.Push(uds[i])
	L.Push(glua.LNumber(st.Code))
	if st.Signal != "" {
		L.Push(glua.LString("signal"))
		L.Push(glua.LString(st.Signal))
		return 4
	}
	L.Push(glua.LString("exit"))
	return 3
}
