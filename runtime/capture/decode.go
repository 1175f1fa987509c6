package capture

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
)

// The decoder reads the fixed headers a learner looks at (Ethernet and
// 802.1Q, ARP, IPv4 and IPv6 with IPv6's extension headers, ICMP and
// ICMPv6, TCP, UDP) with encoding/binary. It decides as gopacket's layers
// package did, which nsh used before: a header too short or inconsistent
// (an IPv4 header length past the packet's) is left out, and so is what it
// carries; IP fragments but the first are not decoded further. Tunnels are
// not entered: a VXLAN, GRE or IP-in-IP packet is its outer headers, as the
// first line of tcpdump's output is. Every index is checked against the
// slice it reads, so no frame, however cut or malformed, panics (FuzzDecode).

var be = binary.BigEndian

// LinkType is the link-layer header type of an interface's frames, as
// pcap files number them (LINKTYPE_*).
type LinkType uint32

const (
	LinkEthernet LinkType = 1   // LINKTYPE_ETHERNET: an Ethernet header first
	LinkRaw      LinkType = 101 // LINKTYPE_RAW: an IP packet, no link header (tun)
)

func (lt LinkType) String() string {
	switch lt {
	case LinkEthernet:
		return "Ethernet"
	case LinkRaw:
		return "Raw"
	}
	return fmt.Sprintf("LinkType(%d)", uint32(lt))
}

// Decode decodes one frame of link type lt (wire length wire).
func Decode(data []byte, lt LinkType, wire int) Frame {
	f := Frame{Len: wire, CapLen: len(data)}
	if lt == LinkRaw {
		if len(data) > 0 && data[0]>>4 == 6 {
			f.ipv6(data)
		} else {
			f.ipv4(data)
		}
	} else {
		f.ethernet(data)
	}
	if f.Proto == "" {
		f.Proto = "unknown"
	}
	f.Info = f.info()
	return f
}

func (f *Frame) ethernet(b []byte) {
	if len(b) < 14 {
		return
	}
	typ := be.Uint16(b[12:14])
	if typ < 0x0600 { // an 802.3 length: LLC follows (STP, say), not decoded
		typ = 0
	}
	f.Eth = &Eth{Src: macText(b[6:12]), Dst: macText(b[0:6]), Type: etherTypeName(typ), TypeNum: typ}
	f.Proto = "eth"
	f.etherType(typ, b[14:])
}

// etherType decodes what an Ethernet header (or a VLAN tag) carries.
func (f *Frame) etherType(typ uint16, b []byte) {
	switch typ {
	case 0x0800:
		f.ipv4(b)
	case 0x86dd:
		f.ipv6(b)
	case 0x0806:
		f.arp(b)
	case 0x8100, 0x88a8: // an 802.1Q (or 802.1ad) tag: TCI, then the type
		if len(b) >= 4 {
			f.etherType(be.Uint16(b[2:4]), b[4:])
		}
	}
}

func (f *Frame) arp(b []byte) {
	if len(b) < 8 {
		return
	}
	hw, pr := int(b[4]), int(b[5])
	if len(b) < 8+2*hw+2*pr {
		return
	}
	a := &ARP{SenderMAC: macText(b[8 : 8+hw]), SenderIP: protoAddrText(b[8+hw : 8+hw+pr]),
		TargetMAC: macText(b[8+hw+pr : 8+2*hw+pr]), TargetIP: protoAddrText(b[8+2*hw+pr : 8+2*hw+2*pr])}
	switch op := be.Uint16(b[6:8]); op {
	case 1:
		a.Op = "request"
	case 2:
		a.Op = "reply"
	default:
		a.Op = fmt.Sprintf("op %d", op)
	}
	f.ARP, f.Proto = a, "arp"
}

func (f *Frame) ipv4(b []byte) {
	if len(b) < 20 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	length := int(be.Uint16(b[2:4]))
	if length == 0 { // segmentation offload may leave it zero: the frame's length
		length = len(b)
	}
	if length < 20 || ihl < 20 || ihl > length {
		return
	}
	if len(b) > length {
		b = b[:length] // Ethernet padding
	} else if ihl > len(b) {
		return
	}
	if !optionsOK(b[20:ihl], 3) {
		return
	}
	proto := b[9]
	f.IP = &IP{Version: 4, Src: ipText(b[12:16]), Dst: ipText(b[16:20]), Proto: ipProtoName(proto), TTL: int(b[8]),
		Len: length, ID: int(be.Uint16(b[4:6]))}
	f.Proto = "ip"
	flagsFrag := be.Uint16(b[6:8])
	if flagsFrag&0x2000 != 0 || flagsFrag&0x1fff != 0 { // more fragments, or not the first
		return
	}
	f.ipPayload(proto, b[ihl:])
}

// optionsOK tells whether IPv4 or TCP options are well formed: end (0),
// no-op (1), or type-length-value whose length, at least min (3 for IPv4,
// 2 for TCP), fits.
func optionsOK(o []byte, min byte) bool {
	for len(o) > 0 {
		switch o[0] {
		case 0:
			return true
		case 1:
			o = o[1:]
		default:
			if len(o) < 2 || o[1] < min || int(o[1]) > len(o) {
				return false
			}
			o = o[o[1]:]
		}
	}
	return true
}

