package lua

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// How Lua values map to JSON and back, as decided in json.go.
func TestJSONEncodeDecode(t *testing.T) {
	s := newTestSession(t)
	for _, c := range []struct{ src, want string }{
		{`{pid = 1, argv = {"/bin/sh", "-c", "true"}}`, `{"argv":["/bin/sh","-c","true"],"pid":1}`},
		{`{}`, `[]`},
		{`json.object()`, `{}`},
		{`{members = {}, labels = json.object({})}`, `{"labels":{},"members":[]}`},
		{`{1, 2, nil, 4}`, `{"1":1,"2":2,"4":4}`},
		{`{1, 2, a = 3}`, `{"1":1,"2":2,"a":3}`},
		{`{[2.5] = "x"}`, `{"2.5":"x"}`},
		{`{1, json.null, 3}`, `[1,null,3]`},
		{`"a<b>&\n\"é"`, `"a<b>&\n\"é"`},
		{`4026531835`, `4026531835`},
		{`0.1`, `0.1`},
		{`-3`, `-3`},
		{`true`, `true`},
		{`nil`, `null`},
		{`json.null`, `null`},
		{`setmetatable({a = 1}, {__tostring = function() return "text" end})`, `{"a":1}`},
	} {
		got, err := s.Run("return json.encode("+c.src+")", "t")
		if err != nil {
			t.Errorf("json.encode(%s): %v", c.src, err)
			continue
		}
		if got[0].String() != c.want {
			t.Errorf("json.encode(%s) = %s, want %s", c.src, got[0], c.want)
		}
	}
	run(t, s, `
local v = json.decode('{"ifname": "lo", "mtu": 65536, "addr": [null, 1.5], "e": {}, "a": [], "t": true}')
assert(v.ifname == "lo" and v.mtu == 65536 and v.t == true)
assert(#v.addr == 2 and v.addr[1] == json.null and v.addr[2] == 1.5)
assert(json.encode(v.e) == "{}" and json.encode(v.a) == "[]")
assert(json.decode("null") == json.null and tostring(json.null) == "json.null")
assert(json.decode(" 12 ") == 12 and json.decode('"x"') == "x")
assert(json.encode({a = {1}}, {indent = 2}) == '{\n  "a": [\n    1\n  ]\n}')
local big = json.decode("9007199254740993")  -- 2^53 + 1 rounds to 2^53
assert(big == 9007199254740992)`)
}

// What JSON cannot hold is an error naming where it is.
func TestJSONErrors(t *testing.T) {
	s := newTestSession(t)
	for _, c := range []struct{ src, want string }{
		{`local t = {} t.t = t return json.encode(t)`, `bad argument #1 to 'json.encode' (.t is a cycle: the table contains itself (it is the value))`},
		{`local t = {a = {}} t.a.b = {t.a} return json.encode(t)`, `(.a.b[1] is a cycle: the table contains itself (it is .a))`},
		{`return json.encode({a = {b = {0/0}}})`, `(.a.b[1] is nan: JSON has no NaN or infinity)`},
		{`return json.encode({x = {["a b"] = {1/0}}})`, `(.x["a b"][1] is infinite: JSON has no NaN or infinity)`},
		{`return json.encode({f = print})`, `(.f is a function: JSON has no functions)`},
		{`return json.encode({co = coroutine.create(print)})`, `(.co is a thread: JSON has no threads)`},
		{`return json.encode({[true] = 1})`, `(the value has a boolean key (true): JSON object keys are strings`},
		{`return json.encode({[{}] = 1})`, `has a table key`},
		{`return json.encode({[1] = 1, ["1"] = 2})`, `has the keys`},
		{`return json.encode({io.stdout})`, `([1] is a userdata`},
		{`return json.encode()`, `bad argument #1 to 'json.encode' (value expected)`},
		{`return json.encode(1, {indnet = 2})`, `unknown option indnet: did you mean "indent"?`},
		{`return json.encode(1, {indent = 99})`, `bad argument #2 to 'json.encode'`},
		{`return json.decode("[1,")`, `bad argument #1 to 'json.decode' (line 1, column 3: the JSON text ends too early)`},
		{`return json.decode('{"a": tru}')`, `(line 1, column 10: invalid character '}' in literal true`},
		{`return json.decode("{\n\"a\": 1,\n}")`, `(line 3, column 1: invalid character '}'`},
		{`return json.decode("1 2")`, `(line 1, column 3: more text after the JSON value)`},
		{`return json.decode("")`, `(no JSON value (the text is empty))`},
		{`return json.decode(5)`, `bad argument #1 to 'json.decode' (JSON text`},
		{`return json.object(5)`, `bad argument #1 to 'json.object' (table expected`},
	} {
		err := runErr(t, s, c.src)
		if !strings.Contains(strings.ToLower(err), strings.ToLower(c.want)) {
			t.Errorf("%s:\n got %q\nwant %q", c.src, err, c.want)
		}
	}
}

