package lua

import (
	"fmt"
	"strings"
	"testing"
)

// Wrong input to the net functions is a bad argument naming what is valid,
// refused before any namespace or link is touched.
func TestNetArgumentErrors(t *testing.T) {
	s := newTestSession(t)
	for _, c := range []struct{ src, want string }{
		{`net.up(42)`, `bad argument #1 to 'net.up' (link name (a string like "veth0") must be a non-empty string, got number)`},
		{`net.up("a:b")`, `bad link name "a:b": at most 15 bytes (IFNAMSIZ-1), no '/', ':' or spaces`},
		{`net.down("a-name-far-too-long")`, `bad argument #1 to 'net.down' (bad link name`},
		{`net.addr("lo", "10.1.2.3")`, `bad argument #2 to 'net.addr' (bad address "10.1.2.3": want CIDR form`},
		{`net.addr("lo", "10.1.2.3/8", {nodda = true})`, `unknown option nodda: did you mean "nodad"?`},
		{`net.links({})`, `bad argument #1 to 'net.links' (table is not a namespace`},
		{`net.link("lo", 0)`, `bad argument #2 to 'net.link' (a pid must be a positive whole number)`},
		{`net.link("lo", "")`, `empty namespace name`},
		{`net.bridge("b0", {colour = "red"})`, `unknown option colour (valid: addr, up, forward_delay, ns)`},
		{`net.bridge("b0", {addr = "x"})`, `option addr: bad address "x"`},
		{`net.bridge("b0", {forward_delay = 99})`, `option forward_delay must be from 0 to 30, got 99`},
		{`net.mtu("lo", 10)`, `bad argument #2 to 'net.mtu' (mtu must be a whole number from 68 to 65535, got 10)`},
		{`net.veth("a", "b", {peerns = 1})`, `unknown option peerns: did you mean "peer_ns"?`},
		{`net.route_add("nowhere")`, `bad argument #1 to 'net.route_add' (bad destination "nowhere"`},
		{`net.route_add("default")`, `a route needs via= (gateway) or dev= (link)`},
		{`net.route_add("default", {via = "x"})`, `option via "x": want an IP address`},
		{`net.ping("nohost")`, `destination must be an IPv4 or IPv6 literal`},
		{`net.ping("127.0.0.1", {count = 0})`, `option count must be a whole number from 1 to 1000, got 0`},
		{`net.wait_up({})`, `a link name or a list of names expected`},
		{`net.setns("lo")`, `bad argument #2 to 'net.setns' (target namespace expected`},
		{`net.dns_hub{}`, `option addr expected`},
		{`net.dns_hub(5)`, `bad argument #1 to 'net.dns_hub' (options table expected`},
		{`net.dns_hub{addr = "x"}`, `option address "x": want an IP or IP:PORT`},
		{`net.dns_hub{addr = "127.0.0.1", records = {a = "not-an-ip"}}`, `record a: "not-an-ip" is not an IP address`},
		{`net.dns_hub{addr = "127.0.0.1", records = 5}`, `records must be a table`},
		{`net.dns_hub{addr = "127.0.0.1", recrds = {}}`, `did you mean "records"?`},
		{`net.resolve("x")`, `bad argument #2 to 'net.resolve' (option server expected`},
		{`net.resolve()`, `bad argument #1 to 'net.resolve' (name to resolve must be a non-empty string`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
}

// The net functions through a Session, in two nodes of a lab named by
// where values (the session's thread never moves): veth, addresses, MTU,
// bridge ports, routes, ping, a DNS hub; what the kernel reports back.
func TestNetThroughSession(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	run(t, s, fmt.Sprintf(`
local L = net.lab{name = %q, pin = false}
local a, b = L:node("a"), L:node("b")
net.veth("va", "vb", {ns = a, peer_ns = b, up = true})
net.addr("va", "10.9.0.1/24", {ns = a})
net.addr("vb", "10.9.0.2/24", b)
net.wait_up({"va"}, {ns = a})
net.wait_up("vb", {ns = b, timeout = 5})
local va = net.link("va", a)
assert(va.type == "veth" and va.state == "UP" and va.addrs[1] == "10.9.0.1/24", "va")
assert(va.peer == nil and va.peer_nsid >= 0, "the peer is in another namespace")
assert(#net.ping("10.9.0.2", {ns = a, count = 2}) == 2, "ping over the veth")
net.mtu("va", 1400, a)
assert(net.link("va", a).mtu == 1400, "mtu")
net.bridge("br0", {ns = a, addr = "10.8.0.1/24"})
assert(net.link("br0", a).addrs[1] == "10.8.0.1/24", "bridge addr")
net.master("va", "br0", a)
assert(net.link("va", a).master == "br0", "master")
net.nomaster("va", a)
assert(net.link("va", a).master == nil, "nomaster")
net.deladdr("va", "10.9.0.1/24", a)
net.addr("va", "10.9.0.1/24", {ns = a})
net.route_add("10.7.0.0/16", {via = "10.9.0.2", ns = a})
local found
for _, r in ipairs(net.routes(a)) do
  if r.dst == "10.7.0.0/16" then found = r end
end
assert(found and found.via == "10.9.0.2" and found.dev == "va" and found.family == "inet", "route")
net.route_del("10.7.0.0/16", {via = "10.9.0.2", ns = a})
local hub = net.dns_hub{addr = "10.9.0.2:5353", ns = b, records = {["x.example"] = "10.1.2.3"}}
assert(hub.addr == "10.9.0.2:5353" and tostring(hub) == "dns hub on 10.9.0.2:5353", tostring(hub))
assert(net.resolve("x.example", {server = "10.9.0.2:5353", ns = a})[1] == "10.1.2.3", "resolve")
hub:set{y = {"10.1.2.4", "fd00::4"}}
local ips = net.resolve("y", {server = "10.9.0.2:5353", ns = a})
assert(#ips == 2, #ips)
assert(not pcall(net.resolve, "x.example", {server = "10.9.0.2:5353", ns = a}), "x is gone")
hub:stop()
assert(#net.links(b) == 2)
net.setns("vb", a, b)
assert(net.link("vb", a).type == "veth" and #net.links(b) == 1, "moved")
net.delete("va", a)
assert(#net.links(a) == 2, "va and its peer gone, lo and br0 stay")
L:close()`, labName("n")))
	for _, c := range []struct{ src, want string }{
		{`net.up("nosuch", "/proc/self/ns/net")`, "ENODEV"},
		{`net.link("lo", "/run/netns/nsh-no-such-ns")`, "ENOENT"},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
}
