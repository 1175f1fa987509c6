package lua

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// net.topo and net.lab_from refuse wrong input naming the entry, before
// anything is made.
func TestTopoAndDescErrors(t *testing.T) {
	s := newTestSession(t)
	for _, c := range []struct{ src, want string }{
		{`net.topo("ring")`, `bad argument #1 to 'net.topo' (unknown topology "ring" (valid: single, linear, tree, star; e.g. tree,2,3))`},
		{`net.topo(5)`, `or Mininet's "tree,2,3") must be a non-empty string, got number)`},
		{`net.topo("tree", {n = 3})`, `bad argument #2 to 'net.topo' (option n is not a size of tree (its sizes: depth, fanout))`},
		{`net.topo("single", {depth = 3})`, `option depth is not a size of single (its sizes: n)`},
		{`net.topo("tree,2,3", {depth = 1})`, `"tree,2,3" already gives the sizes`},
		{`net.topo("tree,x")`, `topology tree: "x" is not a whole number`},
		{`net.topo("single", {n = 0})`, `option n must be a whole number from 1 to 1000, got 0`},
		{`net.topo("tree", {depth = 10, fanout = 3})`, `bad argument #2 to 'net.topo' (tree of depth 10 and fanout 3 has more than 1000 hosts)`},
		{`net.topo("star", {n = 300})`, `star has at most 254 hosts`},
		{`net.topo("single", {nmae = "x"})`, `did you mean "name"?`},
		{`net.lab_from(5)`, `bad argument #1 to 'net.lab_from' (a lab description (a table) or the path of a Lua file returning one expected, got number)`},
		{`net.lab_from{nodes = {h1 = {}}}`, `(nodes must be a list ({{"name", ...}, ...}), but has the key h1)`},
		{`net.lab_from{nodes = {5}}`, `nodes must be a list of tables`},
		{`net.lab_from{nodes = {{}}}`, `(nodes[1][1] must be the node's name (a string), got nothing)`},
		{`net.lab_from{nodes = {{"a b"}}}`, `(nodes[1]: bad node name "a b"`},
		{`net.lab_from{nodes = {{"close"}}}`, `(nodes[1]: "close" names a lab method or field (lab.close would not be the node)`},
		{`net.lab_from{nodes = {{"dir"}}}`, `"dir" names a lab method or field`},
		{`net.lab_from{nodes = {{"h1", hostnme = "x"}}}`, `(nodes[1] (h1): unknown option hostnme: did you mean "hostname"?`},
		{`net.lab_from{nodes = {{"h1", router = 1}}}`, `(nodes[1] (h1): option router must be true or false, got number)`},
		{`net.lab_from{nodes = {{"h1", links = {{"lan1", adr = "x"}}}}}`, `(nodes[1] (h1): links[1]: unknown option adr: did you mean "addr"?`},
		{`net.lab_from{nodes = {{"h1", links = {{"lan1", addr = "10.0.0.1"}}}}}`, `(nodes[1] (h1): links[1]: option addr: bad address "10.0.0.1"`},
		{`net.lab_from{nodes = {{"h1", links = {{"lan1", type = "gre"}}}}}`, `links[1]: option type must be one of "veth", "macvlan" or "ipvlan", got "gre"`},
		{`net.lab_from{nodes = {{"h1", links = {{"lan1", type = "macvlan", brname = "x"}}}}}`, `links[1]: a macvlan link has no hub end to name`},
		{`net.lab_from{nodes = {{"h1", links = {{"lan1", mode = "l2"}}}}}`, `links[1]: mode is for macvlan and ipvlan links, not veth`},
		{`net.lab_from{nodes = {{"h1", routes = {{"default", via = "x"}}}}}`, `routes[1]: via "x": want an IP address`},
		{`net.lab_from{nodes = {{"h1", routes = {{"default", gw = "x"}}}}}`, `(nodes[1] (h1): routes[1]: unknown option gw`},
		{`net.lab_from{bridges = {{"lan1", "10.0.0.1"}}}`, `(bridges[1]: bad address "10.0.0.1"`},
		{`net.lab_from{bridges = {{"lan1", "10.0.0.1/24", "x"}}}`, `(bridges[1]: 3 values before the options, at most 2)`},
		{`net.lab_from{n = 3}`, `n, hosts, depth and fanout are the sizes of a topo=`},
		{`net.lab_from{topo = "tree", n = 3}`, `option n is not a size of tree`},
		{`net.lab_from{nodez = {}}`, `did you mean "nodes"?`},
		{`net.lab_from("/nonexistent/lab.lua")`, `net.lab_from: open /nonexistent/lab.lua: no such file or directory`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "notatable.lua")
	os.WriteFile(p, []byte("return 5\n"), 0o644)
	if err := runErr(t, s, fmt.Sprintf(`net.lab_from(%q)`, p)); !strings.Contains(err, "notatable.lua must return a lab description (a table: return {nodes = {...}}), returned number") {
		t.Errorf("file returning 5: %q", err)
	}
	os.WriteFile(p, []byte("return {\n"), 0o644)
	if err := runErr(t, s, fmt.Sprintf(`net.lab_from(%q)`, p)); !strings.Contains(err, "notatable.lua") {
		t.Errorf("syntax error: %q", err)
	}
}

// ipOut runs ip(8), the reference, and returns its output.
func ipOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func hostLinkNames(t *testing.T) string {
	t.Helper()
	return ipOut(t, "-o", "link", "show")
}

func needIP(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) to read the kernel's state independently")
	}
}

