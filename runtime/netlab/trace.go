package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// Hop is one step of a trace: the address that answered an echo request
// sent with TTL (hop limit) TTL, "" when none did within the timeout.
// Reached: it was the destination's echo reply, not a router's "time
// exceeded". ReplyTTL is the TTL (IPv6: hop limit) the answer arrived
// with: 64 minus the routers it crossed on the way back, for a Linux sender.
type Hop struct {
	TTL      int
	Addr     string
	RTT      time.Duration
	ReplyTTL int
	Reached  bool
}

// Trace finds the routers between ns and dst the way traceroute -I does:
// echo requests with TTL 1, 2, ... until the destination answers. Each
// router that decrements a TTL to 0 drops the packet and sends ICMP "time
// exceeded" (type 11; ICMPv6 type 3) from its address on the way back. It
// needs a raw ICMP socket (CAP_NET_RAW over the namespace's owner): an ICMP
// datagram socket is not handed the errors routers send.
func (ns *NS) Trace(dst string, maxHops int, timeout time.Duration) ([]Hop, error) {
	ip := net.ParseIP(dst)
	if ip == nil {
		return nil, fmt.Errorf("netlab: trace: bad address %q: want an IPv4 or IPv6 literal", dst)
	}
	if maxHops < 1 || maxHops > 255 {
		return nil, fmt.Errorf("netlab: trace: max hops must be 1..255, got %d", maxHops)
	}
	v6 := ip.To4() == nil
	fam, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		fam, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	var fd int
	err := ns.Do(func() (err error) {
		fd, err = unix.Socket(fam, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		return kerr.New("socket(SOCK_RAW, ICMP)", err, pingRules)
	})
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if v6 { // the hop limit of what arrives comes as a control message
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1); err != nil {
			return nil, kerr.New("trace "+ip.String()+": setsockopt(IPV6_RECVHOPLIMIT)", err, nil)
		}
	}
	var sa unix.Sockaddr
	reqType := byte(8)
	if v6 {
		var a [16]byte
		copy(a[:], ip.To16())
		sa, reqType = &unix.SockaddrInet6{Addr: a}, 128
	} else {
		var a [4]byte
		copy(a[:], ip.To4())
		sa = &unix.SockaddrInet4{Addr: a}
	}
	var token [16]byte
	randomFill(token[:])
	id := binary.BigEndian.Uint16(token[:2])
	call := "trace " + ip.String()
	var hops []Hop
	buf, oob := make([]byte, 1500), make([]byte, 64)
	for ttl := 1; ttl <= maxHops; ttl++ {
		if v6 {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, ttl)
		} else {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, ttl)
		}
		if err != nil {
			return hops, kerr.New(call+": setsockopt(TTL)", err, nil)
		}
		pkt := make([]byte, 8+16)
		pkt[0] = reqType
		binary.BigEndian.PutUint16(pkt[4:], id)
		binary.BigEndian.PutUint16(pkt[6:], uint16(ttl))
		copy(pkt[8:], token[:])
		if !v6 {
			binary.BigEndian.PutUint16(pkt[2:], icmpChecksum(pkt))
		}
		start := time.Now()
		if err := unix.Sendto(fd, pkt, 0, sa); err != nil {
			return hops, kerr.New(call+": sendto", err, pingRules)
		}
		hop := Hop{TTL: ttl}
		deadline := start.Add(timeout)
		for hop.Addr == "" {
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(pfd, int((left+time.Millisecond-1)/time.Millisecond))
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return hops, kerr.New(call+": poll", err, nil)
			}
			if n == 0 {
				break
			}
			m, oobn, _, from, err := unix.Recvmsg(fd, buf, oob, unix.MSG_DONTWAIT)
			if err != nil {
				continue
			}
			msg, replyTTL := buf[:m], 0
			if v6 {
				replyTTL = hopLimit(oob[:oobn])
			}
			if !v6 { // a raw IPv4 socket hands over the IP header too
				if len(msg) < 20 || len(msg) < int(msg[0]&0x0f)*4+8 {
					continue
				}
				replyTTL = int(msg[8])
				msg = msg[int(msg[0]&0x0f)*4:]
			}
			if len(msg) < 8 {
				continue
			}
			reply, exceeded := byte(0), byte(11)
			if v6 {
				reply, exceeded = 129, 3
			}
			switch {
			case msg[0] == reply && binary.BigEndian.Uint16(msg[4:]) == id && binary.BigEndian.Uint16(msg[6:]) == uint16(ttl):
				hop.Reached = true
			case msg[0] == exceeded && echoInside(msg, v6, id, uint16(ttl), PingRaw):
			case isUnreachable(msg, v6) && echoInside(msg, v6, id, uint16(ttl), PingRaw):
				return append(hops, hop), kerr.New(call, unix.EHOSTUNREACH, pingRules)
			default:
				continue
			}
			hop.Addr, hop.RTT, hop.ReplyTTL = sockaddrIP(from), time.Since(start), replyTTL
		}
		hops = append(hops, hop)
		if hop.Reached {
			return hops, nil
		}
	}
	return hops, fmt.Errorf("%s: no echo reply within %d hops", call, maxHops)
}

// hopLimit reads IPV6_HOPLIMIT from a received packet's control messages
// (0 if none).
func hopLimit(oob []byte) int {
	cms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, c := range cms {
		if c.Header.Level == unix.IPPROTO_IPV6 && c.Header.Type == unix.IPV6_HOPLIMIT && len(c.Data) >= 4 {
			return int(int32(binary.NativeEndian.Uint32(c.Data)))
		}
	}
	return 0
}

func sockaddrIP(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.IP(a.Addr[:]).String()
	case *unix.SockaddrInet6:
		return net.IP(a.Addr[:]).String()
	}
	return ""
}
