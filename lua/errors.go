package lua

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"nsh/runtime/kerr"

	glua "github.com/yuin/gopher-lua"
)

// raise turns a runtime error into a Lua error prefixed with the Lua
// function's name ("ns.setns: setns(1234, \"mnt\"): EPERM: ...").
func raise(L *glua.LState, fn string, err error) int {
	if errors.Is(err, context.Canceled) {
		L.RaiseError("interrupted")
	}
	L.RaiseError("%s: %s", fn, err.Error())
	return 0
}

// current is the Lua name of the binding now running ("ns.clone"), for
// argument errors. One interpreter runs per process, on one thread.
var current string

// named wraps a binding so its argument errors carry its Lua name.
func named(name string, fn glua.LGFunction) glua.LGFunction {
	return func(L *glua.LState) int {
		prev := current
		current = name
		defer func() { current = prev }()
		return fn(L)
	}
}

// argErr raises "bad argument #n to 'ns.clone' (msg)".
func argErr(L *glua.LState, n int, msg string) int {
	L.RaiseError("bad argument #%d to '%s' (%s)", n, current, msg)
	return 0
}

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

// fail reports err from a runtime call: a kernel failure (kerr.Error) as
// such, anything else (the runtime refusing the input) as a bad argument n.
func fail(L *glua.LState, fn string, n int, err error) int {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return raise(L, fn, err)
	}
	return argErr(L, n, err.Error())
}
