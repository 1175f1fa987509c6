package lua

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// labName is a lab name no other test process uses at the same time.
func labName(what string) string { return fmt.Sprintf("gt%d%s", os.Getpid()%100000, what) }

func needRootLab(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a lab's network namespaces and pins need root here")
	}
}

// net.lab's options are refused as bad arguments before anything is made.
func TestLabOptionErrors(t *testing.T) {
	s := newTestSession(t)
	for _, c := range []struct{ src, want string }{
		{`net.lab(5)`, `bad argument #1 to 'net.lab' (options table expected (keys: name, pin, outer, ipv6, dir, helpers, userns, holders), got number)`},
		{`net.lab{nmae = "x"}`, `unknown option nmae: did you mean "name"?`},
		{`net.lab{name = "a/b"}`, `bad argument #1 to 'net.lab' (bad lab name "a/b": letters, digits, '_', '-', '.', at most 64)`},
		{`net.lab{pin = "maybe"}`, `option pin must be true, false or "auto"`},
		{`net.lab{outer = 1}`, `option outer must be true or false, got number`},
		{`net.lab{dir = {}}`, `option dir must be a string, got table`},
		{`net.lab{userns = true, outer = false}`, `option userns puts the lab's hub in its user namespace too: not with outer=false`},
		{`net.lab{userns = "yes"}`, `option userns must be true or false, got string`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
}

// The lab's and the nodes' methods refuse wrong input naming the argument;
// a closed lab refuses everything but close.
func TestLabMethodErrors(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	name := labName("e")
	run(t, s, fmt.Sprintf(`L = net.lab{name = %q, pin = false}; L:node("h1"); L:node("averyverylongname")`, name))
	for _, c := range []struct{ src, want string }{
		{`L:node(5)`, `bad argument #2 to 'lab:node' (node name must be a non-empty string, got number)`},
		{`L:node("x y")`, `bad node name "x y": letters, digits`},
		{`L:node("h1")`, `lab ` + name + ` already has a node "h1"`},
		{`L:node("link")`, `"link" names a lab method or field`},
		{`L:node("dir")`, `"dir" names a lab method or field`},
		{`L:node("h2", 5)`, `bad argument #3 to 'lab:node' (options table expected`},
		{`L:node("h2", {ns = "bogus"})`, `option ns: unknown namespace type "bogus"`},
		{`L:node("h2", {hostname = string.rep("x", 65)})`, `bad argument #3 to 'lab:node' (option hostname: at most 64 bytes)`},
		{`L:node("h2", {hosts = 5})`, `option hosts must be true or the file's content, got number`},
		{`L:node("h2", {env = "x"})`, `option env must be a table, got string`},
		{`L:node("h2", {hostnme = "x"})`, `did you mean "hostname"?`},
		{`L:bridge("a/b")`, `bad argument #2 to 'lab:bridge' (bad link name "a/b"`},
		{`L:bridge("br9", "10.0.0.1")`, `bad argument #3 to 'lab:bridge' (bad address "10.0.0.1": want CIDR form`},
		{`L:link("nosuch", "br0")`, `bad argument #2 to 'lab:link' (lab ` + name + ` has no node "nosuch" (nodes: h1, averyverylongname))`},
		{`L:link("h1", "nobr")`, `bad argument #3 to 'lab:link' (lab ` + name + ` has no bridge "nobr" (bridges: none yet`},
		{`L:bridge("br0"); L:link("h1", "br0", {addr = "10.1.1.1"})`, `option addr: bad address "10.1.1.1": want CIDR form`},
		{`L:link("averyverylongname", "br0")`, `at most 15 bytes (IFNAMSIZ): "eth0", "averyverylongname-br"; give ifname= and brname=`},
		{`L:link("h1", "br0", {ifnme = "x"})`, `did you mean "ifname"?`},
		{`L:wait("x")`, `bad argument #2 to 'lab:wait' (timeout must be a number of seconds`},
		{`L:pingall{timeout = 100}`, `option timeout must be from 0.001 to 60, got 100`},
		{`L.nodes()`, `bad argument #1 to 'lab:nodes' (lab expected (call methods with a colon`},
		{`L.h1:run(5)`, `bad argument #2 to 'node:run' (a command string ("ip a") or a non-empty argv list expected, got number)`},
		{`L.h1:run({})`, `non-empty argv list expected`},
		{`L.h1:run("true", {stdn = "x"})`, `did you mean "stdin"?`},
		{`L.h1:ping("nosuch")`, `"nosuch" is neither a node of lab ` + name},
		{`L.h1:ping("h1")`, `node h1 has no address yet`},
		{`L.h1:ping("10.0.0.1", {count = 0})`, `option count must be a whole number from 1 to 1000`},
		{`L.h1.links()`, `bad argument #1 to 'node:links' (lab node expected`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
	run(t, s, `H1 = L.h1; L:close(); L:close()`)
	for _, c := range []struct{ src, want string }{
		{`L:node("z")`, `lab:node: lab ` + name + ` is closed`},
		{`H1:run("true")`, `node:run: the lab of node h1 is closed`},
		{`net.links(H1)`, `the node's lab is closed`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
	run(t, s, `assert(tostring(L):find("closed"), tostring(L)); assert(L.path == nil)`)
}

// A lab through a Session: nodes with a holder (hostname, hosts, env),
// links, wait, pingall, run, the helpers, fields, views; close leaves
// nothing behind.
func TestLabThroughSession(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	name := labName("s")
	run(t, s, fmt.Sprintf(`
L = net.lab{name = %q}
L:bridge("br0", "10.53.57.11/24")
local a = L:node("a", {hostname = "alpha", hosts = true, env = {REALM = "X.EXAMPLE"}})
local b = L:node("b")
L:link(a, "br0", {ifname = "veth21", addr = "10.53.57.21/24"})
L:link("b", "br0", {addr = "10.53.57.22/24"})
L:wait(5)
assert(L.pinned == true and L.pin_message == "", "pinned")
assert(L.path == "/run/netns/" .. L.name, L.path)
assert(a.path == "/run/netns/" .. L.name .. "-a", a.path)
assert(a.pid and b.pid and a.pid ~= b.pid and a.running, "every node has a holder, its first process")
assert(a.ip == "10.53.57.21" and a.addrs[1] == "10.53.57.21/24", a.ip)
assert(a.hostname == "alpha" and a.env.REALM == "X.EXAMPLE" and a.env.SERVER_IP == "10.53.57.21", "env")
assert(L.a == a and #L:nodes() == 2 and L:nodes()[2] == b, "nodes")
local r = L:pingall()
assert(r.sent == 2 and r.ok == 2 and #r.failed == 0, tostring(r))
assert(#a:ping("b") == 1 and #b:ping(a) == 1, "node pings")
assert(#net.ping(b, {ns = a}) == 1, "net.ping of a node")
local out, code = a:run("hostname; cat /etc/hosts; echo $REALM $NSH_NODE")
assert(code == 0, out)
assert(out:find("alpha\n", 1, true) and out:find("10.53.57.22\tb\n", 1, true) and out:find("X.EXAMPLE a\n", 1, true), out)
local o2, c2, e2 = b:run({"sh", "-c", "cat; echo err >&2; exit 3"}, {stdin = "in\n"})
assert(o2 == "in\n" and c2 == 3 and e2 == "err\n", o2 .. e2)
local eth
for _, l in ipairs(a:links()) do if l.name == "veth21" then eth = l end end
assert(eth and eth.state == "UP" and eth.addrs[1] == "10.53.57.21/24", "node:links")
assert(net.link("veth21", L.name .. "/a").type == "veth", "a node by LAB/NODE")
assert(net.link("a-br", L).master == "br0", "the hub end in the lab's outer namespace")
assert(tostring(view.lab(L)):find("veth21-br") == nil and tostring(view.lab(L)):find("a-br(forwarding)", 1, true), tostring(view.lab(L)))
assert(L:dot():find("graph"), L:dot())
assert(tostring(a) == "node a of lab " .. L.name .. " (10.53.57.21/24)", tostring(a))
DIR, HELPER, PID = L.dir, a:helper(), tostring(a.pid)
`, name))
	dir := luaString(t, s, "DIR")
	helper := luaString(t, s, "HELPER")
	if helper != filepath.Join(dir, "a", "nsenter.sh") {
		t.Fatalf("helper %s in %s", helper, dir)
	}
	if b, err := os.ReadFile(helper); err != nil || !strings.Contains(string(b), "--uts=") {
		t.Fatalf("helper: %v\n%s", err, b)
	}
	run(t, s, `L:close()`)
	for _, p := range []string{dir, "/run/netns/" + name, "/run/netns/" + name + "-a", "/proc/" + luaString(t, s, "PID")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after lab:close: %v", p, err)
		}
	}
	if err := runErr(t, s, `net.links(`+fmt.Sprintf("%q", name)+`)`); !strings.Contains(err, "ENOENT") {
		t.Errorf("the closed lab's name still resolves: %q", err)
	}
}

// luaString is the string value of a global.
func luaString(t *testing.T, s *Session, global string) string {
	t.Helper()
	return s.L.GetGlobal(global).String()
}

// node:stop() ends a node as the end of its processes would and the kernel
// then deletes its veth's bridge end; node:start() makes it again; killing
// the holder from outside does the same as stop; view.namespaces() shows
// nsh holding the hub and a keep=true node, and nothing of the others.
func TestNodeStopStartThroughSession(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	name := labName("ss")
	run(t, s, fmt.Sprintf(`
L = net.lab{name = %q, pin = false, helpers = false}
L:bridge("br0")
L:link(L:node("a", {hostname = "alpha"}), "br0", {addr = "10.53.57.1/24"})
L:link(L:node("b"), "br0", {addr = "10.53.57.2/24"})
L:node("k", {keep = true})
L:wait()
local function ports()
  local out = sys.run({"nsenter", "--net=" .. L.path, "ip", "-o", "link", "show", "master", "br0"})
  return out
end
assert(ports():find("a-br@", 1, true), ports())
local pid = L.a.pid
assert(type(pid) == "number" and type(L.b.pid) == "number" and L.a.running, "every node has a pid")
L.a:stop()
assert(not L.a.running and L.a.pid == nil and L.a.path == nil, "stopped")
assert(not ports():find("a-br@", 1, true), "the kernel removed a-br with the namespace: " .. ports())
local ok, err = pcall(L.a.run, L.a, "true")
assert(not ok and tostring(err):find("node a has ended", 1, true), tostring(err))
L.a:start()
L:wait()
assert(L.a.pid ~= pid, "a new holder (the inode of the new namespace may be the old one's: the kernel reuses them)")
local out = L.a:run("hostname; ip -o -4 addr show dev eth0")
assert(out:find("alpha\n", 1, true) and out:find("10.53.57.1/24", 1, true), out)
assert(#L.b:ping("a") == 1, "b reaches the restarted a")
assert(not pcall(L.a.start, L.a), "start of a running node")
sys.run("kill -KILL " .. L.b.pid)
for i = 1, 200 do if not ports():find("b-br@", 1, true) then break end sys.sleep(0.01) end
assert(not ports():find("b-br@", 1, true), "killing b's only process freed it: " .. ports())
local held = {}
for _, n in ipairs(view.namespaces().namespaces) do
  for _, h in ipairs(n.holders) do if h.nsh then held[#held+1] = h.nsh end end
end
table.sort(held)
local all = table.concat(held, "; ")
assert(#held == 2 and all:find("'s hub (outer namespace)", 1, true) and all:find("node k (keep=true)", 1, true), all)
`, name))
}

// IPv6 is on in labs by default (nodad addresses given as a list beside
// the IPv4 one); ipv6=false turns it off, and then an IPv6 address is
// EACCES with a hint naming the option, not only the sysctl.
func TestLabIPv6Option(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	run(t, s, fmt.Sprintf(`
L6 = net.lab{name = %q, pin = false, helpers = false}
L6:bridge("br0", {"10.53.57.11/24", "fd00::5357:5f0b/112"})
L6:link(L6:node("a"), "br0", {addr = {"10.53.57.21/24", "fd00::5357:5f15/112"}})
L6:wait()
assert(L6.a:run("cat /proc/sys/net/ipv6/conf/all/disable_ipv6") == "0\n", "on by default")
local out = L6.a:run("ip -6 -o addr show dev eth0 scope global")
assert(out:find("fd00::5357:5f15/112", 1, true) and out:find("nodad", 1, true) and not out:find("tentative"), out)
assert(L6.a.ip == "10.53.57.21" and L6.a.addrs[2] == "fd00::5357:5f15/112", L6.a.ip)
assert(#L6.a:ping("fd00::5357:5f0b") == 1, "ping6 the bridge")
L4 = net.lab{name = %q, pin = false, helpers = false, ipv6 = false}
L4:bridge("br0")
L4:node("b")
assert(L4.b:run("cat /proc/sys/net/ipv6/conf/all/disable_ipv6") == "1\n", "ipv6=false")
local ok, err = pcall(L4.link, L4, "b", "br0", {addr = "fd00::5357:5f16/112"})
assert(not ok and tostring(err):find("EACCES", 1, true) and tostring(err):find("net.lab{ipv6 = false}", 1, true), tostring(err))
assert(#net.links(L4) == 2, "the half-made link was undone: " .. #net.links(L4))
L4:link("b", "br0")
ok, err = pcall(net.addr, "eth0", "fd00::1/64", {ns = L4.b})
assert(not ok and tostring(err):find("net.lab{ipv6 = false}", 1, true), tostring(err))
`, labName("v6"), labName("v4")))
}

// holders=false: plain nodes have no process and no pid; nsh's descriptor
// holds them (view.namespaces says so) until node:stop().
func TestLabHoldersOption(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	run(t, s, fmt.Sprintf(`
L = net.lab{name = %q, pin = false, helpers = false, holders = false}
L:bridge("br0")
L:link(L:node("a"), "br0", {addr = "10.53.57.1/24"})
L:node("h", {hostname = "named"})
L:wait()
assert(L.a.pid == nil and L.a.running and L.h.pid, "a has no process; h (a hostname) has its holder")
assert(L.a:run("ip -o -4 addr show dev eth0"):find("10.53.57.1/24", 1, true), "node:run")
local held = 0
for _, n in ipairs(view.namespaces().namespaces) do
  for _, x in ipairs(n.holders) do if x.nsh and x.nsh:find("node a (holders=false)", 1, true) then held = held + 1 end end
end
assert(held == 1, "view.namespaces shows nsh holding a")
L.a:stop()
assert(not L.a.running and not pcall(net.link, "a-br", L), "stopped: the kernel removed a-br")
L.a:start()
assert(L.a.running and L.a.pid == nil, "started again")
`, labName("ho")))
}