// Each canned topology builds, pings all, and is what ip(8) reads in its
// pinned namespaces; nothing appears in the namespace nsh runs in.
func TestTopoKernelState(t *testing.T) {
	needRootLab(t)
	needIP(t)
	before := hostLinkNames(t)
	s := newTestSession(t)
	for _, c := range []struct{ kind, opts, check string }{
		{"single", "{n = 3}", "h3"}, {"linear", "{n = 3}", "h3"}, {"tree", "{depth = 2, fanout = 2}", "h4"}, {"star", "{n = 2}", "r1"},
	} {
		name := labName(c.kind[:2])
		run(t, s, fmt.Sprintf(`T = net.topo(%q, {name = %q, %s}); R = T:pingall(); assert(#R.failed == 0, tostring(R))`,
			c.kind, name, strings.Trim(c.opts, "{}")))
		switch c.kind {
		case "single":
			if out := ipOut(t, "-n", name+"-h3", "-o", "addr", "show", "dev", "eth0"); !strings.Contains(out, "inet 10.0.0.3/8") {
				t.Errorf("single h3: %s", out)
			}
			if out := ipOut(t, "-n", name, "-o", "link", "show", "master", "s1"); strings.Count(out, "master s1") != 3 {
				t.Errorf("single: ports of s1: %s", out)
			}
		case "linear":
			if out := ipOut(t, "-n", name, "-o", "link", "show", "master", "s2"); !strings.Contains(out, "s2-s1@s1-s2") || !strings.Contains(out, "s2-s3@s3-s2") {
				t.Errorf("linear: s2's ports: %s", out)
			}
		case "tree":
			if out := ipOut(t, "-n", name, "-o", "link", "show", "master", "s1"); !strings.Contains(out, "s1-s2@") || !strings.Contains(out, "s1-s3@") {
				t.Errorf("tree: s1's ports: %s", out)
			}
		case "star":
			if out := ipOut(t, "netns", "exec", name+"-r1", "cat", "/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(out) != "1" {
				t.Errorf("star r1 ip_forward %q", out)
			}
			if out := ipOut(t, "netns", "exec", name+"-h1", "cat", "/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(out) != "0" {
				t.Errorf("star h1 ip_forward %q", out)
			}
			if out := ipOut(t, "-n", name+"-h2", "route", "show", "default"); !strings.Contains(out, "default via 10.0.2.1 dev eth0") {
				t.Errorf("star h2 routes: %s", out)
			}
		}
		run(t, s, `T:close()`)
	}
	if after := hostLinkNames(t); after != before {
		t.Fatalf("links appeared in nsh's own namespace:\nbefore %s\nafter %s", before, after)
	}
}

