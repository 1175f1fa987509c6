package netlab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

var pingRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "a raw ICMP socket needs CAP_NET_RAW, and an ICMP datagram socket needs the group inside net.ipv4.ping_group_range (\"1 0\" = nobody in a new namespace)"},
	{Errno: unix.EACCES, Rule: "an ICMP datagram socket needs the caller's group inside net.ipv4.ping_group_range (\"1 0\" = nobody in a new namespace), or CAP_NET_RAW for a raw socket"},
	{Errno: unix.ENETUNREACH, Rule: "no route to that address in this network namespace (is the link up, has it an address, is there a default route?)"},
	{Errno: unix.EHOSTUNREACH, Rule: "no route to the host, or a neighbour did not answer ARP/NDP"},
	{Errno: unix.EADDRNOTAVAIL, Rule: "no usable source address (IPv6 addresses are tentative until DAD ends: add them with nodad)"},
	{Errno: unix.EAFNOSUPPORT, Rule: "IPv6 is disabled in this namespace"},
}

// PingSocket tells which kind of socket a ping used.
type PingSocket int

const (
	PingRaw   PingSocket = iota // SOCK_RAW: needs CAP_NET_RAW over the netns's owning userns
	PingDgram                   // SOCK_DGRAM IPPROTO_ICMP: needs gid in net.ipv4.ping_group_range
)

