package lua

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// maxPid is the kernel's PID_MAX_LIMIT (/proc/sys/kernel/pid_max at most).
const maxPid = 1 << 22

// checkPid reads a pid argument: a positive integer, or a process handle.
// With optional, a missing argument gives 0 (meaning "nsh itself").
func (s *Session) checkPid(L *glua.LState, n int, optional bool) int {
	v := L.Get(n)
	switch v := v.(type) {
	case glua.LNumber:
		f := float64(v)
		if f != math.Trunc(f) || f < 1 || f > maxPid {
			argErr(L, n, fmt.Sprintf("pid must be a positive whole number, got %v", f))
		}
		return int(f)
	case *glua.LUserData:
		if h, ok := v.Value.(*procHandle); ok {
			return h.p.Pid
		}
	case *glua.LNilType:
		if optional {
			return 0
		}
		argErr(L, n, "pid expected (a number or a process handle), got no value")
	}
	argErr(L, n, fmt.Sprintf("pid expected (a number or a process handle), got %s", describe(v)))
	return 0
}

// checkInt is argInt under its old name, for net.go until it is converted
// (transition).
func checkInt(L *glua.LState, n int, what string, lo, hi int) int { return argInt(L, n, what, lo, hi) }

// stringList reads a string or a list of strings.
func stringList(L *glua.LState, v glua.LValue, what string) ([]string, error) {
	switch v := v.(type) {
	case glua.LString:
		return []string{string(v)}, nil
	case *glua.LTable:
		var out []string
		n := v.Len()
		for i := 1; i <= n; i++ {
			e := v.RawGetInt(i)
			s, ok := e.(glua.LString)
			if !ok {
				if num, isNum := e.(glua.LNumber); isNum {
					out = append(out, num.String())
					continue
				}
				return nil, fmt.Errorf("%s[%d] must be a string, got %s", what, i, describe(e))
			}
			out = append(out, string(s))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s must be a string or a list of strings, got %s", what, describe(v))
}

// mapTable converts a map of inodes to a Lua table.
func mapTable(L *glua.LState, m map[string]uint64) *glua.LTable {
	t := L.NewTable()
	for k, v := range m {
		t.RawSetString(k, glua.LNumber(v))
	}
	return t
}

// intList converts []int to a Lua list.
func intList(L *glua.LState, xs []int) *glua.LTable {
	t := L.CreateTable(len(xs), 0)
	for _, x := range xs {
		t.Append(glua.LNumber(x))
	}
	return t
}

// strList converts []string to a Lua list.
func strList(L *glua.LState, xs []string) *glua.LTable {
	t := L.CreateTable(len(xs), 0)
	for _, x := range xs {
		t.Append(glua.LString(x))
	}
	return t
}

// withText gives a result table a __tostring that prints the view's
// readable form, so `print(view.upid(pid))` and the REPL show a table while
// scripts index the data.
func withText(L *glua.LState, t *glua.LTable, text string) *glua.LTable {
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(text))
		return 1
	}))
	mt.RawSetString("__name", glua.LString("view"))
	L.SetMetatable(t, mt)
	return t
}

// Pretty renders a value for the REPL: tables as readable literals with
// sorted keys (depth-limited), views through their __tostring.
func Pretty(L *glua.LState, v glua.LValue) string {
	var b strings.Builder
	pretty(L, &b, v, 0, map[*glua.LTable]bool{})
	return b.String()
}

func pretty(L *glua.LState, b *strings.Builder, v glua.LValue, depth int, seen map[*glua.LTable]bool) {
	switch v := v.(type) {
	case glua.LString:
		b.WriteString(fmt.Sprintf("%q", string(v)))
		return
	case *glua.LTable:
		if mt, ok := L.GetMetatable(v).(*glua.LTable); ok && mt.RawGetString("__tostring") != glua.LNil {
			b.WriteString(L.ToStringMeta(v).String())
			return
		}
		if seen[v] {
			b.WriteString("<cycle>")
			return
		}
		if depth > 4 {
			b.WriteString("{...}")
			return
		}
		seen[v] = true
		defer delete(seen, v)
		n := v.Len()
		var keys []glua.LValue
		v.ForEach(func(k, _ glua.LValue) {
			if num, ok := k.(glua.LNumber); ok && float64(num) >= 1 && float64(num) <= float64(n) && float64(num) == math.Trunc(float64(num)) {
				return
			}
			keys = append(keys, k)
		})
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		if n == 0 && len(keys) == 0 {
			b.WriteString("{}")
			return
		}
		indent := strings.Repeat("  ", depth+1)
		b.WriteString("{\n")
		count := 0
		for i := 1; i <= n; i++ {
			if count++; count > 200 {
				b.WriteString(indent + "...\n")
				break
			}
			b.WriteString(indent)
			pretty(L, b, v.RawGetInt(i), depth+1, seen)
			b.WriteString(",\n")
		}
		for _, k := range keys {
			if count++; count > 200 {
				b.WriteString(indent + "...\n")
				break
			}
			b.WriteString(indent)
			if ks, ok := k.(glua.LString); ok && isIdent(string(ks)) {
				b.WriteString(string(ks))
			} else {
				b.WriteString("[")
				pretty(L, b, k, depth+1, seen)
				b.WriteString("]")
			}
			b.WriteString(" = ")
			pretty(L, b, v.RawGet(k), depth+1, seen)
			b.WriteString(",\n")
		}
		b.WriteString(strings.Repeat("  ", depth) + "}")
		return
	}
	b.WriteString(L.ToStringMeta(v).String())
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// argOptSeconds reads an optional duration in seconds (fractions allowed,
// at most a year); ok is false when the argument is nil.
func argOptSeconds(L *glua.LState, n int, what string) (d time.Duration, ok bool) {
	switch v := L.Get(n).(type) {
	case *glua.LNilType:
		return 0, false
	case glua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || f < 0 || f > 365*24*3600 {
			argErr(L, n, fmt.Sprintf("%s must be a number of seconds from 0 to %d, got %v", what, 365*24*3600, f))
		}
		return time.Duration(f * float64(time.Second)), true
	}
	argErr(L, n, fmt.Sprintf("%s must be a number of seconds, got %s", what, describe(L.Get(n))))
	return 0, false
}
