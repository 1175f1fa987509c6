package netlab

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcIn runs `tc ARGS` inside ns (nsenter on our fd), the reference.
func tcIn(t testing.TB, ns *NS, args ...string) string {
	t.Helper()
	return toolIn(t, ns, "tc", args...)
}

// shapeLab is two nodes a (10.53.59.1) and b (10.53.59.2) on one bridge.
func shapeLab(t *testing.T) (*Lab, *Node, *Node) {
	freshNet(t)
	l, err := NewLab(LabOptions{Name: "nshshape"})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	must(t, l.AddBridge("sh0", ""))
	var nodes []*Node
	for i, name := range []string{"a", "b"} {
		n, err := l.AddNode(NodeOptions{Name: name})
		must(t, err)
		must(t, l.Link(n, LinkOptions{Bridge: "sh0", CIDR: "10.53.59." + string(rune('1'+i)) + "/24"}))
		nodes = append(nodes, n)
	}
	must(t, l.Wait(10*time.Second))
	return l, nodes[0], nodes[1]
}

var handleRe = regexp.MustCompile(`(qdisc \w+ )[0-9a-f]+:`)

// sameTc compares tc's view of two links, handles aside.
var directRe = regexp.MustCompile(`direct_packets_stat \d+`)

func sameTc(t *testing.T, what, ours, ref string) {
	t.Helper()
	// direct_packets_stat counts what the kernel itself sent (IPv6 router
	// solicitations, MLD reports) while tc had only the qdisc, not the class
	norm := func(s string) string {
		return strings.TrimSpace(directRe.ReplaceAllString(handleRe.ReplaceAllString(s, "${1}H:"), "direct_packets_stat N"))
	}
	if norm(ours) != norm(ref) {
		t.Fatalf("%s: nsh made\n%s\ntc made\n%s", what, ours, ref)
	}
}

