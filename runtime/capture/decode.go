package capture

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Frame is one frame as decoded: the headers a learner reads in tcpdump's
// output, each nil when the frame has none of that kind.
type Frame struct {
	N    int           // 1, 2, ...: its place in the capture
	Time time.Duration // since the capture started (the kernel's timestamp)
	Dir  string        // "out" (sent by this interface) or "in"
	// PktType is whom the kernel says the frame was for (sockaddr_ll's
	// PACKET_*): "host" (this interface's MAC), "broadcast", "multicast",
	// "otherhost" (another MAC: a bridge port sees those), "outgoing".
	PktType string
	Len     int    // its length on the wire
	CapLen  int    // how much of it was kept
	Proto   string // the innermost protocol decoded: "arp", "icmp", "tcp", ...
	Eth     *Eth
	ARP     *ARP
	IP      *IP
	ICMP    *ICMP
	TCP     *TCP
	UDP     *UDP
	Info    string // tcpdump-like summary of the innermost header
}

// Eth is the Ethernet header.
type Eth struct {
	Src, Dst string
	Type     string // "IPv4", "ARP", "IPv6", ...
	TypeNum  uint16
}

// ARP is an ARP request or reply.
type ARP struct {
	Op                  string // "request", "reply"
	SenderMAC, SenderIP string
	TargetMAC, TargetIP string
}

// IP is an IPv4 or IPv6 header.
type IP struct {
	Version  int
	Src, Dst string
	Proto    string // "ICMP", "TCP", "UDP", "ICMPv6", ...
	TTL      int    // the hop limit for IPv6
	Len      int    // the IP packet's length
	ID       int    // IPv4 identification
}

// ICMP is an ICMP or ICMPv6 message.
type ICMP struct {
	V6      bool
	Type    int
	Code    int
	Name    string // "echo request", "neighbor solicitation", ...
	ID, Seq int    // echo request and reply
	Target  string // neighbor solicitation and advertisement
	Len     int    // the ICMP message's length
}

// TCP is a TCP header.
type TCP struct {
	SrcPort, DstPort int
	Flags            string // tcpdump's letters: "S", "S.", ".", "P.", "F.", "R"
	Seq, Ack         uint32
	Window           int
	PayloadLen       int
}

// UDP is a UDP header.
type UDP struct {
	SrcPort, DstPort int
	Len              int
}

// Decode decodes one frame of link type lt (wire length wire).
func Decode(data []byte, lt layers.LinkType, wire int) Frame {
	f := Frame{Len: wire, CapLen: len(data)}
	first := gopacket.LayerType(layers.LayerTypeEthernet)
	if lt == layers.LinkTypeRaw {
		first = layers.LayerTypeIPv4
		if len(data) > 0 && data[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		}
	}
	p := gopacket.NewPacket(data, first, gopacket.DecodeOptions{Lazy: false, NoCopy: true})
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.Ethernet:
			f.Eth = &Eth{Src: l.SrcMAC.String(), Dst: l.DstMAC.String(), Type: l.EthernetType.String(), TypeNum: uint16(l.EthernetType)}
			f.Proto = "eth"
		case *layers.ARP:
			a := &ARP{Op: fmt.Sprintf("op %d", l.Operation), SenderMAC: macText(l.SourceHwAddress), SenderIP: ipText(l.SourceProtAddress),
				TargetMAC: macText(l.DstHwAddress), TargetIP: ipText(l.DstProtAddress)}
			switch l.Operation {
			case layers.ARPRequest:
				a.Op = "request"
			case layers.ARPReply:
				a.Op = "reply"
			}
			f.ARP, f.Proto = a, "arp"
		case *layers.IPv4:
			f.IP = &IP{Version: 4, Src: l.SrcIP.String(), Dst: l.DstIP.String(), Proto: l.Protocol.String(), TTL: int(l.TTL), Len: int(l.Length), ID: int(l.Id)}
			f.Proto = "ip"
		case *layers.IPv6:
			f.IP = &IP{Version: 6, Src: l.SrcIP.String(), Dst: l.DstIP.String(), Proto: l.NextHeader.String(), TTL: int(l.HopLimit), Len: int(l.Length) + 40}
			f.Proto = "ip6"
		case *layers.ICMPv4:
			t, c := int(l.TypeCode.Type()), int(l.TypeCode.Code())
			f.ICMP = &ICMP{Type: t, Code: c, Name: icmpName(false, t), ID: int(l.Id), Seq: int(l.Seq), Len: len(l.Contents) + len(l.Payload)}
			if t != 0 && t != 8 {
				f.ICMP.ID, f.ICMP.Seq = 0, 0
			}
			f.Proto = "icmp"
		case *layers.ICMPv6:
			t, c := int(l.TypeCode.Type()), int(l.TypeCode.Code())
			f.ICMP = &ICMP{V6: true, Type: t, Code: c, Name: icmpName(true, t), Len: len(l.Contents) + len(l.Payload)}
			f.Proto = "icmp6"
		case *layers.ICMPv6Echo:
			if f.ICMP != nil {
				f.ICMP.ID, f.ICMP.Seq = int(l.Identifier), int(l.SeqNumber)
			}
		case *layers.ICMPv6NeighborSolicitation:
			if f.ICMP != nil {
				f.ICMP.Target = l.TargetAddress.String()
			}
		case *layers.ICMPv6NeighborAdvertisement:
			if f.ICMP != nil {
				f.ICMP.Target = l.TargetAddress.String()
			}
		case *layers.TCP:
			f.TCP = &TCP{SrcPort: int(l.SrcPort), DstPort: int(l.DstPort), Flags: tcpFlags(l), Seq: l.Seq, Ack: l.Ack, Window: int(l.Window),
				PayloadLen: len(l.Payload)}
			f.Proto = "tcp"
		case *layers.UDP:
			f.UDP = &UDP{SrcPort: int(l.SrcPort), DstPort: int(l.DstPort), Len: int(l.Length)}
			f.Proto = "udp"
		}
	}
	if f.Proto == "" {
		f.Proto = "unknown"
	}
	f.Info = f.info()
	return f
}

