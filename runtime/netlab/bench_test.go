package netlab

import (
	"fmt"
	"testing"
	"time"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// labAddr gives node i (0-based) an address in 10.53.0.0/16 (room for 1000).
func labAddr(i int) string { return fmt.Sprintf("10.53.%d.%d", 57+(i+21)/250, 1+(i+21)%250) }

// benchLab builds a lab of n nodes on one bridge, pings from the first
// node to the last, and tears it down; it reports each phase, and how long
// the kernel's asynchronous netns cleanup takes to delete the hub's veths.
func benchLab(b *testing.B, n int) { benchLabOpts(b, n, LabOptions{Name: "bench"}) }

func benchLabOpts(b *testing.B, n int, opts LabOptions) {
	freshNet(b)
	var setup, ping, closeT, cleanup time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		l, err := NewLab(opts)
		must(b, err)
		must(b, l.AddBridge("br0", "10.53.57.11/16"))
		nodes := make([]*Node, n)
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
			nodes[j] = nd
		}
		if err := l.Wait(10 * time.Second); err != nil {
			l.Close()
			b.Fatal(err)
		}
		t1 := time.Now()
		dst := labAddr(n - 1)
		if _, err := Ping(nodeNS(b, nodes[0]), dst, 1, 5*time.Second); err != nil {
			l.Close()
			b.Fatalf("ping %s: %v", dst, err)
		}
		t2 := time.Now()
		if testing.Verbose() {
			b.Logf("N=%d iter %d ping %v", n, i, t2.Sub(t1))
		}
		// Watch the hub: subscribe before Close, count veth deletions.
		sub, err := nl.SubscribeAt(netns.NsHandle(l.Outer().fd), netns.None(), unix.NETLINK_ROUTE, unix.RTNLGRP_LINK)
		must(b, err)
		must(b, l.Close())
		t3 := time.Now()
		gone := 0
		tv := unix.NsecToTimeval((30 * time.Second).Nanoseconds())
		must(b, sub.SetReceiveTimeout(&tv))
		for gone < n {
			msgs, _, err := sub.Receive()
			if err != nil {
				b.Logf("cleanup watch: %v after %d of %d", err, gone, n)
				break
			}
			for _, m := range msgs {
				if m.Header.Type == unix.RTM_DELLINK {
					gone++
				}
			}
		}
		sub.Close()
		t4 := time.Now()
		setup += t1.Sub(t0)
		ping += t2.Sub(t1)
		closeT += t3.Sub(t2)
		cleanup += t4.Sub(t3)
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(per(setup), "setup-ms/op")
	b.ReportMetric(per(ping), "ping-ms/op")
	b.ReportMetric(per(closeT), "close-ms/op")
	b.ReportMetric(per(cleanup), "kcleanup-ms/op")
}

func BenchmarkLab10(b *testing.B)   { benchLab(b, 10) }
func BenchmarkLab100(b *testing.B)  { benchLab(b, 100) }
func BenchmarkLab500(b *testing.B)  { benchLab(b, 500) }
func BenchmarkLab1000(b *testing.B) { benchLab(b, 1000) }

// The same labs without holders (nsh's descriptor holds each node), to
// see what the holders cost.
func BenchmarkLab100NoHolders(b *testing.B) {
	benchLabOpts(b, 100, LabOptions{Name: "bench", NoHolders: true})
}
func BenchmarkLab1000NoHolders(b *testing.B) {
	benchLabOpts(b, 1000, LabOptions{Name: "bench", NoHolders: true})
}