// A lab file with a router: h1 reaches h2 through r1, whose forwarding is
// on in its namespace only; the trace and the reply TTL show the hop.
func TestLabFromFileRouter(t *testing.T) {
	needRootLab(t)
	needIP(t)
	name := labName("rt")
	p := filepath.Join(t.TempDir(), "routed.lua")
	os.WriteFile(p, []byte(fmt.Sprintf(`return {
  name = %q,
  bridges = {"lan1", "lan2"},
  nodes = {
    {"h1", links = {{"lan1", addr = "10.0.1.10/24"}}, routes = {{"default", via = "10.0.1.1"}}},
    {"r1", router = true, links = {{"lan1", addr = "10.0.1.1/24", ifname = "eth0", brname = "r1-eth0"},
                                   {"lan2", addr = "10.0.2.1/24", ifname = "eth1", brname = "r1-eth1"}}},
    {"h2", links = {{"lan2", addr = "10.0.2.10/24"}}, routes = {{"10.0.1.0/24", via = "10.0.2.1", dev = "eth0"}}},
  },
}
`, name)), 0o644)
	fwdBefore, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	s := newTestSession(t)
	run(t, s, fmt.Sprintf(`L = net.lab_from(%q)
assert(L.name == %q and L.r1.router == true and L.h1.router == false)
H = L.h1:traceroute("h2")
assert(#H == 2 and H[1].addr == "10.0.1.1" and not H[1].reached and H[2].addr == "10.0.2.10" and H[2].reached, tostring(H))
assert(H[2].reply_ttl == 63 and H[1].reply_ttl == 64, tostring(H))
assert(#L:pingall().failed == 0)`, p, name))
	if out := ipOut(t, "netns", "exec", name+"-r1", "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"); strings.Join(strings.Fields(out), " ") != "1 1" {
		t.Errorf("r1 forwarding: %q", out)
	}
	if fwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(fwd) != string(fwdBefore) {
		t.Errorf("nsh's own namespace's ip_forward changed: %q -> %q", fwdBefore, fwd)
	}
	if out := ipOut(t, "-n", name+"-h1", "route", "get", "10.0.2.10"); !strings.Contains(out, "10.0.2.10 via 10.0.1.1 dev eth0") {
		t.Errorf("h1: ip route get: %s", out)
	}
	if out := ipOut(t, "-n", name+"-h2", "route", "show", "10.0.1.0/24"); !strings.Contains(out, "via 10.0.2.1 dev eth0") {
		t.Errorf("h2 route: %s", out)
	}
	if out := ipOut(t, "-n", name, "-o", "link", "show", "master", "lan2"); !strings.Contains(out, "r1-eth1@") || !strings.Contains(out, "h2-br@") {
		t.Errorf("lan2 ports: %s", out)
	}
	run(t, s, `L:close()`)
	if _, err := os.Stat("/run/netns/" + name + "-r1"); err == nil {
		t.Fatalf("pin of r1 left after close")
	}
}

