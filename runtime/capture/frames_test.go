package capture

import (
	"context"
	"encoding/binary"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var updateFrames = flag.Bool("update-frames", false, "write the frames TestCaptureFrames captures to testdata/frames.pcap (FuzzDecode's seeds)")

// framesPcap is a pcap file of real frames, captured by TestCaptureFrames
// (go test -run TestCaptureFrames -update-frames ./runtime/capture/ as root).
const framesPcap = "testdata/frames.pcap"

// pcapRecord is one frame read back from a pcap file.
type pcapRecord struct {
	sec, usec   uint32
	data        []byte
	wire        int
	linkType    LinkType
	snaplen     int
	magic, vers uint32
}

// readPcap reads a classic pcap file (a reader of the test's own, checked
// against tcpdump's and python's in TestCapturePingAcrossBridge).
func readPcap(t testing.TB, path string) []pcapRecord {
	t.Helper()
	d, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(d) < 24 {
		t.Fatalf("%s: %d bytes, no pcap header", path, len(d))
	}
	magic, vers := le.Uint32(d[0:4]), uint32(le.Uint16(d[4:6]))<<16|uint32(le.Uint16(d[6:8]))
	snap, lt := int(le.Uint32(d[16:20])), LinkType(le.Uint32(d[20:24]))
	var rs []pcapRecord
	for o := 24; o < len(d); {
		if o+16 > len(d) {
			t.Fatalf("%s: a record header cut at %d", path, o)
		}
		incl := int(le.Uint32(d[o+8:]))
		if o+16+incl > len(d) {
			t.Fatalf("%s: a record cut at %d", path, o)
		}
		rs = append(rs, pcapRecord{sec: le.Uint32(d[o:]), usec: le.Uint32(d[o+4:]), data: d[o+16 : o+16+incl],
			wire: int(le.Uint32(d[o+12:])), linkType: lt, snaplen: snap, magic: magic, vers: vers})
		o += 16 + incl
	}
	return rs
}

// TestCaptureFrames captures what a varied exchange sends on a's eth0 with
// no filter: ARP and ICMP echo, IPv6 neighbor discovery, MLD reports (a
// hop-by-hop header) and echo, UDP to a closed port and the ICMP port
// unreachable it earns, and a TCP connection from SYN to FIN (no 802.1Q:
// this kernel has no vlan driver; TestDecodeVLAN tags frames itself). Each kind is checked field by field, the summaries
// against tcpdump -r's where nsh's words are tcpdump's, and the pcap file
// is FuzzDecode's seed corpus (-update-frames).
func TestCaptureFrames(t *testing.T) {
	_, a, b := pingLab(t)
	an, bn := nodeNS(t, a), nodeNS(t, b)
	pcap := filepath.Join(t.TempDir(), "frames.pcap")
	c, err := Start(an.Do, "eth0", Options{Timeout: 20 * time.Second, Pcap: pcap})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := an.Ping("10.53.61.2", 1, time.Second); err != nil {
		t.Fatal(err)
	}
	must(an.AddAddr("eth0", "fd53:61::1/64", true))
	must(bn.AddAddr("eth0", "fd53:61::2/64", true))
	if _, err := an.Ping("fd53:61::2", 1, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	must(an.Do(func() error { // UDP to a port nobody listens on
		u, err := net.Dial("udp", "10.53.61.2:9")
		if err != nil {
			return err
		}
		defer u.Close()
		_, err = u.Write([]byte("hello"))
		return err
	}))
	var ln net.Listener
	must(bn.Do(func() (err error) { ln, err = net.Listen("tcp", "10.53.61.2:5001"); return }))
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		buf := make([]byte, 16)
		n, _ := s.Read(buf)
		s.Close()
		got <- string(buf[:n])
	}()
	must(an.Do(func() error {
		s, err := net.Dial("tcp", "10.53.61.2:5001")
		if err != nil {
			return err
		}
		_, err = s.Write([]byte("hi"))
		s.Close()
		return err
	}))
	if g := <-got; g != "hi" {
		t.Fatalf("tcp: b read %q", g)
	}
	time.Sleep(100 * time.Millisecond) // the TCP FIN's ACK, the last ICMP reply
	c.Stop()
	r, err := c.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Text("eth0 of a"))
	find := func(what string, ok func(f *Frame) bool) *Frame {
		t.Helper()
		for i := range r.Frames {
			if ok(&r.Frames[i]) {
				return &r.Frames[i]
			}
		}
		t.Fatalf("no frame %s in\n%s", what, r.Text("eth0 of a"))
		return nil
	}
	find("ARP request", func(f *Frame) bool {
		return f.ARP != nil && f.ARP.Op == "request" && f.ARP.TargetIP == "10.53.61.2" && f.Eth.Type == "ARP"
	})
	find("echo request", func(f *Frame) bool {
		return f.ICMP != nil && f.ICMP.Name == "echo request" && f.IP.Dst == "10.53.61.2" && f.IP.Proto == "ICMPv4" && f.IP.TTL == 64
	})
	ns := find("neighbor solicitation", func(f *Frame) bool {
		return f.ICMP != nil && f.ICMP.V6 && f.ICMP.Type == 135 && f.ICMP.Target == "fd53:61::2" && f.IP.TTL == 255 && f.Proto == "icmp6"
	})
	if !strings.HasPrefix(ns.IP.Dst, "ff02::1:ff") || ns.Eth.Type != "IPv6" || ns.IP.Version != 6 {
		t.Fatalf("NS: %+v %+v", ns.Eth, ns.IP)
	}
	find("neighbor advertisement", func(f *Frame) bool { return f.ICMP != nil && f.ICMP.Type == 136 && f.ICMP.Target == "fd53:61::2" })
	e6 := find("echo6 request", func(f *Frame) bool {
		return f.ICMP != nil && f.ICMP.V6 && f.ICMP.Name == "echo request" && f.IP.Src == "fd53:61::1" && f.IP.TTL == 64
	})
	find("echo6 reply", func(f *Frame) bool {
		return f.ICMP != nil && f.ICMP.Name == "echo reply" && f.ICMP.V6 && f.ICMP.ID == e6.ICMP.ID && f.ICMP.Seq == e6.ICMP.Seq
	})
	find("MLD report after a hop-by-hop header", func(f *Frame) bool {
		return f.ICMP != nil && f.ICMP.Type == 143 && f.IP.Proto == "IPv6HopByHop" && f.IP.TTL == 1
	})
	find("UDP", func(f *Frame) bool {
		return f.UDP != nil && f.UDP.DstPort == 9 && f.UDP.Len == 13 && f.Info == "IP 10.53.61.1."+itoa(f.UDP.SrcPort)+" > 10.53.61.2.9: UDP, length 5"
	})
	find("port unreachable", func(f *Frame) bool {
		return f.ICMP != nil && f.ICMP.Type == 3 && f.ICMP.Code == 3 && f.UDP == nil && f.Dir == "in"
	})
	syn := find("SYN", func(f *Frame) bool {
		return f.TCP != nil && f.TCP.Flags == "S" && f.TCP.DstPort == 5001 && f.Proto == "tcp"
	})
	find("SYN-ACK", func(f *Frame) bool { return f.TCP != nil && f.TCP.Flags == "S." && f.TCP.Ack == syn.TCP.Seq+1 })
	find("data", func(f *Frame) bool {
		return f.TCP != nil && f.TCP.Flags == "P." && f.TCP.PayloadLen == 2 && f.TCP.DstPort == 5001
	})
	find("FIN", func(f *Frame) bool { return f.TCP != nil && strings.Contains(f.TCP.Flags, "F") })

	// the file: one record per frame, as decoded from the socket
	rs := readPcap(t, pcap)
	if len(rs) != len(r.Frames) {
		t.Fatalf("pcap: %d records, %d frames", len(rs), len(r.Frames))
	}
	for i, rec := range rs {
		if rec.magic != 0xa1b2c3d4 || rec.vers != 2<<16|4 || rec.linkType != LinkEthernet || rec.snaplen != Snaplen || rec.wire != r.Frames[i].Len {
			t.Fatalf("pcap record %d: %+v", i, rec)
		}
		if d := Decode(rec.data, rec.linkType, rec.wire); d.Info != r.Frames[i].Info {
			t.Fatalf("pcap record %d decodes as %q, the socket's frame as %q", i, d.Info, r.Frames[i].Info)
		}
	}
	if _, err := exec.LookPath("tcpdump"); err == nil {
		out, err := exec.Command("tcpdump", "-nn", "-r", pcap).Output()
		if err != nil {
			t.Fatalf("tcpdump -r: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != len(r.Frames) {
			t.Fatalf("tcpdump reads %d frames, nsh captured %d", len(lines), len(r.Frames))
		}
		checked := 0
		for i, f := range r.Frames {
			// tcpdump's words are nsh's for ARP, ICMP echo and UDP; it
			// writes TCP's options and ICMPv6's names otherwise
			if f.ARP != nil || f.UDP != nil || f.ICMP != nil && !f.ICMP.V6 && (f.ICMP.Type == 0 || f.ICMP.Type == 8) {
				if !strings.Contains(lines[i], f.Info) {
					t.Fatalf("frame %d\ntcpdump: %q\nnsh:     %q", i+1, lines[i], f.Info)
				}
				checked++
			}
		}
		t.Logf("%d summaries match tcpdump's", checked)
	}
	if *updateFrames {
		d, err := os.ReadFile(pcap)
		must(err)
		must(os.WriteFile(framesPcap, d, 0o644))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
