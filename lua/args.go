package lua

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// The one argument vocabulary of every binding. Positional arguments are
// read with arg* functions, an options table with argOptions and its
// methods; each raises "bad argument #n to 'ns.spawn' (...)" naming what was
// wanted and the valid choices. Parameter order is always (L, n, what or
// key, then limits or default).

// argString reads a required, non-empty string argument n.
func argString(L *glua.LState, n int, what string) string {
	v, ok := L.Get(n).(glua.LString)
	if !ok || v == "" {
		argErr(L, n, fmt.Sprintf("%s must be a non-empty string, got %s", what, describe(L.Get(n))))
	}
	return string(v)
}

// argOptString reads an optional string argument n (def when nil).
func argOptString(L *glua.LState, n int, what, def string) string {
	switch v := L.Get(n).(type) {
	case *glua.LNilType:
		return def
	case glua.LString:
		return string(v)
	}
	argErr(L, n, fmt.Sprintf("%s must be a string, got %s", what, describe(L.Get(n))))
	return def
}

// argInt reads a required whole number argument n in [lo, hi].
func argInt(L *glua.LState, n int, what string, lo, hi int) int {
	return wholeNumber(L, n, what, L.Get(n), lo, hi)
}

// argOptInt reads an optional whole number argument n in [lo, hi].
func argOptInt(L *glua.LState, n int, what string, def, lo, hi int) int {
	if L.Get(n) == glua.LNil {
		return def
	}
	return argInt(L, n, what, lo, hi)
}

// argChoice reads a required string argument n that must be one of choices.
func argChoice(L *glua.LState, n int, what string, choices ...string) string {
	v, ok := L.Get(n).(glua.LString)
	if !ok {
		argErr(L, n, fmt.Sprintf("%s must be one of %s, got %s", what, quoteList(choices...), describe(L.Get(n))))
	}
	return oneOf(L, n, what, string(v), choices)
}

// argBool reads an optional boolean argument n.
func argBool(L *glua.LState, n int, what string, def bool) bool {
	switch v := L.Get(n).(type) {
	case *glua.LNilType:
		return def
	case glua.LBool:
		return bool(v)
	}
	argErr(L, n, fmt.Sprintf("%s must be true or false, got %s", what, describe(L.Get(n))))
	return def
}

// options is an options table given as argument n. A nil argument is an
// empty table. Its readers raise argument errors for argument n.
type options struct {
	L  *glua.LState
	n  int
	t  *glua.LTable
	at string // where the table sits inside argument n ("nodes[2] (h1): "), "" for the argument itself
}

// argOptions reads argument n as an options table whose keys must be among
// valid (a misspelt key is named, with the closest valid ones).
func argOptions(L *glua.LState, n int, valid ...string) options {
	v := L.Get(n)
	if v == glua.LNil {
		return options{L: L, n: n, t: L.NewTable()}
	}
	t, ok := v.(*glua.LTable)
	if !ok {
		argErr(L, n, fmt.Sprintf("options table expected (keys: %s), got %s", strings.Join(valid, ", "), describe(v)))
	}
	return optionsOf(L, n, t, valid...)
}

// optionsOf checks the keys of a table that is already in hand (a spawn
// table whose array part is argv, say) and wraps it.
func optionsOf(L *glua.LState, n int, t *glua.LTable, valid ...string) options {
	return optionsAt(L, n, "", t, valid...)
}

// optionsAt is optionsOf for a table found inside argument n at at (a lab
// description's "nodes[2] (h1): "): its errors say where.
func optionsAt(L *glua.LState, n int, at string, t *glua.LTable, valid ...string) options {
	o := options{L: L, n: n, t: t, at: at}
	t.ForEach(func(k, _ glua.LValue) {
		if _, isNum := k.(glua.LNumber); isNum && len(valid) > 0 && valid[0] == "[argv]" {
			return
		}
		ks, ok := k.(glua.LString)
		if ok && contains(valid, string(ks)) {
			return
		}
		msg := fmt.Sprintf("unknown option %s (valid: %s)", k.String(), strings.Join(validKeys(valid), ", "))
		if ok {
			if near := closest(string(ks), validKeys(valid)); len(near) > 0 {
				msg = fmt.Sprintf("unknown option %s: did you mean %s? (valid: %s)", k.String(), quoteList(near...), strings.Join(validKeys(valid), ", "))
			}
		}
		argErr(L, n, at+msg)
	})
	return o
}

func validKeys(valid []string) []string {
	if len(valid) > 0 && valid[0] == "[argv]" {
		return valid[1:]
	}
	return valid
}

// Table is the underlying table.
func (o options) Table() *glua.LTable { return o.t }

// Has says whether key is set (not nil).
func (o options) Has(key string) bool { return o.t.RawGetString(key) != glua.LNil }

// Value is the raw value of key.
func (o options) Value(key string) glua.LValue { return o.t.RawGetString(key) }

// Bool reads a boolean option.
func (o options) Bool(key string, def bool) bool {
	switch v := o.t.RawGetString(key).(type) {
	case *glua.LNilType:
		return def
	case glua.LBool:
		return bool(v)
	}
	argErr(o.L, o.n, o.at+fmt.Sprintf("option %s must be true or false, got %s", key, describe(o.t.RawGetString(key))))
	return def
}