// Link types: a macvlan lab link and net.vxlan/net.tap/net.macvlan made in
// the lab's namespaces, as ip -d link reads them; the ones this kernel
// lacks fail naming the kernel option.
func TestLinkTypesKernelState(t *testing.T) {
	needRootLab(t)
	needIP(t)
	before := hostLinkNames(t)
	name := labName("lk")
	s := newTestSession(t)
	run(t, s, fmt.Sprintf(`L = net.lab{name = %q}
L:bridge("br0")
L:link(L:node("a"), "br0", {addr = "10.1.0.1/24", type = "macvlan", mode = "private"})
L:link(L:node("b"), "br0", {addr = "10.1.0.2/24", type = "macvlan"})
L:link(L:node("c"), "br0", {addr = "10.1.0.3/24"})
L:wait()
net.vxlan("vx0", {vni = 42, remote = "10.1.0.3", dev = "eth0", port = 4790, ns = L.a, up = true})
net.vxlan("vx0", {vni = 42, remote = "10.1.0.1", dev = "eth0", port = 4790, ns = L.c, up = true})
net.addr("vx0", "192.168.42.1/24", L.a); net.addr("vx0", "192.168.42.3/24", L.c)
local r, e = net.ping("192.168.42.3", {ns = L.a}); assert(#r == 1, e)
net.tap("tap0", {ns = L.c, up = true})
net.tap("tun0", {ns = L.c, tun = true, owner = 65534})
net.macvlan("mv1", "br0", {ns = L, netns = L.c, mode = "vepa"})
net.vxlan("vx7", {vni = 7, remote = "192.0.2.7", ns = L, netns = L.b})   -- device in b, UDP socket in the hub
`, name))
	for _, c := range []struct{ node, link, want string }{
		{"a", "eth0", "macvlan mode private"}, {"b", "eth0", "macvlan mode bridge"},
		{"a", "vx0", "vxlan id 42 remote 10.1.0.3 dev eth0"}, {"a", "vx0", "dstport 4790"},
		{"b", "vx7", "vxlan id 7 remote 192.0.2.7"}, {"b", "vx7", "link-netns " + name},
		{"c", "tap0", "tun type tap"}, {"c", "tap0", "persist on"}, {"c", "tun0", "tun type tun"}, {"c", "mv1", "macvlan mode vepa"},
	} {
		if out := ipOut(t, "-n", name+"-"+c.node, "-d", "link", "show", c.link); !strings.Contains(out, c.want) {
			t.Errorf("%s %s: want %q in\n%s", c.node, c.link, c.want, out)
		}
	}
	// private mode: a and b (siblings) do not reach each other; both reach c
	run(t, s, `assert(#net.ping("10.1.0.3", {ns = L.a}) == 1 and #net.ping("10.1.0.3", {ns = L.b}) == 1)
local r = net.ping("10.1.0.2", {ns = L.a, timeout = 0.3}); assert(#r == 0, "private macvlan reached its sibling")`)
	if err := runErr(t, s, `net.dummy("d0", {ns = L.a})`); !strings.Contains(err, "net.dummy: link add d0 type dummy: ") {
		t.Errorf("dummy: %s", err)
	} else if cfg := kernelConfigHas(t, "CONFIG_DUMMY"); cfg == "" && !strings.Contains(err, "ENOTSUP: the kernel has no dummy driver: CONFIG_DUMMY is not set") {
		t.Errorf("dummy without CONFIG_DUMMY: %s", err)
	}
	if err := runErr(t, s, `net.vxlan("vx9", {ns = L.a})`); !strings.Contains(err, "option vni expected") {
		t.Errorf("vxlan without vni: %s", err)
	}
	if err := runErr(t, s, `net.vxlan("vx9", {vni = 1, group = "10.0.0.1", ns = L.a})`); !strings.Contains(err, "is not a multicast address") {
		t.Errorf("vxlan group: %s", err)
	}
	run(t, s, `L:close()`)
	if after := hostLinkNames(t); after != before {
		t.Fatalf("links appeared in nsh's own namespace:\nbefore %s\nafter %s", before, after)
	}
}

// kernelConfigHas is option's value in /proc/config.gz ("" if not set or unknown).
func kernelConfigHas(t *testing.T, option string) string {
	out, err := exec.Command("sh", "-c", "zcat /proc/config.gz 2>/dev/null | grep '^"+option+"='").Output()
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), option+"=")
}

// A description may start from a canned topology and add to it.
func TestLabFromTopoPlus(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	run(t, s, fmt.Sprintf(`L = net.lab_from{name = %q, topo = "single", n = 2, bridges = {"lan9"},
  nodes = {{"gw", router = true, links = {{"s1", addr = "10.0.0.254/8"}, {"lan9", addr = "10.9.0.1/24", ifname = "eth1", brname = "gw-eth1"}}},
           {"far", links = {{"lan9", addr = "10.9.0.2/24"}}, routes = {{"10.0.0.0/8", via = "10.9.0.1"}}}}}
assert(#L:nodes() == 4 and L.h2.ip == "10.0.0.2" and L.gw.router)
assert(#L.far:ping("10.0.0.254") == 1)
local r = L.far:traceroute("10.9.0.1"); assert(#r == 1 and r[1].reached)
L:close()`, labName("tp")))
}
