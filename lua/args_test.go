package lua

import (
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

func TestEditDistanceAndClosest(t *testing.T) {
	if d := editDistance("spwan", "spawn"); d != 1 {
		t.Errorf("spwan/spawn: %d, want 1 (a swap is one edit)", d)
	}
	got := closest("hostnme", []string{"hostname", "domainname", "uid"})
	if len(got) != 1 || got[0] != "hostname" {
		t.Errorf("closest(hostnme) = %v", got)
	}
	if got := closest("zzz", []string{"hostname"}); len(got) != 0 {
		t.Errorf("closest(zzz) = %v, want none", got)
	}
}

// runArgs calls fn as a Go function from Lua with the given Lua argument
// expression and returns the error text ("" if none).
func runArgs(t *testing.T, args string, fn glua.LGFunction) string {
	t.Helper()
	L := glua.NewState()
	defer L.Close()
	L.SetGlobal("f", L.NewFunction(fn))
	if err := L.DoString("f(" + args + ")"); err != nil {
		return err.Error()
	}
	return ""
}

func TestOptionsVocabulary(t *testing.T) {
	var got options
	read := func(L *glua.LState) int {
		got = argOptions(L, 1, "pin", "outer", "name", "count", "mode")
		got.Bool("outer", true)
		got.String("name", "")
		got.Int("count", 1, 1, 10)
		got.Choice("mode", "auto", "auto", "yes", "no")
		return 0
	}
	for _, c := range []struct{ args, want string }{
		{`{outer=false, name="x", count=3, mode="yes"}`, ""},
		{`nil`, ""},
		{`{outr=true}`, `unknown option outr: did you mean "outer"?`},
		{`{outer=1}`, "option outer must be true or false, got number"},
		{`{count=11}`, "option count must be a whole number from 1 to 10, got 11"},
		{`{count=1.5}`, "got 1.5"},
		{`{mode="yse"}`, `option mode must be one of "auto", "yes" or "no", got "yse"; did you mean "yes"?`},
		{`5`, "options table expected"},
	} {
		err := runArgs(t, c.args, read)
		if c.want == "" && err != "" || c.want != "" && !strings.Contains(err, c.want) {
			t.Errorf("f(%s): error %q, want %q", c.args, err, c.want)
		}
	}
}

func TestPositionalVocabulary(t *testing.T) {
	for _, c := range []struct {
		args, want string
		fn         glua.LGFunction
	}{
		{`""`, "name must be a non-empty string, got string", func(L *glua.LState) int { argString(L, 1, "name"); return 0 }},
		{``, "name must be a non-empty string, got no value", func(L *glua.LState) int { argString(L, 1, "name"); return 0 }},
		{`"x"`, "", func(L *glua.LState) int { argOptString(L, 1, "name", ""); return 0 }},
		{`{}`, "name must be a string, got table", func(L *glua.LState) int { argOptString(L, 1, "name", ""); return 0 }},
		{`"privte"`, `did you mean "private"?`, func(L *glua.LState) int { argChoice(L, 1, "kind", "private", "shared"); return 0 }},
		{`0`, "sig must be a whole number from 1 to 64, got 0", func(L *glua.LState) int { argInt(L, 1, "sig", 1, 64); return 0 }},
		{``, "", func(L *glua.LState) int { argOptInt(L, 1, "sig", 15, 1, 64); return 0 }},
		{`"yes"`, "must be true or false, got string", func(L *glua.LState) int { argBool(L, 1, "recursive", false); return 0 }},
	} {
		err := runArgs(t, c.args, c.fn)
		if c.want == "" && err != "" || c.want != "" && !strings.Contains(err, c.want) {
			t.Errorf("f(%s): error %q, want %q", c.args, err, c.want)
		}
	}
}
