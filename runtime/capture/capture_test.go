package capture

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"nsh/runtime/netlab"
)

// pingLab is a lab of two nodes a (10.53.61.1) and b (10.53.61.2) on one
// bridge, made inside a network namespace of the test's own.
func pingLab(t *testing.T) (*netlab.Lab, *netlab.Node, *netlab.Node) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creating network namespaces needs CAP_SYS_ADMIN")
	}
	runtime.LockOSThread() // never unlocked: the thread is retired when the test ends
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Skipf("unshare(CLONE_NEWNET): %v", err)
	}
	l, err := netlab.NewLab(netlab.LabOptions{Name: "nshcap"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.AddBridge("cap0", ""); err != nil {
		t.Fatal(err)
	}
	var ns []*netlab.Node
	for i, name := range []string{"a", "b"} {
		n, err := l.AddNode(netlab.NodeOptions{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Link(n, netlab.LinkOptions{Bridge: "cap0", CIDR: "10.53.61." + string(rune('1'+i)) + "/24"}); err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n)
	}
	if err := l.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return l, ns[0], ns[1]
}

// TestCapturePingAcrossBridge: a ping from a to b, captured on a's eth0,
// is the ARP exchange and the echo request and reply; the same capture on
// the bridge port in the hub sees them the other way round.
func TestCapturePingAcrossBridge(t *testing.T) {
	l, a, _ := pingLab(t)
	pcap := filepath.Join(t.TempDir(), "ping.pcap")
	// IGMP reports (the bridge and b joining 224.0.0.1 groups) may cross too
	c, err := Start(nodeNS(t, a).Do, "eth0", Options{Count: 4, Timeout: 5 * time.Second, Pcap: pcap, Filter: mustFilter(t, "arp or icmp")})
	if err != nil {
		t.Fatal(err)
	}
	hub, err := Start(l.Outer().Do, "a-br", Options{Timeout: 5 * time.Second, Filter: mustFilter(t, "arp or icmp")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodeNS(t, a).Ping("10.53.61.2", 1, time.Second); err != nil {
		t.Fatal(err)
	}
	r, err := c.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hub.Stop()
	hr, err := hub.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Text("eth0 of a"))
	t.Log(hr.Text("a-br in the hub"))
	want := []struct{ dir, info string }{
		{"out", "ARP, Request who-has 10.53.61.2 tell 10.53.61.1"},
		{"in", "ARP, Reply 10.53.61.2 is-at "},
		{"out", "IP 10.53.61.1 > 10.53.61.2: ICMP echo request, id "},
		{"in", "IP 10.53.61.2 > 10.53.61.1: ICMP echo reply, id "},
	}
	check := func(what string, fs []Frame, flip bool) {
		if len(fs) != 4 {
			t.Fatalf("%s: %d frames, want 4", what, len(fs))
		}
		for i, w := range want {
			dir := w.dir
			if flip {
				dir = map[string]string{"in": "out", "out": "in"}[dir]
			}
			if fs[i].Dir != dir || !strings.HasPrefix(fs[i].Info, w.info) || fs[i].N != i+1 {
				t.Fatalf("%s: frame %d is %s %q, want %s %q", what, i+1, fs[i].Dir, fs[i].Info, dir, w.info)
			}
		}
	}
	check("eth0 of a", r.Frames, false)
	check("a-br", hr.Frames, true)
	f := r.Frames
	if f[0].Eth.Dst != "ff:ff:ff:ff:ff:ff" || f[0].Eth.Type != "ARP" || f[0].ARP.Op != "request" || f[0].ARP.SenderIP != "10.53.61.1" ||
		f[1].ARP.Op != "reply" || f[1].ARP.SenderMAC != f[1].Eth.Src || f[1].Eth.Dst != f[0].Eth.Src {
		t.Fatalf("ARP: %+v %+v / %+v %+v", f[0].Eth, f[0].ARP, f[1].Eth, f[1].ARP)
	}
	if f[2].IP.Proto != "ICMPv4" || f[2].IP.TTL != 64 || f[2].ICMP.Type != 8 || f[2].ICMP.Seq != 1 || f[3].ICMP.Type != 0 ||
		f[3].ICMP.ID != f[2].ICMP.ID || f[2].Len != 98 || f[2].Proto != "icmp" {
		t.Fatalf("ICMP: %+v %+v / %+v", f[2].IP, f[2].ICMP, f[3].ICMP)
	}
	if f[0].Time < 0 || f[3].Time < f[0].Time {
		t.Fatalf("times %v .. %v", f[0].Time, f[3].Time)
	}

	// the pcap file: the test's reader, tcpdump's, python's
	rs := readPcap(t, pcap)
	if len(rs) != 4 || rs[0].linkType != LinkEthernet {
		t.Fatalf("pcap: %d records, link type %v", len(rs), rs[0].linkType)
	}
	for i, rec := range rs {
		if rec.wire != f[i].Len || len(rec.data) != f[i].Len {
			t.Fatalf("pcap packet %d: %d bytes of %d, frame of %d", i, len(rec.data), rec.wire, f[i].Len)
		}
	}
	if _, err := exec.LookPath("tcpdump"); err == nil {
		out, err := exec.Command("tcpdump", "-nn", "-r", pcap).Output()
		if err != nil {
			t.Fatalf("tcpdump -r: %v\n%s", err, out)
		}
		s := string(out)
		for _, w := range []string{"ARP, Request who-has 10.53.61.2 tell 10.53.61.1, length 28", "ARP, Reply 10.53.61.2 is-at ",
			"IP 10.53.61.1 > 10.53.61.2: ICMP echo request, id ", "IP 10.53.61.2 > 10.53.61.1: ICMP echo reply, id "} {
			if !strings.Contains(s, w) {
				t.Fatalf("tcpdump -r does not show %q:\n%s", w, s)
			}
		}
		// our summaries say what tcpdump says
		for i, line := range strings.Split(strings.TrimSpace(s), "\n") {
			if !strings.Contains(line, f[i].Info) {
				t.Fatalf("tcpdump: %q\nnsh:     %q", line, f[i].Info)
			}
		}
	} else {
		t.Log("tcpdump not installed: pcap checked with Go's and python's readers only")
	}
	if _, err := exec.LookPath("python3"); err == nil {
		py := `import struct,sys
d=open(sys.argv[1],'rb').read()
magic,vmaj,vmin,_,_,snap,lt=struct.unpack('<IHHiIII',d[:24])
assert magic==0xa1b2c3d4 and (vmaj,vmin)==(2,4) and lt==1, (hex(magic),vmaj,vmin,lt)
o=24;n=0
while o<len(d):
    s,us,incl,orig=struct.unpack('<IIII',d[o:o+16]);o+=16+incl;n+=1
print(n)`
		out, err := exec.Command("python3", "-c", py, pcap).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "4" {
			t.Fatalf("python3 pcap check: %v %s", err, out)
		}
	}
}

func mustFilter(t *testing.T, s string) *Filter {
	f, err := ParseFilter(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCaptureTimeoutAndErrors: an idle link ends by its timeout with no
// frame; a missing interface is ENODEV named as the ioctl.
func TestCaptureTimeoutAndErrors(t *testing.T) {
	_, a, _ := pingLab(t)
	start := time.Now()
	c, err := Start(nodeNS(t, a).Do, "lo", Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Wait(context.Background())
	if err != nil || len(r.Frames) != 0 || time.Since(start) < 200*time.Millisecond || time.Since(start) > 2*time.Second {
		t.Fatalf("idle capture: %v %d frames after %v", err, len(r.Frames), time.Since(start))
	}
	_, err = Start(nodeNS(t, a).Do, "nosuch0", Options{})
	if err == nil || !strings.Contains(err.Error(), `ioctl(SIOCGIFINDEX, "nosuch0"): ENODEV`) {
		t.Fatalf("missing interface: %v", err)
	}
	// a cancelled context stops a capture without a limit
	c, err = Start(nodeNS(t, a).Do, "eth0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(ctx); err == nil {
		t.Fatal("cancelled capture: no error")
	}
	// the link deleted under it: the capture ends, keeping what it has
	c, err = Start(nodeNS(t, a).Do, "eth0", Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := nodeNS(t, a).DelLink("eth0"); err != nil {
		t.Fatal(err)
	}
	r, err = c.Wait(context.Background())
	if err != nil || !strings.Contains(r.Ended, "the interface went down (ENETDOWN)") || !strings.Contains(r.Text("x"), "; the interface went down") {
		t.Fatalf("link deleted: %v, ended %q", err, r.Ended)
	}
}

func TestFilter(t *testing.T) {
	arp := Frame{ARP: &ARP{SenderIP: "10.0.0.1", TargetIP: "10.0.0.2"}}
	icmp := Frame{IP: &IP{Version: 4, Src: "10.0.0.1", Dst: "10.0.0.2"}, ICMP: &ICMP{}}
	tcp := Frame{IP: &IP{Version: 4, Src: "10.0.0.1", Dst: "10.0.0.3"}, TCP: &TCP{SrcPort: 40000, DstPort: 5001}}
	cases := []struct {
		f    string
		want [3]bool
	}{
		{"arp", [3]bool{true, false, false}},
		{"arp or icmp", [3]bool{true, true, false}},
		{"ip", [3]bool{false, true, true}},
		{"tcp port 5001", [3]bool{false, false, true}},
		{"host 10.0.0.2", [3]bool{true, true, false}},
		{"host 10.0.0.2 and icmp or port 40000", [3]bool{false, true, true}},
		{"ip6", [3]bool{false, false, false}},
	}
	for _, c := range cases {
		f := mustFilter(t, c.f)
		for i, fr := range []Frame{arp, icmp, tcp} {
			if got := f.Match(&fr); got != c.want[i] {
				t.Errorf("%q on frame %d: %v", c.f, i, got)
			}
		}
	}
	for _, bad := range []string{"", "or arp", "arp or", "host", "host x", "port 70000", "bogus", "arp and"} {
		if _, err := ParseFilter(bad); err == nil {
			t.Errorf("ParseFilter(%q): no error", bad)
		}
	}
}

// nodeNS opens n's network namespace for the rest of the test (nsh holds
// none of a node's namespaces: Node.Open), closed when the test ends.
func nodeNS(t testing.TB, n *netlab.Node) *netlab.NS {
	t.Helper()
	ns, err := n.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}
