package lua

import (
	"os"
	"strings"
	"testing"
)

// Functions travel to a child with their upvalues (plain data, shared and
// cyclic tables, other functions), the globals they read, and arguments;
// return values come back.
func TestCloneShipsFunctionsAndValues(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a new UTS namespace")
	}
	s := newTestSession(t)
	run(t, s, `
		local shared = {1, 2, 3}
		local cyc = {name = "cyc"}; cyc.self = cyc
		local function sum(t) local n = 0 for _, v in ipairs(t) do n = n + v end return n end
		local fact
		fact = function(n) if n <= 1 then return 1 end return n * fact(n - 1) end
		settings = {host = "shipped"}           -- a global the function reads
		function double(x) return 2 * x end     -- a global function
		local made = loadstring("return 40 + 2")
		local h = ns.clone("uts", function(a, b, tbl)
			sys.hostname(settings.host)
			return 7, {sum = sum(shared), same = (tbl == shared), cyc = cyc.self.self.name,
			           fact = fact(5), dbl = double(a), b = b, host = sys.hostname(), made = made(),
			           nan = (0/0 ~= 0/0), inf = 1/0}
		end, 21, "two", shared)
		local code = h:wait()
		assert(code == 7, "exit code from the first return value: " .. tostring(code))
		local seven, r = h:result()
		assert(seven == 7)
		assert(r.sum == 6 and r.same and r.cyc == "cyc" and r.fact == 120 and r.dbl == 42)
		assert(r.b == "two" and r.host == "shipped" and r.made == 42 and r.nan and r.inf > 1e308)
		assert(sys.hostname() ~= "shipped")
	`)
}

func TestWhatCannotTravelIsNamed(t *testing.T) {
	s := newTestSession(t)
	_, err := s.Run(`
		local f = io.stdout
		ns.clone("uts", function() f:write("x") end)`, "t")
	if err == nil || !strings.Contains(err.Error(), "upvalue 'f'") || !strings.Contains(err.Error(), "cannot travel") {
		t.Fatalf("want an error naming upvalue 'f', got %v", err)
	}
	_, err = s.Run(`ns.clone("uts", function() end, coroutine.create(function() end))`, "t")
	if err == nil || !strings.Contains(err.Error(), "argument 1") {
		t.Fatalf("want an error naming argument 1, got %v", err)
	}
}

func TestChildErrorComesBack(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a new PID namespace")
	}
	s := newTestSession(t)
	run(t, s, `
		local h = ns.clone("pid", function() error("boom inside") end)
		local code, how, msg = h:wait()
		assert(code == 1 and how == "exit" and msg:find("boom inside"), tostring(msg))
		local h2 = ns.clone("pid", function() return false end)
		assert(h2:wait() == 1)
		local h3 = ns.clone("pid", function() return 300 end)
		assert(h3:wait() == 300 % 256)
	`)
}

func TestPrettyPrints(t *testing.T) {
	s := newTestSession(t)
	rets, err := s.Run(`return {3, 2, b = {x = "y"}, ["not id"] = true}`, "t")
	if err != nil {
		t.Fatal(err)
	}
	got := Pretty(s.L, rets[0])
	want := "{\n  3,\n  2,\n  b = {\n    x = \"y\",\n  },\n  [\"not id\"] = true,\n}"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// A child ships on what it received: its chunk came compiled, and a
// function from it travels again to a grandchild, with its upvalues.
func TestCloneShipsOnToGrandchild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for new PID and UTS namespaces")
	}
	s := newTestSession(t)
	run(t, s, `
		local tag = "shipped twice"
		local function inner(x) return x .. "!" end
		local h = ns.clone("pid,uts", function()
			local h2 = ns.clone("uts", function() return 0, inner(tag) end)
			assert(h2:wait() == 0)
			local _, r = h2:result()
			return 0, r
		end)
		assert(h:wait() == 0)
		local _, r = h:result()
		assert(r == "shipped twice!", tostring(r))
	`)
}
