package capture

import "fmt"

// Names of header field values, as nsh's frames have always shown them
// (gopacket's names). Switches, not maps: nothing is built when nsh starts.

// etherTypeName names an EtherType (0: an 802.3 length, LLC follows).
func etherTypeName(t uint16) string {
	switch t {
	case 0:
		return "LLC"
	case 0x0800:
		return "IPv4"
	case 0x0806:
		return "ARP"
	case 0x86dd:
		return "IPv6"
	case 0x2000:
		return "CiscoDiscovery"
	case 0x01a2:
		return "NortelDiscovery"
	case 0x6558:
		return "TransparentEthernetBridging"
	case 0x8100, 0x88a8:
		return "Dot1Q"
	case 0x880b:
		return "PPP"
	case 0x8863:
		return "PPPoEDiscovery"
	case 0x8864:
		return "PPPoESession"
	case 0x8847:
		return "MPLSUnicast"
	case 0x8848:
		return "MPLSMulticast"
	case 0x888e:
		return "EAPOL"
	case 0x88be:
		return "ERSPAN Type II"
	case 0x88cc:
		return "LinkLayerDiscovery"
	case 0x9000:
		return "EthernetCTP"
	}
	return "UnknownEthernetType"
}

// ipProtoName names an IP protocol (IPv6: next header) number.
func ipProtoName(p byte) string {
	switch p {
	case 0:
		return "IPv6HopByHop"
	case 1:
		return "ICMPv4"
	case 2:
		return "IGMP"
	case 4, 94:
		return "IPv4"
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 27:
		return "RUDP"
	case 41:
		return "IPv6"
	case 43:
		return "IPv6Routing"
	case 44:
		return "IPv6Fragment"
	case 47:
		return "GRE"
	case 50:
		return "IPSecESP"
	case 51:
		return "IPSecAH"
	case 58:
		return "ICMPv6"
	case 59:
		return "NoNextHeader"
	case 60:
		return "IPv6Destination"
	case 89:
		return "OSPF"
	case 97:
		return "EtherIP"
	case 112:
		return "VRRP"
	case 132:
		return "SCTP"
	case 136:
		return "UDPLite"
	case 137:
		return "MPLS"
	}
	return "UnknownIPProtocol"
}

// icmpName names an ICMP (v6: ICMPv6) message type in tcpdump's words.
func icmpName(v6 bool, t int) string {
	if !v6 {
		switch t {
		case 0:
			return "echo reply"
		case 3:
			return "destination unreachable"
		case 5:
			return "redirect"
		case 8:
			return "echo request"
		case 11:
			return "time exceeded"
		case 12:
			return "parameter problem"
		}
		return fmt.Sprintf("type %d", t)
	}
	switch t {
	case 1:
		return "destination unreachable"
	case 2:
		return "packet too big"
	case 3:
		return "time exceeded"
	case 4:
		return "parameter problem"
	case 128:
		return "echo request"
	case 129:
		return "echo reply"
	case 130:
		return "multicast listener query"
	case 131:
		return "multicast listener report"
	case 133:
		return "router solicitation"
	case 134:
		return "router advertisement"
	case 135:
		return "neighbor solicitation"
	case 136:
		return "neighbor advertisement"
	case 143:
		return "multicast listener report v2"
	}
	return fmt.Sprintf("type %d", t)
}