// String reads a string option (a number is taken as its text).
func (o options) String(key, def string) string {
	switch v := o.t.RawGetString(key).(type) {
	case *glua.LNilType:
		return def
	case glua.LString:
		return string(v)
	case glua.LNumber:
		return v.String()
	}
	argErr(o.L, o.n, o.at+fmt.Sprintf("option %s must be a string, got %s", key, describe(o.t.RawGetString(key))))
	return def
}

// Int reads a whole number option in [lo, hi].
func (o options) Int(key string, def, lo, hi int) int {
	v := o.t.RawGetString(key)
	if v == glua.LNil {
		return def
	}
	return wholeNumber(o.L, o.n, o.at+"option "+key, v, lo, hi)
}

// Number reads a number option in [lo, hi].
func (o options) Number(key string, def, lo, hi float64) float64 {
	switch v := o.t.RawGetString(key).(type) {
	case *glua.LNilType:
		return def
	case glua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || f < lo || f > hi {
			argErr(o.L, o.n, o.at+fmt.Sprintf("option %s must be from %g to %g, got %g", key, lo, hi, f))
		}
		return f
	}
	argErr(o.L, o.n, o.at+fmt.Sprintf("option %s must be a number, got %s", key, describe(o.t.RawGetString(key))))
	return def
}

// Choice reads a string option that must be one of choices.
func (o options) Choice(key, def string, choices ...string) string {
	v := o.t.RawGetString(key)
	if v == glua.LNil {
		return def
	}
	s, ok := v.(glua.LString)
	if !ok {
		argErr(o.L, o.n, o.at+fmt.Sprintf("option %s must be one of %s, got %s", key, quoteList(choices...), describe(v)))
	}
	return oneOf(o.L, o.n, o.at+"option "+key, string(s), choices)
}

// Strings reads an option that is a string or a list of strings.
func (o options) Strings(key string) []string {
	v := o.t.RawGetString(key)
	if v == glua.LNil {
		return nil
	}
	out, err := stringList(o.L, v, o.at+"option "+key)
	if err != nil {
		argErr(o.L, o.n, err.Error())
	}
	return out
}

// Tbl reads an option that must be a table (nil when absent).
func (o options) Tbl(key string) *glua.LTable {
	switch v := o.t.RawGetString(key).(type) {
	case *glua.LNilType:
		return nil
	case *glua.LTable:
		return v
	}
	argErr(o.L, o.n, o.at+fmt.Sprintf("option %s must be a table, got %s", key, describe(o.t.RawGetString(key))))
	return nil
}

// wholeNumber checks that v is a whole number in [lo, hi].
func wholeNumber(L *glua.LState, n int, what string, v glua.LValue, lo, hi int) int {
	num, ok := v.(glua.LNumber)
	if !ok {
		argErr(L, n, fmt.Sprintf("%s must be a number, got %s", what, describe(v)))
	}
	f := float64(num)
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		argErr(L, n, fmt.Sprintf("%s must be a whole number from %d to %d, got %v", what, lo, hi, f))
	}
	return int(f)
}

// oneOf checks s against choices, suggesting the closest on a miss.
func oneOf(L *glua.LState, n int, what, s string, choices []string) string {
	if contains(choices, s) {
		return s
	}
	msg := fmt.Sprintf("%s must be one of %s, got %q", what, quoteList(choices...), s)
	if near := closest(s, choices); len(near) > 0 {
		msg += "; did you mean " + quoteList(near...) + "?"
	}
	argErr(L, n, msg)
	return ""
}

// describe names a value's type for messages ("no value" for nil).
func describe(v glua.LValue) string {
	if v == glua.LNil {
		return "no value"
	}
	return v.Type().String()
}

// quoteList formats words as "a", "b" or "c".
func quoteList(words ...string) string { return choices(words...) }

func contains(list []string, s string) bool {
	for _, w := range list {
		if w == s {
			return true
		}
	}
	return false
}

// closest lists the words of candidates within a small edit distance of w,
// nearest first (for "did you mean").
func closest(w string, candidates []string) []string {
	type scored struct {
		s string
		d int
	}
	var out []scored
	limit := 2
	if len(w) <= 3 {
		limit = 1
	}
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(w), strings.ToLower(c)); d <= limit {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].d < out[j].d })
	var names []string
	for i, s := range out {
		if i == 3 {
			break
		}
		names = append(names, s.s)
	}
	return names
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance, so a swapped pair of letters ("spwan") counts as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// argOptMode reads an optional file mode argument n: an octal string
// ("0755", "755": Lua has no octal literals, so 755 would be decimal) or a
// number (tonumber("755", 8)), at most 07777.
func argOptMode(L *glua.LState, n int, what string, def uint32) uint32 {
	switch v := L.Get(n).(type) {
	case *glua.LNilType:
		return def
	case glua.LString:
		m, err := strconv.ParseUint(string(v), 8, 32)
		if err != nil || m > 0o7777 {
			argErr(L, n, fmt.Sprintf("%s must be an octal mode such as \"0755\" (at most 07777), got %q", what, string(v)))
		}
		return uint32(m)
	case glua.LNumber:
		return uint32(wholeNumber(L, n, what, v, 0, 0o7777))
	}
	argErr(L, n, fmt.Sprintf("%s must be an octal mode string such as \"0755\" or a number, got %s", what, describe(L.Get(n))))
	return def
}
