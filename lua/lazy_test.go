package lua

import (
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// TestLazyModules: a session starts with no module installed, builds one
// when its global is first read, and what lists the modules sees them all
// in help()'s order whichever was used first; a global the script set
// first keeps the script's value; loops over _G see every module and
// library; a shipped function does not carry a module it read.
func TestLazyModules(t *testing.T) {
	s := newTestSession(t)
	for _, name := range []string{"ns", "net", "io", "os", "table"} {
		if v := s.L.G.Global.RawGetString(name); v != glua.LNil {
			t.Errorf("%s is installed at start", name)
		}
	}
	vals, err := s.Run(`json = "mine"
local n = 0
for k in pairs(_G) do n = n + 1 end
return type(net.lab), json, n, rawget(_G, "ns") ~= nil, require("math") == math, package.loaded.os == os`, "t")
	if err != nil {
		t.Fatal(err)
	}
	if vals[0].String() != "function" || vals[1].String() != "mine" || vals[3] != glua.LTrue || vals[4] != glua.LTrue || vals[5] != glua.LTrue {
		t.Errorf("got %v", vals)
	}
	eager := newTestSession(t)
	eager.loadModules()
	want := 0
	eager.L.G.Global.ForEach(func(glua.LValue, glua.LValue) { want++ })
	if n := int(vals[2].(glua.LNumber)); n != want {
		t.Errorf("pairs(_G) saw %d globals, a session with everything installed has %d", n, want)
	}
	var names []string
	for _, m := range s.Modules() {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, " "); got != "ns sys view cgroup mount rootfs net json" {
		t.Errorf("modules in the order %q", got)
	}
	if !strings.Contains(s.HelpIndex(), "json") {
		t.Error("help() does not list json, whose global the script replaced")
	}
	// a function reading a module it has not used yet ships without it
	fresh := newTestSession(t)
	fn, err := fresh.Chunks.Compile(fresh.L, "return function() return sys.getpid() end", "t")
	if err != nil {
		t.Fatal(err)
	}
	rets, err := fresh.Call(fn)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fresh.Ship(rets[0].(*glua.LFunction), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "sys.uname") {
		t.Error("the shipped function carried the sys module")
	}
}
