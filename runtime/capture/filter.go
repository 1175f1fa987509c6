package capture

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Filter is a small part of tcpdump's filter language, applied to decoded
// frames (not compiled to BPF: frames it rejects are still read): words
// joined by "and" (or just spaces), alternatives joined by "or".
//
//	arp, ip, ip6, icmp, icmp6, tcp, udp    the frame has that header
//	host ADDR                              an IP (or ARP) source or destination
//	port N                                 a TCP or UDP source or destination port
//
// e.g. "arp or icmp", "tcp port 5001", "host 10.53.57.2 and icmp".
type Filter struct {
	Text string
	alts [][]term
}

type term struct {
	kind string // a protocol word, "host" or "port"
	arg  string
}

// FilterProtocols are the protocol words a filter knows.
var FilterProtocols = []string{"arp", "ip", "ip6", "icmp", "icmp6", "tcp", "udp"}

// ParseFilter reads a filter.
func ParseFilter(s string) (*Filter, error) {
	f := &Filter{Text: s}
	words := strings.Fields(s)
	if len(words) == 0 {
		return nil, fmt.Errorf("filter %q is empty (e.g. \"arp or icmp\")", s)
	}
	var alt []term
	conj := false // the last word was "and"
	for i := 0; i < len(words); i++ {
		w := strings.ToLower(words[i])
		conj = w == "and"
		switch {
		case w == "or":
			if len(alt) == 0 {
				return nil, fmt.Errorf("filter %q: nothing before %q", s, "or")
			}
			f.alts, alt = append(f.alts, alt), nil
		case w == "and":
			if len(alt) == 0 {
				return nil, fmt.Errorf("filter %q: nothing before %q", s, "and")
			}
		case w == "host" || w == "port":
			if i+1 >= len(words) {
				return nil, fmt.Errorf("filter %q: %s needs a value", s, w)
			}
			i++
			arg := words[i]
			if w == "host" && net.ParseIP(arg) == nil {
				return nil, fmt.Errorf("filter %q: host %q is not an IP address", s, arg)
			}
			if w == "host" {
				arg = net.ParseIP(arg).String()
			}
			if p, err := strconv.Atoi(arg); w == "port" && (err != nil || p < 0 || p > 65535) {
				return nil, fmt.Errorf("filter %q: port %q is not a number 0..65535", s, arg)
			}
			alt = append(alt, term{w, arg})
		case contains(FilterProtocols, w):
			alt = append(alt, term{w, ""})
		default:
			return nil, fmt.Errorf("filter %q: unknown word %q (nsh knows %s, host ADDR, port N, and, or)", s, words[i], strings.Join(FilterProtocols, ", "))
		}
	}
	if len(alt) == 0 || conj {
		return nil, fmt.Errorf("filter %q ends with and/or", s)
	}
	f.alts = append(f.alts, alt)
	return f, nil
}

func contains(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}

// Match tells whether the frame passes the filter.
func (f *Filter) Match(fr *Frame) bool {
	for _, alt := range f.alts {
		ok := true
		for _, t := range alt {
			if !t.match(fr) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (t term) match(f *Frame) bool {
	switch t.kind {
	case "arp":
		return f.ARP != nil
	case "ip":
		return f.IP != nil && f.IP.Version == 4
	case "ip6":
		return f.IP != nil && f.IP.Version == 6
	case "icmp":
		return f.ICMP != nil && !f.ICMP.V6
	case "icmp6":
		return f.ICMP != nil && f.ICMP.V6
	case "tcp":
		return f.TCP != nil
	case "udp":
		return f.UDP != nil
	case "host":
		switch {
		case f.IP != nil:
			return f.IP.Src == t.arg || f.IP.Dst == t.arg
		case f.ARP != nil:
			return f.ARP.SenderIP == t.arg || f.ARP.TargetIP == t.arg
		}
		return false
	case "port":
		p, _ := strconv.Atoi(t.arg)
		switch {
		case f.TCP != nil:
			return f.TCP.SrcPort == p || f.TCP.DstPort == p
		case f.UDP != nil:
			return f.UDP.SrcPort == p || f.UDP.DstPort == p
		}
	}
	return false
}