// sameCheck is Lua that asserts a decoded value holds every field of the
// original, recursively (metatables aside), and nothing else.
const sameCheck = `
local function same(a, b, path)
  if type(a) == "table" then
    assert(type(b) == "table", path .. ": " .. type(b) .. " in JSON")
    for k, v in pairs(a) do
      local bk = b[k]
      if bk == nil and type(k) == "number" then bk = b[tostring(k)] end
      assert(bk ~= nil, path .. "." .. tostring(k) .. " missing in JSON")
      same(v, bk, path .. "." .. tostring(k))
    end
    local n = 0
    for _ in pairs(b) do n = n + 1 end
    local m = 0
    for _ in pairs(a) do m = m + 1 end
    assert(n == m, path .. ": " .. n .. " fields in JSON, " .. m .. " in Lua")
  else
    assert(a == b, path .. ": " .. tostring(a) .. " in Lua, " .. tostring(b) .. " in JSON")
  end
end
function check_view(name, v)
  local text = json.encode(v)
  same(v, json.decode(text), name)
  local printed = tostring(v)
  assert(not text:find(printed:sub(1, 20), 1, true), name .. ": the JSON has the printed text")
  return text
end
`

// Every view encodes its data with the fields it has in Lua, not the text
// it prints as.
func TestJSONViews(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a PID namespace, a lab)")
	}
	s := newTestSession(t)
	run(t, s, sameCheck)
	lab := fmt.Sprintf("gj%d", os.Getpid()%10000)
	run(t, s, `
h = ns.spawn{"/bin/sleep", "30", ns = "pid,user,mnt", hold = true}
h:uid_map("0 0 1"); h:gid_map("0 0 1"); h:release()
for _, c in ipairs{
  {"view.ns", view.ns(h.pid)},
  {"view.upid", view.upid(h.pid)},
  {"view.tree", view.tree()},
  {"view.uidmap", view.uidmap(h.pid)},
  {"view.nstree", view.nstree()},
  {"view.mounts", view.mounts(h.pid)},
  {"view.mounts diff", view.mounts(mount.list(), h.pid)},
  {"view.links", view.links()},
  {"view.cgroup", view.cgroup(h.pid)},
} do check_view(c[1], c[2]) end
local u = json.decode(json.encode(view.upid(h.pid)))
assert(u.level == 1 and u.numbers[2].nr == 1 and u.numbers[1].nr == h.pid)
local m = json.decode(json.encode(view.uidmap(h.pid)))
assert(m.uid_map[1].inside == 0 and m.uid_map[1].count == 1 and type(m.text) == "string")
local l = net.lab{name = "`+lab+`", pin = false}
l:bridge("br0", "10.53.59.1/24")
l:link(l:node("n1"), "br0", {addr = "10.53.59.2/24"})
local v = check_view("view.lab", view.lab(l))
assert(v:find('"10.53.59.2/24"', 1, true), v)
check_view("view.links(node)", view.links(l.n1))
-- handles encode their fields
local hj = json.decode(json.encode(h))
assert(hj.pid == h.pid and hj.argv[1] == "/bin/sleep" and #hj.argv == 2)
local lj = json.decode(json.encode(l))
assert(lj.name == "`+lab+`" and lj.pinned == false and lj.dir == l.dir, json.encode(l))
assert(lj.n1.name == "n1" and lj.n1.pid == l.n1.pid and lj.n1.addrs[1] == "10.53.59.2/24", json.encode(l))
local cg = cgroup.create("gotest-json-`+lab+`")
local cj = json.decode(json.encode(cg))
assert(cj.name == cg.name and cj.mode == cg.mode and #cj.controllers == #cg.controllers, json.encode(cg))
cg:remove()
l:close()
h:kill(9); h:wait()
`)
}