// openICMP makes an ICMP socket in the calling thread's namespace: raw if
// allowed, else an unprivileged ICMP datagram ("ping") socket.
func openICMP(v6 bool) (int, PingSocket, error) {
	fam, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		fam, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	fd, err := unix.Socket(fam, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err == nil {
		return fd, PingRaw, nil
	}
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
		return -1, 0, kerr.New("socket(SOCK_RAW, ICMP)", err, pingRules)
	}
	fd, err2 := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
	if err2 != nil {
		return -1, 0, kerr.New("socket(SOCK_RAW or SOCK_DGRAM, ICMP)", err2, pingRules)
	}
	return fd, PingDgram, nil
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// Ping sends count ICMP echo requests to dst (IPv4 or IPv6 literal), one
// after the other, each waiting up to timeout for its reply, and returns the
// round-trip times of the replies. from is the namespace to ping from (nil:
// the calling thread's current one); the socket is made inside it and stays
// there. An error reports lost replies; rtts then holds those that came.
func Ping(from *NS, dst string, count int, timeout time.Duration) ([]time.Duration, error) {
	ip := net.ParseIP(dst)
	if ip == nil {
		return nil, fmt.Errorf("netlab: ping: bad address %q: want an IPv4 or IPv6 literal", dst)
	}
	if count <= 0 {
		return nil, fmt.Errorf("netlab: ping: count must be > 0, got %d", count)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("netlab: ping: timeout must be > 0, got %v", timeout)
	}
	v6 := ip.To4() == nil
	var (
		fd   int
		kind PingSocket
		err  error
	)
	if from == nil {
		fd, kind, err = openICMP(v6)
	} else {
		derr := from.Do(func() error { fd, kind, err = openICMP(v6); return nil })
		if derr != nil {
			if err == nil && fd > 0 {
				unix.Close(fd)
			}
			return nil, derr
		}
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return pingFd(fd, kind, ip, count, timeout)
}

func pingFd(fd int, kind PingSocket, ip net.IP, count int, timeout time.Duration) ([]time.Duration, error) {
	v6 := ip.To4() == nil
	var sa unix.Sockaddr
	reqType, repType := byte(8), byte(0)
	if v6 {
		var a [16]byte
		copy(a[:], ip.To16())
		sa = &unix.SockaddrInet6{Addr: a}
		reqType, repType = 128, 129
	} else {
		var a [4]byte
		copy(a[:], ip.To4())
		sa = &unix.SockaddrInet4{Addr: a}
	}
	var token [16]byte
	randomFill(token[:])
	id := binary.BigEndian.Uint16(token[:2])
	payload := make([]byte, 56)
	copy(payload, token[:])
	for i := 16; i < len(payload); i++ {
		payload[i] = byte(i)
	}
	call := "ping " + ip.String()
	var rtts []time.Duration
	buf := make([]byte, 1500)
	for seq := 1; seq <= count; seq++ {
		pkt := make([]byte, 8+len(payload))
		pkt[0] = reqType
		binary.BigEndian.PutUint16(pkt[4:], id)
		binary.BigEndian.PutUint16(pkt[6:], uint16(seq))
		copy(pkt[8:], payload)
		if !v6 { // the kernel fills in the ICMPv6 checksum itself
			binary.BigEndian.PutUint16(pkt[2:], icmpChecksum(pkt))
		}
		start := time.Now()
		if err := unix.Sendto(fd, pkt, 0, sa); err != nil {
			return rtts, kerr.New(call+": sendto", err, pingRules)
		}
		deadline := start.Add(timeout)
	wait:
		for {
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			ms := int((left + time.Millisecond - 1) / time.Millisecond)
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(pfd, ms)
			if err != nil {
				if errors.Is(err, unix.EINTR) {
					continue
				}
				return rtts, kerr.New(call+": poll", err, nil)
			}
			if n == 0 {
				break
			}
			m, from, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
			if err != nil {
				if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
					continue
				}
				return rtts, kerr.New(call+": recvfrom", err, pingRules)
			}
			msg := buf[:m]
			if kind == PingRaw && !v6 { // raw IPv4 sockets hand over the IP header too
				if len(msg) < 20 {
					continue
				}
				msg = msg[int(msg[0]&0x0f)*4:]
			}
			if len(msg) < 8+16 || !sameAddr(from, ip) {
				if len(msg) >= 8 && isUnreachable(msg, v6) && echoInside(msg, v6, id, uint16(seq), kind) {
					return rtts, kerr.New(call, unix.EHOSTUNREACH, pingRules)
				}
				continue
			}
			if msg[0] != repType || binary.BigEndian.Uint16(msg[6:]) != uint16(seq) {
				continue
			}
			if kind == PingRaw && binary.BigEndian.Uint16(msg[4:]) != id {
				continue
			}
			if !bytes.Equal(msg[8:8+16], token[:]) {
				continue
			}
			rtts = append(rtts, time.Since(start))
			break wait
		}
	}
	if lost := count - len(rtts); lost > 0 {
		return rtts, fmt.Errorf("%s: %d of %d echo requests got no reply within %v", call, lost, count, timeout)
	}
	return rtts, nil
}

func sameAddr(sa unix.Sockaddr, ip net.IP) bool {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.IP(a.Addr[:]).Equal(ip)
	case *unix.SockaddrInet6:
		return net.IP(a.Addr[:]).Equal(ip)
	}
	return false
}

func isUnreachable(msg []byte, v6 bool) bool {
	if v6 {
		return msg[0] == 1
	}
	return msg[0] == 3
}

// echoInside tells whether an ICMP error quotes our echo request.
func echoInside(msg []byte, v6 bool, id, seq uint16, kind PingSocket) bool {
	inner := msg[8:]
	if v6 {
		if len(inner) < 40+8 {
			return false
		}
		inner = inner[40:]
	} else {
		if len(inner) < 20 {
			return false
		}
		inner = inner[int(inner[0]&0x0f)*4:]
		if len(inner) < 8 {
			return false
		}
	}
	if binary.BigEndian.Uint16(inner[6:]) != seq {
		return false
	}
	return kind == PingDgram || binary.BigEndian.Uint16(inner[4:]) == id
}

// Ping is Ping(ns, dst, count, timeout): ping from inside ns.
func (ns *NS) Ping(dst string, count int, timeout time.Duration) ([]time.Duration, error) {
	return Ping(ns, dst, count, timeout)
}
