package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"nsh/runtime/kerr"
)

// DNS wire constants (RFC 1035, RFC 3596).
const (
	dnsTypeA    = 1
	dnsTypeAAAA = 28
	dnsClassIN  = 1

	rcodeOK       = 0
	rcodeFormErr  = 1
	rcodeNXDomain = 3
	rcodeNotImp   = 4
)

// ErrNXDomain is returned by Resolve when the server says the name does not exist.
var ErrNXDomain = errors.New("NXDOMAIN: the server has no such name")

// DNSServer is a tiny authoritative UDP DNS responder: A and AAAA records
// for a fixed set of names, NXDOMAIN for every other name.
type DNSServer struct {
	conn *net.UDPConn
	mu   sync.RWMutex
	recs map[string][]net.IP
	done chan struct{}
	stop sync.Once
}

func canonName(n string) string { return strings.ToLower(strings.TrimSuffix(n, ".")) }

func canonRecords(records map[string][]net.IP) map[string][]net.IP {
	out := make(map[string][]net.IP, len(records))
	for k, v := range records {
		out[canonName(k)] = append([]net.IP(nil), v...)
	}
	return out
}

var dnsRules = kerr.Rules{
	{Errno: unix.ECONNREFUSED, Rule: "nothing listens on that port in the server's namespace (the kernel answered ICMP port unreachable)"},
	{Errno: unix.ENETUNREACH, Rule: "no route to the server from this network namespace"},
	{Errno: unix.EHOSTUNREACH, Rule: "the server's address did not answer ARP/NDP"},
}

var listenRules = kerr.Rules{
	{Errno: unix.EADDRINUSE, Rule: "something in that network namespace already listens on that port"},
	{Errno: unix.EADDRNOTAVAIL, Rule: "that address is not on any link of the namespace (add it first)"},
	{Errno: unix.EACCES, Rule: "ports below 1024 need CAP_NET_BIND_SERVICE (or net.ipv4.ip_unprivileged_port_start)"},
}

// ListenUDP opens a UDP socket bound to addr ("10.53.57.64:53") inside ns
// (nil: the calling thread's current namespace). The socket stays in that
// namespace whichever thread later uses it.
func ListenUDP(ns *NS, addr string) (*net.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("netlab: bad UDP address %q: want IP:PORT", addr)
	}
	var conn *net.UDPConn
	listen := func() error {
		conn, err = net.ListenUDP("udp", ua)
		return err
	}
	if ns == nil {
		err = listen()
	} else if derr := ns.Do(listen); derr != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, derr
	}
	if err != nil {
		return nil, kerr.New("listen udp "+addr, err, listenRules)
	}
	return conn, nil
}

// ServeDNS answers DNS queries on conn from records (name -> addresses;
// names are case-insensitive, a trailing dot is optional) on a goroutine
// until Stop. IPv4 addresses answer A queries, IPv6 ones AAAA queries.
func ServeDNS(conn *net.UDPConn, records map[string][]net.IP) (*DNSServer, error) {
	if conn == nil {
		return nil, errors.New("netlab: ServeDNS needs a UDP socket (from ListenUDP)")
	}
	s := &DNSServer{conn: conn, recs: canonRecords(records), done: make(chan struct{})}
	go s.serve()
	return s, nil
}

// ServeDNSAt listens on addr inside ns (nil: current) and serves records.
func ServeDNSAt(ns *NS, addr string, records map[string][]net.IP) (*DNSServer, error) {
	conn, err := ListenUDP(ns, addr)
	if err != nil {
		return nil, err
	}
	return ServeDNS(conn, records)
}

// Addr is the address the server listens on.
func (s *DNSServer) Addr() net.Addr { return s.conn.LocalAddr() }

// SetRecords replaces the served records.
func (s *DNSServer) SetRecords(records map[string][]net.IP) {
	r := canonRecords(records)
	s.mu.Lock()
	s.recs = r
	s.mu.Unlock()
}

// Stop closes the socket and waits for the serving goroutine to end.
func (s *DNSServer) Stop() error {
	var err error
	s.stop.Do(func() {
		err = s.conn.Close()
		<-s.done
	})
	return err
}