func TestShapeTbfAsTcMakesIt(t *testing.T) {
	_, a, b := shapeLab(t)
	rate, err := ParseRate("10mbit")
	must(t, err)
	burst, err := ParseSize("32kb")
	must(t, err)
	must(t, nodeNS(t, a).Shape("eth0", &Shape{Rate: rate, Burst: burst, Latency: 50 * time.Millisecond}))
	tcIn(t, nodeNS(t, b), "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "10mbit", "burst", "32kb", "latency", "50ms")
	ours, ref := tcIn(t, nodeNS(t, a), "qdisc", "show", "dev", "eth0"), tcIn(t, nodeNS(t, b), "qdisc", "show", "dev", "eth0")
	if !strings.Contains(ours, "tbf") || !strings.Contains(ours, "rate 10Mbit burst 32Kb lat 50ms") {
		t.Fatalf("tc qdisc show: %s", ours)
	}
	sameTc(t, "tbf", ours, ref)
	qs, err := nodeNS(t, a).Qdiscs("eth0")
	must(t, err)
	// the kernel keeps the burst as a time (psched ticks): what comes back is rounded
	if len(qs) != 1 || qs[0].Kind != "tbf" || qs[0].Rate != 10e6 || qs[0].Burst < 32*1024-2 || qs[0].Burst > 32*1024 || qs[0].Parent != "root" {
		t.Fatalf("Qdiscs: %+v", qs)
	}
	// limit = rate * latency + burst, as tc computes it
	if want := uint32(10e6/8*0.05) + 32*1024; qs[0].Limit != want {
		t.Fatalf("limit %d, want %d", qs[0].Limit, want)
	}
}

func TestShapeHtbAsTcMakesIt(t *testing.T) {
	_, a, b := shapeLab(t)
	must(t, nodeNS(t, a).Shape("eth0", &Shape{Qdisc: "htb", Rate: 10e6, Burst: 15 * 1024}))
	tcIn(t, nodeNS(t, b), "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "1")
	tcIn(t, nodeNS(t, b), "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:1", "htb", "rate", "10mbit", "ceil", "10mbit", "burst", "15k", "cburst", "15k")
	sameTc(t, "htb qdisc", tcIn(t, nodeNS(t, a), "qdisc", "show", "dev", "eth0"), tcIn(t, nodeNS(t, b), "qdisc", "show", "dev", "eth0"))
	ours := tcIn(t, nodeNS(t, a), "class", "show", "dev", "eth0")
	if !strings.Contains(ours, "class htb 1:1 root prio 0 rate 10Mbit ceil 10Mbit burst 15Kb cburst 15Kb") {
		t.Fatalf("tc class show: %s", ours)
	}
	sameTc(t, "htb class", ours, tcIn(t, nodeNS(t, b), "class", "show", "dev", "eth0"))
	qs, err := nodeNS(t, a).Qdiscs("eth0")
	must(t, err)
	if len(qs) != 2 || qs[0].Kind != "htb" || !qs[1].Class || qs[1].Handle != "1:1" || qs[1].Rate != 10e6 || qs[1].Ceil != 10e6 {
		t.Fatalf("Qdiscs: %+v", qs)
	}
}

func TestShapeReplaceAndRemove(t *testing.T) {
	_, a, _ := shapeLab(t)
	show := func() string { return tcIn(t, nodeNS(t, a), "qdisc", "show", "dev", "eth0") }
	if s := show(); !strings.HasPrefix(s, "qdisc noqueue 0: root") {
		t.Fatalf("a veth starts with noqueue: %s", s)
	}
	must(t, nodeNS(t, a).Shape("eth0", &Shape{Rate: 1e6}))
	s := show()
	if !strings.HasPrefix(s, "qdisc tbf 1: root") || !strings.Contains(s, "rate 1Mbit") {
		t.Fatalf("tbf: %s", s)
	}
	// a second shape replaces the first (a new handle, swapped in at once)
	must(t, nodeNS(t, a).Shape("eth0", &Shape{Rate: 2e6}))
	if s := show(); !strings.HasPrefix(s, "qdisc tbf 2: root") || !strings.Contains(s, "rate 2Mbit") || strings.Count(s, "qdisc") != 1 {
		t.Fatalf("tbf replaced: %s", s)
	}
	must(t, nodeNS(t, a).Shape("eth0", &Shape{Qdisc: "htb", Rate: 3e6}))
	if s := show(); !strings.HasPrefix(s, "qdisc htb 1: root") {
		t.Fatalf("htb replaced tbf: %s", s)
	}
	must(t, nodeNS(t, a).Shape("eth0", nil))
	if s := show(); !strings.HasPrefix(s, "qdisc noqueue 0: root") {
		t.Fatalf("removed: %s", s)
	}
	must(t, nodeNS(t, a).Shape("eth0", nil)) // nothing to remove: no error
}

func TestShapeNetem(t *testing.T) {
	_, a, _ := shapeLab(t)
	must(t, nodeNS(t, a).Shape("eth0", &Shape{Rate: 1e6}))
	err := nodeNS(t, a).Shape("eth0", &Shape{Rate: 1e6, Delay: 20 * time.Millisecond})
	v, _, _ := KernelConfig("CONFIG_NET_SCH_NETEM")
	if v == "y" || v == "m" && err == nil {
		must(t, err)
		if s := tcIn(t, nodeNS(t, a), "qdisc", "show", "dev", "eth0"); !strings.Contains(s, "netem") || !strings.Contains(s, "delay 20ms") {
			t.Fatalf("netem: %s", s)
		}
		return
	}
	if err == nil || !isErrno(err, unix.ENOENT) || !strings.Contains(err.Error(), "CONFIG_NET_SCH_NETEM") ||
		!strings.Contains(err.Error(), "tc qdisc replace dev eth0 root netem delay 20ms") || !strings.Contains(err.Error(), "rate and burst can") {
		t.Fatalf("netem on a kernel without it: %v", err)
	}
	// refused: the old shaping still works
	if s := tcIn(t, nodeNS(t, a), "qdisc", "show", "dev", "eth0"); !strings.HasPrefix(s, "qdisc tbf 1: root") {
		t.Fatalf("after the refused netem: %s", s)
	}
	// the reference agrees that the kernel has no netem
	cmd := exec.Command("nsenter", "--net=/proc/self/fd/3", "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "20ms")
	fd, _ := unix.Dup(nodeNS(t, a).fd)
	f := os.NewFile(uintptr(fd), "ns")
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "qdisc kind is unknown") {
		t.Fatalf("tc netem: %v %s", err, out)
	}
}

func TestShapeCheck(t *testing.T) {
	bad := []Shape{{}, {Qdisc: "sfq", Rate: 1e6}, {Rate: 4}, {Burst: 100},
		{Qdisc: "htb", Rate: 1e6, Latency: time.Millisecond}, {Rate: 1e6, Latency: time.Millisecond, Limit: 1000},
		{Loss: 101}, {Jitter: time.Millisecond}, {Delay: -1}}
	for _, s := range bad {
		if _, err := s.Check(); err == nil {
			t.Errorf("Check(%+v): no error", s)
		}
	}
	s, err := Shape{Rate: 8e6}.Check()
	must(t, err)
	if s.Qdisc != "tbf" || s.Burst != DefaultBurst(8e6) || s.Latency != 50*time.Millisecond || s.limit() != 1e6*0.05+float64(s.Burst) {
		t.Fatalf("defaults: %+v", s)
	}
	if again, err := s.Check(); err != nil || again != s {
		t.Fatalf("Check of a checked shape: %+v, %v", again, err)
	}
}

func TestParseRateAndSize(t *testing.T) {
	rates := map[string]uint64{"10mbit": 10e6, "10Mbit": 10e6, "1gbit": 1e9, "100kbit": 1e5, "1kibit": 1024, "500kbps": 4e6,
		"1mbps": 8e6, "12000": 12000, "1.5mbit": 1.5e6, "8bps": 64}
	for s, want := range rates {
		if got, err := ParseRate(s); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	sizes := map[string]uint32{"32kb": 32768, "32k": 32768, "1mb": 1 << 20, "1600": 1600, "1600b": 1600, "8kbit": 1024}
	for s, want := range sizes {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "fast", "10 furlongs", "-1mbit", "1e999"} {
		if _, err := ParseRate(s); err == nil {
			t.Errorf("ParseRate(%q): no error", s)
		}
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q): no error", s)
		}
	}
	for r, want := range map[uint64]string{10e6: "10Mbit", 1e9: "1Gbit", 1500e3: "1.5Mbit", 64e3: "64Kbit", 800: "800bit"} {
		if got := RateString(r); got != want {
			t.Errorf("RateString(%d) = %q, want %q", r, got, want)
		}
	}
}

// TestIperfTbf: a 10 Mbit/s tbf on the sender's link gives about 10 Mbit/s
// (what the receiver counts); the same link unshaped carries far more.
func TestIperfTbf(t *testing.T) {
	_, a, b := shapeLab(t)
	free, err := a.Iperf(context.Background(), b, IperfOptions{Seconds: 500 * time.Millisecond})
	must(t, err)
	must(t, nodeNS(t, a).Shape("eth0", &Shape{Rate: 10e6}))
	shaped, err := a.Iperf(context.Background(), b, IperfOptions{Seconds: time.Second})
	must(t, err)
	t.Logf("unshaped %.0f Mbit/s (%d bytes), tbf 10mbit: %.2f Mbit/s (%d bytes in %.2f s)", free.BitsPerSecond/1e6, free.Bytes,
		shaped.BitsPerSecond/1e6, shaped.Bytes, shaped.Seconds)
	// tbf counts whole frames; the receiver counts TCP payload: 1448 of
	// every 1514 bytes (Ethernet 14, IPv4 20, TCP 20 + 12 of timestamps)
	want := 10e6 * 1448 / 1514
	// (never more than that plus one burst; less on a loaded machine)
	if shaped.BitsPerSecond < want*0.85 || shaped.BitsPerSecond > want*1.07 {
		t.Fatalf("tbf rate 10mbit measured %.2f Mbit/s, want %.2f -15%% +7%%", shaped.BitsPerSecond/1e6, want/1e6)
	}
	if free.BitsPerSecond < 10*shaped.BitsPerSecond {
		t.Fatalf("unshaped %.0f Mbit/s is not far above the shaped %.1f", free.BitsPerSecond/1e6, shaped.BitsPerSecond/1e6)
	}
	if shaped.Bytes != shaped.Sent {
		t.Fatalf("received %d of %d bytes sent", shaped.Bytes, shaped.Sent)
	}
	// bytes= sends exactly that much
	r, err := a.Iperf(context.Background(), b, IperfOptions{Bytes: 100000})
	must(t, err)
	if r.Bytes != 100000 || r.Sent != 100000 {
		t.Fatalf("bytes=100000: %+v", r)
	}
	// the shaping is the kernel's: tc counts what tbf sent and delayed
	if s := tcIn(t, nodeNS(t, a), "-s", "qdisc", "show", "dev", "eth0"); !regexp.MustCompile(`Sent [1-9]\d{5,} bytes`).MatchString(s) ||
		!regexp.MustCompile(`overlimits [1-9]`).MatchString(s) {
		t.Fatalf("tc -s qdisc show: %s", s)
	}
	// cancelled: ends at once
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := a.Iperf(ctx, b, IperfOptions{Seconds: 10 * time.Second}); err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("cancelled iperf: %v after %v", err, time.Since(start))
	}
}
