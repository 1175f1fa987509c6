package lua

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"nsh/runtime/netlab"
)

// tcAt runs tc inside the namespace file path (a node's or a lab's path).
func tcAt(t *testing.T, path string, args ...string) string {
	t.Helper()
	for _, p := range []string{"nsenter", "tc"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	out, err := exec.Command("nsenter", append([]string{"--net=" + path, "tc"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// shapeLab makes lab L with nodes a (10.53.63.1) and b (10.53.63.2); b's
// link is made with shape=. IPv6 is off: the kernel's own IPv6 packets
// (MLD reports, router solicitations) would land in the captures and the
// byte counts these tests compare exactly.
func shapeTestLab(t *testing.T, s *Session) {
	run(t, s, fmt.Sprintf(`
L = net.lab{name = %q, pin = false, ipv6 = false}
L:bridge("br0")
L:link(L:node("a"), "br0", {addr = "10.53.63.1/24"})
L:link(L:node("b"), "br0", {addr = "10.53.63.2/24", shape = {rate = "20mbit", burst = "16kb"}})
L:wait()
A, B, HUB = L.a.path, L.b.path, L.path`, labName("sh")))
}

// node:shape, node:qdiscs and lab:link's shape= set what tc then shows.
func TestNodeShape(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	shapeTestLab(t, s)
	a, b, hub := luaString(t, s, "A"), luaString(t, s, "B"), luaString(t, s, "HUB")
	// shape= on a link shapes both ends (what b sends, and the hub end that sends to b)
	for _, c := range []struct{ path, dev string }{{b, "eth0"}, {hub, "b-br"}} {
		if out := tcAt(t, c.path, "qdisc", "show", "dev", c.dev); !regexp.MustCompile(`^qdisc tbf 1: root refcnt \d+ rate 20Mbit burst 16Kb lat 50ms`).MatchString(out) {
			t.Fatalf("shape= on lab:link, %s: %s", c.dev, out)
		}
	}
	if out := tcAt(t, hub, "qdisc", "show", "dev", "a-br"); !strings.HasPrefix(out, "qdisc noqueue 0: root") {
		t.Fatalf("a's link is not shaped: %s", out)
	}
	run(t, s, `Q = L.a:shape("eth0", {rate = "10mbit", burst = "32kb", latency = 0.1})
assert(#Q == 1 and Q[1].kind == "tbf" and Q[1].rate == 10e6 and Q[1].parent == "root" and Q[1].bytes == 0, tostring(Q))
assert(tostring(Q):find("qdisc tbf 1: root rate 10Mbit burst 3276[67]b", 1) , tostring(Q))`)
	if out := tcAt(t, a, "qdisc", "show", "dev", "eth0"); !regexp.MustCompile(`^qdisc tbf 1: root refcnt \d+ rate 10Mbit burst 32Kb lat 100ms`).MatchString(out) {
		t.Fatalf("node:shape tbf: %s", out)
	}
	run(t, s, `Q = L.a:shape("eth0", {qdisc = "htb", rate = 5e6, direction = "both"})
assert(#Q == 2 and Q[1].kind == "htb" and Q[2].class and Q[2].handle == "2:1" and Q[2].rate == 5e6, tostring(Q))`)
	for _, c := range []struct{ path, dev string }{{a, "eth0"}, {hub, "a-br"}} {
		if out := tcAt(t, c.path, "class", "show", "dev", c.dev); !strings.Contains(out, "rate 5Mbit ceil 5Mbit") {
			t.Fatalf("htb on %s: %s", c.dev, out)
		}
	}
	// the traffic goes through the class: tc -s counts it
	run(t, s, `assert(#L.a:ping("b", {count = 3}) == 3)`)
	if out := tcAt(t, a, "-s", "class", "show", "dev", "eth0"); !regexp.MustCompile(`Sent [1-9]\d* bytes [3-9] pkt`).MatchString(out) {
		t.Fatalf("tc -s class show: %s", out)
	}
	// nil removes the shaping from both ends
	run(t, s, `Q = L.a:shape("eth0", nil); assert(#Q == 1 and Q[1].kind == "noqueue", tostring(Q)); L.b:shape("eth0", nil)`)
	for _, c := range []struct{ path, dev string }{{a, "eth0"}, {hub, "a-br"}, {b, "eth0"}, {hub, "b-br"}} {
		if out := tcAt(t, c.path, "qdisc", "show", "dev", c.dev); !strings.HasPrefix(out, "qdisc noqueue 0: root") {
			t.Fatalf("after shape nil, %s: %s", c.dev, out)
		}
	}
	// direction "in" shapes only the hub end
	run(t, s, `L.a:shape("eth0", {rate = "1mbit", direction = "in"})`)
	if out := tcAt(t, a, "qdisc", "show", "dev", "eth0"); !strings.HasPrefix(out, "qdisc noqueue") {
		t.Fatalf("direction in touched eth0: %s", out)
	}
	if out := tcAt(t, hub, "qdisc", "show", "dev", "a-br"); !strings.Contains(out, "rate 1Mbit") {
		t.Fatalf("direction in, a-br: %s", out)
	}
}

func TestNodeShapeErrors(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	shapeTestLab(t, s)
	for _, c := range []struct{ src, want string }{
		{`L.a:shape("eth0")`, `bad argument #3 to 'node:shape' (a shape table {qdisc=, rate=, burst=, latency=, limit=, delay=, jitter=, loss=, direction=} expected, or nil`},
		{`L.a:shape("eth0", 5)`, `bad argument #3 to 'node:shape' (a shape table`},
		{`L.a:shape("eth0", {})`, `bad argument #3 to 'node:shape' (nothing to shape: give rate (tbf, htb) or delay/loss (netem))`},
		{`L.a:shape("eth0", {rat = 1})`, `did you mean "rate"?`},
		{`L.a:shape("eth0", {rate = "fast"})`, `option rate: rate "fast": a number with one of tc's units`},
		{`L.a:shape("eth0", {rate = "10mbit", burst = "1 furlong"})`, `option burst: size "1 furlong": unknown unit "furlong"`},
		{`L.a:shape("eth0", {rate = "10mbit", qdisc = "sfq"})`, `option qdisc must be one of "tbf" or "htb", got "sfq"`},
		{`L.a:shape("eth0", {rate = "10mbit", qdisc = "htb", latency = 1})`, `latency and limit size tbf's queue: htb has none`},
		{`L.a:shape("eth0", {rate = "10mbit", latency = "soon"})`, `option latency must be seconds (0.02) or a time such as "20ms"`},
		{`L.a:shape("eth0", {loss = "lots"})`, `option loss must be a percentage from 0 to 100`},
		{`L.a:shape("eth0", {rate = "10mbit", direction = "up"})`, `option direction must be one of "out", "in" or "both", got "up"`},
		{`L.a:shape("nosuch0", {rate = "10mbit"})`, `node:shape: link "nosuch0" in ` + labName("sh") + `/a: ENODEV`},
		{`L.a:shape("lo", {rate = "10mbit", direction = "in"})`, `lo of node a is not a link lab:link made`},
		{`L.a:qdiscs("nosuch0")`, `ENODEV`},
		{`L:link(L:node("c"), "br0", {shape = {rate = "x"}})`, `bad argument #4 to 'lab:link' (option rate: rate "x"`},
		{`L.a:iperf("a")`, `bad argument #2 to 'node:iperf' (another node expected`},
		{`L.a:iperf("zz")`, `lab ` + labName("sh") + ` has no node "zz"`},
		{`L.a:iperf(L.c)`, `node c has no address yet`},
		{`L.a:iperf("b", {seconds = 0})`, `option seconds must be from 0.01 to 3600`},
		{`L.a:iperf("b", {bytes = 0})`, `option bytes must be a whole number from 1`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
	// a link nsh does not know the other end of: refused before anything changes
	if err := runErr(t, s, `L.a:shape("lo", {rate = "1mbit", direction = "both"})`); !strings.Contains(err, "lo of node a is not a link lab:link made") {
		t.Errorf("direction both on lo: %q", err)
	}
	if err := runErr(t, s, `assert(L.a:qdiscs("lo")[1].kind == "noqueue", tostring(L.a:qdiscs("lo")))`); err != "" {
		t.Error(err)
	}
	// c was not linked by the refused lab:link: the shape is checked first
	if err := runErr(t, s, `assert(#L.c:links() == 1, "c has only lo")`); err != "" {
		t.Error(err)
	}
	// netem: the kernel's answer, explained from its configuration
	err := runErr(t, s, `L.a:shape("eth0", {delay = "20ms", loss = 1})`)
	if v, from, cerr := netlab.KernelConfig("CONFIG_NET_SCH_NETEM"); cerr == nil && from != "" && v == "" && err == "" {
		t.Fatal("netem worked on a kernel built without it")
	}
	if err != "" && (!strings.Contains(err, "node:shape: tc qdisc replace dev eth0 root netem delay 20ms loss 1%: ENOENT: this kernel has no netem qdisc") ||
		!strings.Contains(err, "CONFIG_NET_SCH_NETEM")) {
		t.Fatalf("netem refused: %q", err)
	}
}

// node:iperf measures what a tbf lets through: about its rate (in TCP
// payload), and far more with no shaping.
func TestNodeIperf(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	shapeTestLab(t, s)
	run(t, s, `
local free = L.a:iperf("b", {seconds = 0.3})   -- a -> b: b's hub end is shaped to 20mbit
L.b:shape("eth0", nil)
free = L.a:iperf("b", {seconds = 0.3})
L.a:shape("eth0", {rate = "10mbit"})
local r = L.a:iperf(L.b)
local want = 10e6 * 1448 / 1514
assert(r.bits_per_second > want * 0.7 and r.bits_per_second < want * 1.07, tostring(r)) -- a busy machine undershoots; tbf never lets it overshoot
assert(r.bytes == r.sent and r.seconds > 0.9, tostring(r))
assert(free.bits_per_second > 10 * r.bits_per_second, tostring(free) .. " vs " .. tostring(r))
assert(tostring(r):find("^iperf a %-> b %(10.53.63.2%): %d.%d%d Mbit/s"), tostring(r))
local q = L.a:qdiscs("eth0")
assert(q[1].bytes >= r.bytes and q[1].overlimits > 0, tostring(q))
local e = L.a:iperf("b", {bytes = 12345})
assert(e.bytes == 12345 and e.sent == 12345, tostring(e))`)
}

// node:capture sees the ARP and ICMP a ping sends across the bridge, on
// the node's end and on the hub's, and writes a pcap file tcpdump reads.
func TestNodeCapture(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	shapeTestLab(t, s)
	pcap := filepath.Join(t.TempDir(), "ping.pcap")
	run(t, s, fmt.Sprintf(`
F = L.a:capture("eth0", {filter = "arp or icmp", pcap = %q, run = function() assert(#L.a:ping("b") == 1) end})
assert(#F == 4, tostring(F))
assert(F[1].dir == "out" and F[1].proto == "arp" and F[1].arp.op == "request" and F[1].arp.target_ip == "10.53.63.2", tostring(F))
assert(F[1].eth.dst == "ff:ff:ff:ff:ff:ff" and F[1].pkttype == "outgoing" and F[1].n == 1, tostring(F))
assert(F[2].dir == "in" and F[2].arp.op == "reply" and F[2].arp.sender_mac == F[2].eth.src and F[2].pkttype == "host", tostring(F))
assert(F[3].icmp.name == "echo request" and F[3].ip.ttl == 64 and F[3].ip.src == "10.53.63.1" and F[3].icmp.seq == 1, tostring(F))
assert(F[4].icmp.type == 0 and F[4].icmp.id == F[3].icmp.id and F[4].ip.proto == "ICMPv4" and F[4].time >= F[1].time, tostring(F))
assert(F.seen >= 4 and F.dropped == 0, tostring(F))
assert(tostring(F):find("ARP, Request who-has 10.53.63.2 tell 10.53.63.1", 1, true), tostring(F))
-- the hub end: the same frames, the other way round
H = L:capture("a-br", {filter = "icmp", count = 2, run = function() L.a:ping("b") end})
assert(#H == 2 and H[1].dir == "in" and H[1].pkttype == "otherhost" and H[2].dir == "out", tostring(H))
-- TCP: the handshake of an iperf
T = L.b:capture("eth0", {filter = "tcp", count = 1, timeout = 5, run = function() L.a:iperf("b", {bytes = 1000}) end})
assert(#T == 1 and T[1].tcp.flags == "S" and T[1].tcp.dst_port > 0 and T[1].dir == "in", tostring(T))
-- an idle link: the timeout ends it
local t0 = os.time()
I = L.a:capture("lo", {timeout = 0.2})
assert(#I == 0, tostring(I))`, pcap))
	if _, err := exec.LookPath("tcpdump"); err == nil {
		out, err := exec.Command("tcpdump", "-nn", "-r", pcap).Output()
		if err != nil || strings.Count(string(out), "\n") != 4 || !strings.Contains(string(out), "ARP, Reply 10.53.63.2 is-at") ||
			!strings.Contains(string(out), "ICMP echo reply") {
			t.Fatalf("tcpdump -r: %v\n%s", err, out)
		}
	} else if st, err := os.Stat(pcap); err != nil || st.Size() < 24+4*16+42 {
		t.Fatalf("pcap file: %v", err)
	}
	for _, c := range []struct{ src, want string }{
		{`L.a:capture("eth0", {filter = "bogus"})`, `bad argument #3 to 'node:capture' (option filter: filter "bogus": unknown word "bogus"`},
		{`L.a:capture("eth0", {run = 5})`, `option run must be a function`},
		{`L.a:capture("eth0", {count = 0})`, `option count must be a whole number from 1`},
		{`L.a:capture("eth0", {timeout = -1})`, `option timeout must be from 0 to 3600`},
		{`L.a:capture("nosuch0", {count = 1})`, `node:capture: ioctl(SIOCGIFINDEX, "nosuch0"): ENODEV`},
		{`L.a:capture("eth0", {pcap = "/nonexistent/x.pcap", count = 1})`, `/nonexistent/x.pcap`},
		{`L.a:capture("eth0", {run = function() error("inside run") end})`, `inside run`},
		{`L:capture("eth0", {count = 1})`, `lab:capture: ioctl(SIOCGIFINDEX, "eth0"): ENODEV`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
}

// capture handles: started, the traffic typed next, stopped; one left
// running is stopped at the end of the session; one whose lab closed ends
// with the frames it has.
func TestCaptureStart(t *testing.T) {
	needRootLab(t)
	s := newTestSession(t)
	shapeTestLab(t, s)
	run(t, s, `
C = L.a:capture_start("eth0", {filter = "arp or icmp"})
H = L:capture_start("a-br", {filter = "icmp", count = 1})
assert(tostring(C):find("(running)", 1, true), tostring(C))
assert(#L.a:ping("b") == 1)
local f = C:stop()
assert(#f == 4 and f[1].arp.op == "request" and f[4].icmp.name == "echo reply", tostring(f))
assert(C:stop() == C:stop() or #C:stop() == 4, "a second stop gives the same frames")
assert(tostring(C):find("(stopped)", 1, true), tostring(C))
local h = H:stop()
assert(#h == 1 and h[1].dir == "in", tostring(h))
LEFT = L.b:capture_start("eth0")
D = L.a:capture_start("eth0", {filter = "tcp port 9"}) -- nothing the kernel sends by itself (IGMP, MLD on link up)`)
	for _, c := range []struct{ src, want string }{
		{`L.a:capture_start("eth0", {run = print})`, `unknown option run`},
		{`L.a:capture_start("nosuch0")`, `node:capture_start: ioctl(SIOCGIFINDEX, "nosuch0"): ENODEV`},
		{`C.stop()`, `bad argument #1 to 'c:stop' (capture expected`},
		{`C:nosuch()`, `c.nosuch is not a method or field of a capture`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %q", c.src, err, c.want)
		}
	}
	// its lab closed under it: it ends with what it has (no error; "the
	// interface went down (ENETDOWN)" once the kernel has removed the link)
	run(t, s, `L:close(); local d = D:stop(); assert(#d == 0, tostring(d))`)
	// LEFT is stopped by the session's cleanup (newTestSession's Close reports errors)
}