func (s *DNSServer) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.RLock()
		resp := dnsAnswer(buf[:n], s.recs)
		s.mu.RUnlock()
		if resp != nil {
			_, _ = s.conn.WriteToUDP(resp, from)
		}
	}
}

// parseQName reads an uncompressed name at off; returns it and the offset after it.
func parseQName(m []byte, off int) (string, int, error) {
	var labels []string
	for {
		if off >= len(m) {
			return "", 0, errors.New("short name")
		}
		l := int(m[off])
		off++
		if l == 0 {
			break
		}
		if l&0xc0 != 0 {
			return "", 0, errors.New("compressed name in question")
		}
		if off+l > len(m) {
			return "", 0, errors.New("short label")
		}
		labels = append(labels, string(m[off:off+l]))
		off += l
	}
	return strings.Join(labels, "."), off, nil
}

// dnsAnswer builds the response to query q, or nil to drop it.
func dnsAnswer(q []byte, recs map[string][]net.IP) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 { // too short, or a response
		return nil
	}
	flags := binary.BigEndian.Uint16(q[2:])
	opcode := (flags >> 11) & 0xf
	resp := make([]byte, 12, 512)
	copy(resp, q[:2])
	rflags := uint16(0x8000) | flags&0x7800 | 0x0400 | flags&0x0100 // QR, opcode, AA, RD
	setRcode := func(rc uint16) []byte {
		binary.BigEndian.PutUint16(resp[2:], rflags|rc)
		return resp
	}
	if opcode != 0 {
		return setRcode(rcodeNotImp)
	}
	if binary.BigEndian.Uint16(q[4:]) != 1 {
		return setRcode(rcodeFormErr)
	}
	name, off, err := parseQName(q, 12)
	if err != nil || off+4 > len(q) {
		return setRcode(rcodeFormErr)
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	qclass := binary.BigEndian.Uint16(q[off+2:])
	resp = append(resp, q[12:off+4]...) // the question, echoed
	binary.BigEndian.PutUint16(resp[4:], 1)
	ips, ok := recs[canonName(name)]
	if !ok {
		return setRcode(rcodeNXDomain)
	}
	var an uint16
	if qclass == dnsClassIN || qclass == 255 {
		for _, ip := range ips {
			var rdata []byte
			var t uint16
			if v4 := ip.To4(); v4 != nil && (qtype == dnsTypeA || qtype == 255) {
				rdata, t = v4, dnsTypeA
			} else if v4 == nil && len(ip) == net.IPv6len && (qtype == dnsTypeAAAA || qtype == 255) {
				rdata, t = ip, dnsTypeAAAA
			} else {
				continue
			}
			rr := make([]byte, 12)
			binary.BigEndian.PutUint16(rr[0:], 0xc00c) // pointer to the question's name
			binary.BigEndian.PutUint16(rr[2:], t)
			binary.BigEndian.PutUint16(rr[4:], dnsClassIN)
			binary.BigEndian.PutUint32(rr[6:], 60)
			binary.BigEndian.PutUint16(rr[10:], uint16(len(rdata)))
			resp = append(append(resp, rr...), rdata...)
			an++
		}
	}
	binary.BigEndian.PutUint16(resp[6:], an)
	return setRcode(rcodeOK)
}

func buildQuery(id uint16, name string, qtype uint16) ([]byte, error) {
	q := make([]byte, 12, 64)
	binary.BigEndian.PutUint16(q[0:], id)
	binary.BigEndian.PutUint16(q[2:], 0x0100) // RD
	binary.BigEndian.PutUint16(q[4:], 1)
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if l == "" || len(l) > 63 {
			return nil, fmt.Errorf("netlab: bad DNS name %q", name)
		}
		q = append(q, byte(len(l)))
		q = append(q, l...)
	}
	q = append(q, 0, byte(qtype>>8), byte(qtype), 0, dnsClassIN)
	return q, nil
}

// skipName skips a possibly compressed name.
func skipName(m []byte, off int) (int, error) {
	for {
		if off >= len(m) {
			return 0, errors.New("short name")
		}
		l := int(m[off])
		switch {
		case l == 0:
			return off + 1, nil
		case l&0xc0 == 0xc0:
			return off + 2, nil
		}
		off += 1 + l
	}
}