func (f *Frame) ipv6(b []byte) {
	if len(b) < 40 {
		return
	}
	length := int(be.Uint16(b[4:6]))
	next := b[6]
	p := b[40:]
	if next == 0 { // hop-by-hop options (MLD reports carry one): part of the IPv6 header
		hlen, jumbo, ok := hopByHop(p)
		if !ok {
			return
		}
		next = p[0]
		switch {
		case jumbo > 0 && length == 0:
			p = p[:min(jumbo, len(p))]
		case jumbo > 0 || length == 0:
			return
		default:
			p = p[hlen:]
		}
	} else if length == 0 {
		return
	}
	if length != 0 {
		p = p[:min(length, len(p))]
	}
	f.IP = &IP{Version: 6, Src: ipText(b[8:24]), Dst: ipText(b[24:40]), Proto: ipProtoName(b[6]), TTL: int(b[7]), Len: length + 40}
	f.Proto = "ip6"
	f.ipPayload(next, p)
}

// hopByHop reads a hop-by-hop options header: its length, the jumbo
// payload length if it has that option (0 if not), and whether it fits
// (options past a malformed one are not read).
func hopByHop(b []byte) (hlen, jumbo int, ok bool) {
	if len(b) < 2 || int(b[1])*8+8 > len(b) {
		return 0, 0, false
	}
	hlen = int(b[1])*8 + 8
	for o := b[2:hlen]; len(o) > 0; {
		if o[0] == 0 { // Pad1
			o = o[1:]
			continue
		}
		if len(o) < 2 || int(o[1])+2 > len(o) {
			break
		}
		if o[0] == 0xc2 { // jumbo payload
			if o[1] != 4 {
				return 0, 0, false
			}
			if jumbo = int(be.Uint32(o[2:6])); jumbo <= 0xffff {
				return 0, 0, false
			}
		}
		o = o[int(o[1])+2:]
	}
	return hlen, jumbo, true
}

// ipPayload decodes what an IP header carries (protocol proto).
func (f *Frame) ipPayload(proto byte, b []byte) {
	switch proto {
	case 1:
		f.icmp4(b)
	case 58:
		f.icmp6(b)
	case 6:
		f.tcp(b)
	case 17:
		f.udp(b)
	case 0, 43, 60: // hop-by-hop (past an IPv4 header), routing, destination options
		if len(b) >= 2 && int(b[1])*8+8 <= len(b) {
			f.ipPayload(b[0], b[int(b[1])*8+8:])
		}
	}
	// 44, an IPv6 fragment header: the payload is a fragment, not decoded
}

func (f *Frame) icmp4(b []byte) {
	if len(b) < 8 {
		return
	}
	t, c := int(b[0]), int(b[1])
	m := &ICMP{Type: t, Code: c, Name: icmpName(false, t), Len: len(b)}
	if t == 0 || t == 8 {
		m.ID, m.Seq = int(be.Uint16(b[4:6])), int(be.Uint16(b[6:8]))
	}
	f.ICMP, f.Proto = m, "icmp"
}

func (f *Frame) icmp6(b []byte) {
	if len(b) < 4 {
		return
	}
	t, c := int(b[0]), int(b[1])
	m := &ICMP{V6: true, Type: t, Code: c, Name: icmpName(true, t), Len: len(b)}
	body := b[4:]
	switch t {
	case 128, 129: // echo request, reply
		if len(body) >= 4 {
			m.ID, m.Seq = int(be.Uint16(body[0:2])), int(be.Uint16(body[2:4]))
		}
	case 135, 136: // neighbor solicitation, advertisement: flags/reserved, target
		if len(body) >= 20 && ndpOptionsOK(body[20:]) {
			m.Target = ipText(body[4:20])
		}
	}
	f.ICMP, f.Proto = m, "icmp6"
}

// ndpOptionsOK tells whether neighbor discovery options are well formed:
// each a type and a length in units of 8 bytes, not 0, that fits.
func ndpOptionsOK(o []byte) bool {
	for len(o) > 0 {
		if len(o) < 2 || o[1] == 0 || int(o[1])*8 > len(o) {
			return false
		}
		o = o[int(o[1])*8:]
	}
	return true
}

func (f *Frame) tcp(b []byte) {
	if len(b) < 20 {
		return
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > len(b) || !optionsOK(b[20:off], 2) {
		return
	}
	f.TCP = &TCP{SrcPort: int(be.Uint16(b[0:2])), DstPort: int(be.Uint16(b[2:4])), Flags: tcpFlags(b[13]),
		Seq: be.Uint32(b[4:8]), Ack: be.Uint32(b[8:12]), Window: int(be.Uint16(b[14:16])), PayloadLen: len(b) - off}
	f.Proto = "tcp"
}

func (f *Frame) udp(b []byte) {
	if len(b) < 8 {
		return
	}
	length := int(be.Uint16(b[4:6]))
	if length > 0 && length < 8 {
		return
	}
	f.UDP = &UDP{SrcPort: int(be.Uint16(b[0:2])), DstPort: int(be.Uint16(b[2:4])), Len: length}
	f.Proto = "udp"
}

// tcpFlags writes the flags as tcpdump does ("S", "S.", "P.", "F.", "R.").
func tcpFlags(fl byte) string {
	var b strings.Builder
	for _, x := range []struct {
		bit byte
		c   string
	}{{0x01, "F"}, {0x02, "S"}, {0x04, "R"}, {0x08, "P"}, {0x20, "U"}, {0x40, "E"}, {0x80, "W"}} {
		if fl&x.bit != 0 {
			b.WriteString(x.c)
		}
	}
	if fl&0x10 != 0 {
		b.WriteString(".")
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

func macText(b []byte) string {
	if len(b) != 6 {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// ipText is an IP address (4 or 16 bytes) as net.IP prints it
// (IPv4-mapped IPv6 addresses as IPv4).
func ipText(b []byte) string { return net.IP(b).String() }

// protoAddrText is an ARP protocol address: IPv4 dotted, others in hex.
func protoAddrText(b []byte) string {
	if len(b) == 4 {
		return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	}
	return fmt.Sprintf("%x", b)
}
