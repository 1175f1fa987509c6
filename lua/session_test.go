package lua

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"nsh/runtime/kerr"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// testModule installs a module "t" whose functions raise each kind of error.
func testModule(s *Session) {
	eperm := kerr.New("unshare(CLONE_NEWUTS)", unix.EPERM, kerr.Rules{{Errno: unix.EPERM, Rule: "unshare needs CAP_SYS_ADMIN"}})
	s.install(&Module{Name: "t", Doc: "errors", Funcs: []Func{
		{Name: "arg", Args: "(x)", Fn: func(L *glua.LState) int { return argErr(L, 2, "x must be a word") }},
		{Name: "kernel", Args: "()", Fn: func(L *glua.LState) int { return raiseErr(L, eperm) }},
		{Name: "hinted", Args: "()", Fn: func(L *glua.LState) int {
			return raiseErr(L, eperm, hintIf(eperm, "not shown: the error is not EACCES", unix.EACCES),
				hintIf(eperm, "create a user namespace first: ns.unshare(\"user\")", unix.EACCES, unix.EPERM))
		}},
		{Name: "refused", Args: "(x)", Fn: func(L *glua.LState) int {
			return inputErr(L, 1, errors.New(`name "a/b" has a slash`), "names are single words")
		}},
		{Name: "attached", Args: "()", Fn: func(L *glua.LState) int {
			return raiseErr(L, withHint(eperm, "attached below the binding"), "the binding's own")
		}},
		{Name: "attached_refusal", Args: "(x)", Fn: func(L *glua.LState) int {
			return inputErr(L, 1, fmt.Errorf("option x: %w", withHint(errors.New("no such group"), "make it first")))
		}},
		{Name: "input_kernel", Args: "()", Fn: func(L *glua.LState) int { return inputErr(L, 1, eperm) }},
		{Name: "cancelled", Args: "()", Fn: func(L *glua.LState) int { return raiseErr(L, context.Canceled) }},
		// outer calls a Lua function (which may call other bindings) and
		// then refuses its own argument: the name must be its own again.
		{Name: "outer", Args: "(fn)", Fn: func(L *glua.LState) int {
			L.Push(L.CheckFunction(1))
			L.Call(0, 0)
			return argErr(L, 1, "after the call")
		}},
	}})
}

func TestErrorShapes(t *testing.T) {
	s := newTestSession(t)
	testModule(s)
	for _, c := range []struct{ src, want string }{
		{`t.arg()`, `t:1: bad argument #2 to 't.arg' (x must be a word)`},
		{`t.kernel()`, `t:1: t.kernel: unshare(CLONE_NEWUTS): EPERM: unshare needs CAP_SYS_ADMIN`},
		{`t.hinted()`, "t:1: t.hinted: unshare(CLONE_NEWUTS): EPERM: unshare needs CAP_SYS_ADMIN\n  hint: create a user namespace first: ns.unshare(\"user\")"},
		{`t.refused()`, "t:1: bad argument #1 to 't.refused' (name \"a/b\" has a slash)\n  hint: names are single words"},
		{`t.attached()`, "t.attached: unshare(CLONE_NEWUTS): EPERM: unshare needs CAP_SYS_ADMIN\n  hint: attached below the binding\n  hint: the binding's own"},
		{`t.attached_refusal()`, "bad argument #1 to 't.attached_refusal' (option x: no such group)\n  hint: make it first"},
		{`t.input_kernel()`, `t:1: t.input_kernel: unshare(CLONE_NEWUTS): EPERM: unshare needs CAP_SYS_ADMIN`},
		{`t.cancelled()`, `t:1: interrupted`},
		{`t.outer(function() pcall(ns.unshare, "bogus") end)`, `t:1: bad argument #1 to 't.outer' (after the call)`},
		{`t.outer(function() pcall(t.outer, function() end) end)`, `t:1: bad argument #1 to 't.outer' (after the call)`},
		// a binding called inside a coroutine finds the session too
		{`coroutine.wrap(function() ns.setns(1, "bogus") end)()`, `bad argument #2 to 'ns.setns' (unknown namespace type "bogus"`},
		{`help("zzz")`, `t:1: help: nothing called "zzz" (try help() for the list of modules)`},
		{`os.exit("x")`, `bad argument #1 to 'os.exit' (exit code (number or boolean) expected, got string)`},
	} {
		if got := runErr(t, s, c.src); !strings.Contains(got, c.want) {
			t.Errorf("%s:\n got  %q\n want %q", c.src, got, c.want)
		}
	}
	// A real kernel refusal reads the same way: binding, call, errno, rule.
	got := runErr(t, s, `mount.umount("/nonexistent-nsh-test")`)
	if !strings.Contains(got, `mount.umount: umount("/nonexistent-nsh-test"): ENOENT`) {
		t.Errorf("mount.umount of a missing path: %q", got)
	}
	// Outside any binding there is no name to give, and no crash.
	if got := bindingName(s.L); got != "?" {
		t.Errorf("binding name between calls: %q, want \"?\"", got)
	}
}

// A bare interpreter (no Session) still gets argument errors, named "?".
func TestArgErrWithoutSession(t *testing.T) {
	got := runArgs(t, "1", func(L *glua.LState) int { return argErr(L, 1, "no") })
	if !strings.Contains(got, "bad argument #1 to '?' (no)") {
		t.Errorf("got %q", got)
	}
}