func parseAnswer(m []byte, id uint16) ([]net.IP, error) {
	if len(m) < 12 || binary.BigEndian.Uint16(m) != id || m[2]&0x80 == 0 {
		return nil, errors.New("not a response to our query")
	}
	switch rc := m[3] & 0xf; rc {
	case rcodeOK:
	case rcodeNXDomain:
		return nil, ErrNXDomain
	default:
		return nil, fmt.Errorf("DNS rcode %d", rc)
	}
	qd := int(binary.BigEndian.Uint16(m[4:]))
	an := int(binary.BigEndian.Uint16(m[6:]))
	off := 12
	var err error
	for i := 0; i < qd; i++ {
		if off, err = skipName(m, off); err != nil {
			return nil, err
		}
		off += 4
	}
	var ips []net.IP
	for i := 0; i < an; i++ {
		if off, err = skipName(m, off); err != nil {
			return nil, err
		}
		if off+10 > len(m) {
			return nil, errors.New("short answer")
		}
		t := binary.BigEndian.Uint16(m[off:])
		rdl := int(binary.BigEndian.Uint16(m[off+8:]))
		off += 10
		if off+rdl > len(m) {
			return nil, errors.New("short rdata")
		}
		if (t == dnsTypeA && rdl == 4) || (t == dnsTypeAAAA && rdl == 16) {
			ips = append(ips, net.IP(append([]byte(nil), m[off:off+rdl]...)))
		}
		off += rdl
	}
	return ips, nil
}

// Resolve asks server ("10.53.57.64" or "IP:PORT", port 53 by default) for
// the A and AAAA records of name, from namespace from (nil: current). A name
// the server does not know gives an error wrapping ErrNXDomain.
func Resolve(from *NS, server, name string) ([]net.IP, error) {
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(server, "53")
	}
	ua, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return nil, fmt.Errorf("netlab: bad DNS server %q: want IP or IP:PORT", server)
	}
	var conn *net.UDPConn
	dial := func() error { conn, err = net.DialUDP("udp", nil, ua); return err }
	if from == nil {
		err = dial()
	} else if derr := from.Do(dial); derr != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, derr
	}
	if err != nil {
		return nil, kerr.New("connect udp "+server, err, dnsRules)
	}
	defer conn.Close()
	var all []net.IP
	for _, qt := range []uint16{dnsTypeA, dnsTypeAAAA} {
		var idb [2]byte
		randomFill(idb[:])
		id := binary.BigEndian.Uint16(idb[:])
		q, err := buildQuery(id, name, qt)
		if err != nil {
			return nil, err
		}
		if _, err := conn.Write(q); err != nil {
			return nil, kerr.New("dns query "+name+" @"+server, err, dnsRules)
		}
		buf := make([]byte, 1500)
		deadline := time.Now().Add(2 * time.Second)
		for {
			_ = conn.SetReadDeadline(deadline)
			n, err := conn.Read(buf)
			if err != nil {
				return nil, kerr.New("dns query "+name+" @"+server, err, dnsRules)
			}
			ips, perr := parseAnswer(buf[:n], id)
			if errors.Is(perr, ErrNXDomain) {
				return nil, fmt.Errorf("dns query %s @%s: %w", name, server, ErrNXDomain)
			}
			if perr != nil {
				if perr.Error() == "not a response to our query" {
					continue
				}
				return nil, fmt.Errorf("dns query %s @%s: %v", name, server, perr)
			}
			all = append(all, ips...)
			break
		}
	}
	return all, nil
}

// ParseRecords reads a DNS hub's records given as text: name -> IPs.
func ParseRecords(text map[string][]string) (map[string][]net.IP, error) {
	recs := map[string][]net.IP{}
	for _, name := range sortedKeys(text) {
		for _, s := range text[name] {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("record %s: %q is not an IP address", name, s)
			}
			recs[name] = append(recs[name], ip)
		}
	}
	return recs, nil
}

// DNSAddr is where a DNS hub listens: an IP (port 53) or IP:PORT.
func DNSAddr(addr string) (string, error) {
	if net.ParseIP(addr) != nil {
		return net.JoinHostPort(addr, "53"), nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "" && net.ParseIP(host) == nil {
		return "", fmt.Errorf("address %q: want an IP or IP:PORT", addr)
	}
	return addr, nil
}
