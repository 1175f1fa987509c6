package lua

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"nsh/runtime/kerr"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// The error path. This file is the one place where something a binding
// cannot do becomes a Lua error; no other file calls L.RaiseError. There are
// three kinds, and a binding picks one:
//
//	argErr(L, n, msg)            the input is wrong, said before any work:
//	                             bad argument #2 to 'ns.setns' (unknown namespace type "x" (valid types: ...))
//	raiseErr(L, err, hints...)   a runtime call failed; a kerr.Error reads
//	                             ns.unshare: unshare(CLONE_NEWUTS): EPERM: <the kernel's rule>
//	inputErr(L, n, err, hints...)  a runtime call failed, and anything that is
//	                             not a kerr.Error is the runtime refusing argument
//	                             n's value: raised as argErr(L, n, err.Error())
//
// A chunk cancelled by Ctrl-C or SIGTERM raises "interrupted" whatever the
// binding was doing. The binding's Lua name ("ns.unshare", "cg:set") comes
// from the session (see named); hints are nsh-specific advice ("what to type
// instead") that only the binding knows, each added as a line of its own:
//
//	cgroup.create: mkdir(/sys/fs/cgroup/cpu/nsh): EACCES: <rule>
//	  hint: nsh runs as an ordinary user here, ...
//
// Runtime rule texts say what the kernel requires; hints say what to do in nsh.

// argErr raises "bad argument #n to 'ns.clone' (msg)".
func argErr(L *glua.LState, n int, msg string) int {
	L.RaiseError("%s", badArg(L, n, msg))
	return 0
}

func badArg(L *glua.LState, n int, msg string) string {
	return fmt.Sprintf("bad argument #%d to '%s' (%s)", n, bindingName(L), msg)
}

// raiseErr raises err from a runtime call made by the running binding as
// "binding: err", with hints (empty ones skipped) as lines below it.
func raiseErr(L *glua.LState, err error, hints ...string) int {
	return raiseAs(L, bindingName(L), err, hints...)
}

// inputErr raises err from a runtime call: a kernel failure (kerr.Error) as
// raiseErr does, anything else (the runtime refusing the input) as a bad
// argument n.
func inputErr(L *glua.LState, n int, err error, hints ...string) int {
	if isFailure(err) {
		return raiseErr(L, err, hints...)
	}
	L.RaiseError("%s", withHints(badArg(L, n, err.Error()), attached(err, hints)))
	return 0
}

// isFailure tells a failure (the kernel refused, or the chunk was
// interrupted) from the runtime refusing its input.
func isFailure(err error) bool {
	var ke *kerr.Error
	return errors.As(err, &ke) || errors.Is(err, context.Canceled)
}

// raiseAs is raiseErr under an explicit Lua name: the one formatter of
// runtime failures.
func raiseAs(L *glua.LState, fn string, err error, hints ...string) int {
	if errors.Is(err, context.Canceled) {
		L.RaiseError("interrupted")
	}
	L.RaiseError("%s", withHints(fn+": "+err.Error(), confinedOr(err, attached(err, hints))))
	return 0
}

// hintedError is an error with nsh's advice attached by a lua/ helper below
// the binding (newCgroup, for cgroup.create and ns.spawn's cgroup= alike);
// raiseErr and inputErr print the hint as a line of its own.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

// withHint attaches hint to err (nothing when either is empty).
func withHint(err error, hint string) error {
	if err == nil || hint == "" {
		return err
	}
	return &hintedError{err, hint}
}

// attached is the hints carried by err, then hints.
func attached(err error, hints []string) []string {
	var he *hintedError
	if errors.As(err, &he) {
		return append([]string{he.hint}, hints...)
	}
	return hints
}

func withHints(msg string, hints []string) string {
	for _, h := range hints {
		if h != "" {
			msg += "\n  hint: " + h
		}
	}
	return msg
}

// hintIf is hint when err carries one of errnos, else "" (no hint): for
// advice that applies to one failure, raiseErr(L, err, hintIf(err, "...", unix.EPERM)).
func hintIf(err error, hint string, errnos ...unix.Errno) string {
	for _, n := range errnos {
		if errors.Is(err, n) {
			return hint
		}
	}
	return ""
}

// raiseLua re-raises an error of Lua code nsh loaded for a script (a
// syntax error of a dofile'd file) as it is, with no binding name.
func raiseLua(L *glua.LState, err error) int {
	L.RaiseError("%s", err.Error())
	return 0
}

// named wraps a binding so its errors carry its Lua name: while it runs,
// the session's binding name is name.
func named(name string, fn glua.LGFunction) glua.LGFunction {
	return func(L *glua.LState) int {
		s := sessionOf(L)
		if s == nil {
			return fn(L)
		}
		prev := s.binding
		s.binding = name
		defer func() { s.binding = prev }()
		return fn(L)
	}
}

// bindingName is the Lua name of the binding now running in L's session
// ("ns.clone"), or "?" outside any.
func bindingName(L *glua.LState) string {
	if s := sessionOf(L); s != nil && s.binding != "" {
		return s.binding
	}
	return "?"
}

// The other direction: a Lua error leaving the interpreter (Session.Call)
// becomes a Go error for the REPL and the script runner.

// cleanError drops gopher-lua's Go-side stack trace from a Lua error and
// turns a Go panic inside a binding into an explicit internal error.
func cleanError(err error) error {
	if ae, ok := err.(*glua.ApiError); ok {
		if ae.Type == glua.ApiErrorPanic {
			return &InternalError{Msg: ae.Object.String()}
		}
		return fmt.Errorf("%s", strings.TrimSpace(ae.Object.String()))
	}
	return err
}

// InternalError is a Go panic inside a binding: a bug in nsh, reported as
// such and never as a crash.
type InternalError struct{ Msg string }

func (e *InternalError) Error() string {
	msg := e.Msg
	if i := strings.Index(msg, "\ngoroutine "); i >= 0 {
		msg = msg[:i]
	}
	return "nsh internal error (please report): " + msg
}

// ErrInterrupted is what Session.Call returns for a chunk cancelled by
// Ctrl-C or SIGTERM, whatever error the cancellation raised inside it.
var ErrInterrupted = errors.New("interrupted")

// Interrupted reports whether err came from cancelling the chunk (and not
// from a script's own error that happens to say "interrupted").
func Interrupted(err error) bool { return errors.Is(err, ErrInterrupted) }

// typeName is the Lua type of a value, for messages.
func typeName(v glua.LValue) string { return v.Type().String() }

// choices formats a list of valid words: "a", "b" or "c".
func choices(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = fmt.Sprintf("%q", w)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