// Two sessions in one process share nothing: globals, help records, the
// running binding's name and the cleanup registry are each their own.
func TestTwoSessionsShareNoState(t *testing.T) {
	a, b := newTestSession(t), newTestSession(t)
	if sessionOf(a.L) != a || sessionOf(b.L) != b {
		t.Fatal("sessionOf does not find each interpreter's own session")
	}
	run(t, a, `x = 1`)
	if got := runErr(t, b, `assert(x == nil, "a's global seen in b")`); got != "" {
		t.Error(got)
	}
	// A binding of a that runs a chunk in b: b's error is named after b's
	// binding, and a's own error afterwards after a's.
	var inner string
	a.install(&Module{Name: "cross", Funcs: []Func{{Name: "call", Args: "()", Fn: func(L *glua.LState) int {
		_, err := b.Run(`ns.unshare("bogus")`, "inner")
		inner = err.Error()
		if got := bindingName(b.L); got != "?" {
			t.Errorf("b's binding name after its chunk: %q", got)
		}
		return argErr(L, 1, "still a's")
	}}}})
	got := runErr(t, a, `cross.call()`)
	if !strings.Contains(inner, "bad argument #1 to 'ns.unshare'") {
		t.Errorf("b's error: %q", inner)
	}
	if !strings.Contains(got, "bad argument #1 to 'cross.call' (still a's)") {
		t.Errorf("a's error: %q", got)
	}
	if runErr(t, b, `assert(cross == nil)`) != "" {
		t.Error("a module installed in a appears in b")
	}
	// help records are per session: b has no record of a's module.
	for _, e := range a.docList {
		if _, ok := b.docOf(e.v); ok {
			t.Fatalf("a help record of a is in b: %v", e.v)
		}
	}
	if a.Reg == b.Reg || a.Chunks == b.Chunks {
		t.Error("sessions share a cleanup registry or chunk store")
	}
	// Cleanup registered in one does not run in the other.
	ran := 0
	a.Reg.Add("test item", func() error { ran++; return nil })
	b.Cleanup(nil)
	if ran != 0 {
		t.Error("b's cleanup ran a's item")
	}
	a.Cleanup(nil)
	if ran != 1 {
		t.Errorf("a's cleanup ran its item %d times", ran)
	}
	// Closing one leaves the other working.
	for _, err := range a.Close() {
		t.Error(err)
	}
	var out bytes.Buffer
	b.Stdout = &out
	run(t, b, `help("ns.clone")`)
	if !strings.Contains(out.String(), "ns.clone(") {
		t.Errorf("help in b after a closed: %q", out.String())
	}
}

// The session lists its modules explicitly, in the order help() shows.
func TestSessionModules(t *testing.T) {
	s := newTestSession(t)
	var names []string
	for _, m := range s.Modules() {
		names = append(names, m.Name)
	}
	if got, want := strings.Join(names, " "), "ns sys view cgroup mount rootfs net json"; got != want {
		t.Errorf("modules %q, want %q", got, want)
	}
	var views []string
	for _, m := range s.Modules() {
		if m.Name == "view" {
			for _, f := range m.Funcs {
				views = append(views, f.Name)
			}
		}
	}
	if got, want := strings.Join(views, " "), "ns upid tree uidmap nstree namespaces cgroup mounts links lab"; got != want {
		t.Errorf("views %q, want %q", got, want)
	}
	for _, m := range s.Modules() {
		for _, f := range m.Funcs {
			if f.Fn == nil || f.Doc == "" || f.Example == "" {
				t.Errorf("%s.%s: a record needs its function, doc and example", m.Name, f.Name)
			}
		}
	}
}

// A method record carries its function: methodTable calls it with the
// session and names its errors; a record without one is a bug caught at
// start.
func TestMethodRecords(t *testing.T) {
	s := newTestSession(t)
	var got *Session
	funcs := []Func{
		{Name: "who", Args: "()", Doc: "d", Method: func(s *Session, L *glua.LState) int {
			got = s
			return argErr(L, 1, "method error")
		}},
		{Name: "two", Args: "()", Doc: "d", Method: func(s *Session, L *glua.LState) int {
			L.Push(glua.LString("second"))
			return 1
		}},
	}
	s.L.SetGlobal("m", s.methodTable("thing", "m:", funcs))
	if err := runErr(t, s, `m.who()`); !strings.Contains(err, "bad argument #1 to 'm:who' (method error)") {
		t.Errorf("m:who error %q", err)
	}
	if got != s {
		t.Error("Method not called with its session")
	}
	run(t, s, `assert(m.two() == "second")`)
	if d, _ := s.docOf(s.L.GetGlobal("m").(*glua.LTable).RawGetString("who")); d == nil || d.Func.Name != "who" {
		t.Error("a method has no help record")
	}
	defer func() {
		if recover() == nil {
			t.Error("a method record without its Method was accepted")
		}
	}()
	s.methodTable("thing", "m:", []Func{{Name: "none"}})
}

// A cancelled chunk is ErrInterrupted, whatever was raised inside it; a
// script's own error that says "interrupted" is not.
func TestInterrupted(t *testing.T) {
	s := newTestSession(t)
	s.install(&Module{Name: "c", Funcs: []Func{{Name: "cancel", Args: "()", Fn: func(L *glua.LState) int {
		s.Interrupt()
		return 0
	}}}})
	_, err := s.Run(`c.cancel(); while true do end`, "t")
	if !Interrupted(err) || err.Error() != "interrupted" {
		t.Errorf("cancelled chunk: %v", err)
	}
	_, err = s.Run(`error("was interrupted")`, "t")
	if err == nil || Interrupted(err) {
		t.Errorf("a script's own error: %v, Interrupted = %v", err, Interrupted(err))
	}
	// the next chunk runs with a fresh context
	run(t, s, `x = 1`)
}
