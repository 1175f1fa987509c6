package netlab

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchLabOptions builds the lab of benchLab with pins and helpers as
// asked (what net.lab's defaults add to a bare lab: a pin under /run/netns
// and an nsenter.sh per node), pings a sample of pairs, and closes it; it
// reports each phase per node, so the cost of an option per node shows.
func benchLabOptions(b *testing.B, n int, pin, helpers bool) {
	freshNet(b)
	var build, ping, closeT time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		l, err := NewLab(LabOptions{Name: "benchopt", Pin: pin, Helpers: helpers})
		must(b, err)
		must(b, l.AddBridge("br0", "10.53.57.11/16"))
		for j := 0; j < n; j++ {
			nd, err := l.AddNode(NodeOptions{Name: fmt.Sprint("n", j)})
			if err != nil {
				l.Close()
				b.Fatalf("node %d: %v", j, err)
			}
			if err := l.Link(nd, LinkOptions{Bridge: "br0", IfName: "eth0", BrName: fmt.Sprint("v", j), CIDR: labAddr(j) + "/16"}); err != nil {
				l.Close()
				b.Fatalf("link %d: %v", j, err)
			}
		}
		if err := l.Wait(10 * time.Second); err != nil {
			l.Close()
			b.Fatal(err)
		}
		t1 := time.Now()
		r, err := l.PingAllContext(context.Background(), PingAllOptions{Sample: 2, Seed: 1, Neigh: NeighStatic, Timeout: time.Second})
		if err != nil || len(r.Failed) > 0 {
			l.Close()
			b.Fatalf("pingall: %v %v", err, r.Failed)
		}
		t2 := time.Now()
		must(b, l.Close())
		t3 := time.Now()
		build, ping, closeT = build+t1.Sub(t0), ping+t2.Sub(t1), closeT+t3.Sub(t2)
		time.Sleep(time.Second) // the kernel frees the namespaces in its own work queue
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) / float64(n) }
	b.ReportMetric(per(build), "build-us/node")
	b.ReportMetric(per(ping), "ping-us/node")
	b.ReportMetric(per(closeT), "close-us/node")
}

func benchOptions(b *testing.B, n int) {
	for _, c := range []struct {
		name         string
		pin, helpers bool
	}{{"bare", false, false}, {"pin", true, false}, {"helpers", false, true}, {"full", true, true}} {
		b.Run(c.name, func(b *testing.B) { benchLabOptions(b, n, c.pin, c.helpers) })
	}
}

// BenchmarkLabOptions100 and BenchmarkLabOptions1000: a lab of bare nodes
// against one with pins, one with helpers and one with both (net.lab's
// defaults for root), build, sampled pingall and close per node.
func BenchmarkLabOptions100(b *testing.B)  { benchOptions(b, 100) }
func BenchmarkLabOptions1000(b *testing.B) { benchOptions(b, 1000) }
