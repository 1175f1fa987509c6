package capture

import (
	"fmt"
	"strings"
	"time"
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