func macText(b []byte) string {
	if len(b) != 6 {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

func ipText(b []byte) string {
	if len(b) == 4 {
		return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	}
	return fmt.Sprintf("%x", b)
}

var icmp4Names = map[int]string{0: "echo reply", 3: "destination unreachable", 5: "redirect", 8: "echo request", 11: "time exceeded", 12: "parameter problem"}

var icmp6Names = map[int]string{1: "destination unreachable", 2: "packet too big", 3: "time exceeded", 4: "parameter problem",
	128: "echo request", 129: "echo reply", 130: "multicast listener query", 131: "multicast listener report",
	133: "router solicitation", 134: "router advertisement", 135: "neighbor solicitation", 136: "neighbor advertisement",
	143: "multicast listener report v2"}

func icmpName(v6 bool, t int) string {
	m := icmp4Names
	if v6 {
		m = icmp6Names
	}
	if n, ok := m[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

// tcpFlags writes the flags as tcpdump does ("S", "S.", "P.", "F.", "R.").
func tcpFlags(t *layers.TCP) string {
	var b strings.Builder
	for _, f := range []struct {
		on bool
		c  string
	}{{t.FIN, "F"}, {t.SYN, "S"}, {t.RST, "R"}, {t.PSH, "P"}, {t.URG, "U"}, {t.ECE, "E"}, {t.CWR, "W"}} {
		if f.on {
			b.WriteString(f.c)
		}
	}
	if t.ACK {
		b.WriteString(".")
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// info is the frame's summary, in the words of tcpdump's own.
func (f *Frame) info() string {
	switch {
	case f.ARP != nil:
		a := f.ARP
		switch a.Op {
		case "request":
			return fmt.Sprintf("ARP, Request who-has %s tell %s, length 28", a.TargetIP, a.SenderIP)
		case "reply":
			return fmt.Sprintf("ARP, Reply %s is-at %s, length 28", a.SenderIP, a.SenderMAC)
		}
		return "ARP, " + a.Op
	case f.IP != nil:
		ipv := "IP"
		if f.IP.Version == 6 {
			ipv = "IP6"
		}
		src, dst := f.IP.Src, f.IP.Dst
		switch {
		case f.TCP != nil:
			t := f.TCP
			return fmt.Sprintf("%s %s.%d > %s.%d: Flags [%s], seq %d, ack %d, win %d, length %d", ipv, src, t.SrcPort, dst, t.DstPort, t.Flags, t.Seq, t.Ack, t.Window, t.PayloadLen)
		case f.UDP != nil:
			u := f.UDP
			return fmt.Sprintf("%s %s.%d > %s.%d: UDP, length %d", ipv, src, u.SrcPort, dst, u.DstPort, u.Len-8)
		case f.ICMP != nil:
			c := f.ICMP
			kind := "ICMP"
			if c.V6 {
				kind = "ICMP6"
			}
			s := fmt.Sprintf("%s %s > %s: %s %s", ipv, src, dst, kind, c.Name)
			if c.Name == "echo request" || c.Name == "echo reply" {
				s += fmt.Sprintf(", id %d, seq %d", c.ID, c.Seq)
			}
			if c.Target != "" {
				s += ", who has " + c.Target
				if c.Type == 136 {
					s = strings.Replace(s, "who has", "tgt is", 1)
				}
			}
			if c.Code != 0 {
				s += fmt.Sprintf(", code %d", c.Code)
			}
			return s + fmt.Sprintf(", length %d", c.Len)
		}
		return fmt.Sprintf("%s %s > %s: %s, length %d", ipv, src, dst, f.IP.Proto, f.IP.Len)
	case f.Eth != nil:
		return fmt.Sprintf("ethertype %s (0x%04x), length %d", f.Eth.Type, f.Eth.TypeNum, f.Len)
	}
	return fmt.Sprintf("length %d", f.Len)
}

// Line is the frame as one line of a capture's listing: number, time,
// direction, MAC addresses, summary.
func (f *Frame) Line() string {
	macs := ""
	if f.Eth != nil {
		macs = f.Eth.Src + " > " + f.Eth.Dst + "  "
	}
	return fmt.Sprintf("%3d %10.6f %-3s %s%s", f.N, f.Time.Seconds(), f.Dir, macs, f.Info)
}

// Text is a capture's frames as lines, under a title.
func (r Result) Text(title string) string {
	var b strings.Builder
	b.WriteString(title)
	for i := range r.Frames {
		b.WriteString("\n" + r.Frames[i].Line())
	}
	fmt.Fprintf(&b, "\n%d frames", len(r.Frames))
	if r.Seen != len(r.Frames) {
		fmt.Fprintf(&b, " (%d read, the others filtered out)", r.Seen)
	}
	if r.Dropped > 0 {
		fmt.Fprintf(&b, ", %d dropped by the kernel (socket buffer full)", r.Dropped)
	}
	if r.Ended != "" {
		b.WriteString("; " + r.Ended)
	}
	return b.String()
}
