package netlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// A throughput test in Go, as Mininet's iperf: a TCP server in one
// namespace, a client in another, the client sending as fast as TCP lets it
// for a while. Each socket is made on a thread inside its namespace (NS.Do)
// and stays there; reading and writing it afterwards works from any thread,
// so the transfer runs on goroutines that depend on no thread's namespace.

// IperfOptions says how long the client sends: Seconds (default 1), or
// Bytes when given (then Seconds is a time limit, default 60 s).
type IperfOptions struct {
	Seconds time.Duration
	Bytes   int64
}

// IperfResult is what the server received: Bytes in Seconds (from its
// first byte to the end of the stream), and that as bits per second.
type IperfResult struct {
	Bytes         int64
	Seconds       float64
	BitsPerSecond float64
	Sent          int64 // what the client wrote
}

var iperfRules = kerr.Rules{
	{Errno: unix.ECONNREFUSED, Rule: "nothing listens on that address and port in the server's namespace"},
	{Errno: unix.ENETUNREACH, Rule: "no route to the server's address in the client's namespace"},
	{Errno: unix.EHOSTUNREACH, Rule: "the server's address did not answer ARP/NDP (is the link up, are both on one bridge?)"},
	{Errno: unix.EADDRNOTAVAIL, Rule: "the server's address is not on any link of its namespace"},
	{Errno: unix.ETIMEDOUT, Rule: "the connection timed out"},
}

const iperfBuf = 128 << 10

// Iperf measures TCP throughput from client to server: server listens on
// serverIP (an address of its namespace) on a port the kernel picks, client
// connects and sends. It ends early with ctx.
func Iperf(ctx context.Context, client, server *NS, serverIP string, o IperfOptions) (IperfResult, error) {
	ip := net.ParseIP(serverIP)
	if ip == nil {
		return IperfResult{}, fmt.Errorf("netlab: iperf: bad address %q", serverIP)
	}
	limit := o.Seconds
	if limit <= 0 {
		limit = time.Second
		if o.Bytes > 0 {
			limit = time.Minute
		}
	}
	var ln net.Listener
	addr := net.JoinHostPort(ip.String(), "0")
	err := server.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return IperfResult{}, kerr.Newf(err, iperfRules, "iperf: listen on %s in %s", addr, server.name)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	dst := net.JoinHostPort(ip.String(), strconv.Itoa(port))

	type got struct {
		n     int64
		start time.Time
		end   time.Time
		err   error
	}
	rc := make(chan got, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			rc <- got{err: err}
			return
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		buf := make([]byte, iperfBuf)
		var g got
		for {
			n, err := c.Read(buf)
			if n > 0 && g.n == 0 {
				g.start = time.Now()
			}
			g.n += int64(n)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					g.err = err
				}
				break
			}
		}
		g.end = time.Now()
		rc <- g
	}()

	var conn net.Conn
	err = client.Do(func() (err error) {
		d := net.Dialer{Timeout: 5 * time.Second}
		conn, err = d.DialContext(ctx, "tcp", dst)
		return err
	})
	if err != nil {
		ln.Close()
		return IperfResult{}, kerr.Newf(err, iperfRules, "iperf: connect to %s from %s", dst, client.name)
	}
	sent, werr := send(ctx, conn, o.Bytes, limit)
	conn.(*net.TCPConn).CloseWrite() // EOF for the server once all is delivered
	var g got
	select {
	case g = <-rc:
	case <-ctx.Done():
		conn.Close()
		<-rc
		return IperfResult{}, ctx.Err()
	}
	conn.Close()
	if ctx.Err() != nil {
		return IperfResult{}, ctx.Err()
	}
	if werr != nil {
		return IperfResult{}, kerr.Newf(werr, iperfRules, "iperf: send to %s", dst)
	}
	if g.err != nil {
		return IperfResult{}, kerr.Newf(g.err, iperfRules, "iperf: receive on %s", dst)
	}
	r := IperfResult{Bytes: g.n, Sent: sent}
	if g.n > 0 {
		r.Seconds = g.end.Sub(g.start).Seconds()
		if r.Seconds > 0 {
			r.BitsPerSecond = float64(g.n) * 8 / r.Seconds
		}
	}
	return r, nil
}

// send writes to c until bytes are sent (when > 0) or the time limit ends.
func send(ctx context.Context, c net.Conn, bytes int64, limit time.Duration) (int64, error) {
	deadline := time.Now().Add(limit)
	c.SetWriteDeadline(deadline)
	var once sync.Once
	stop := context.AfterFunc(ctx, func() { once.Do(func() { c.SetWriteDeadline(time.Now()) }) })
	defer stop()
	buf := make([]byte, iperfBuf)
	for i := range buf {
		buf[i] = byte(i)
	}
	var sent int64
	for bytes <= 0 || sent < bytes {
		b := buf
		if bytes > 0 && bytes-sent < int64(len(b)) {
			b = b[:bytes-sent]
		}
		n, err := c.Write(b)
		sent += int64(n)
		if err != nil {
			if errors.Is(err, unix.ETIMEDOUT) || isTimeout(err) {
				return sent, nil // the time is up (or ctx ended: the caller sees ctx.Err())
			}
			return sent, err
		}
	}
	return sent, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Iperf runs the throughput test from this node to other's first address.
func (n *Node) Iperf(ctx context.Context, other *Node, o IperfOptions) (IperfResult, error) {
	if other == nil || other.lab != n.lab {
		return IperfResult{}, errors.New("netlab: iperf needs another node of the same lab")
	}
	ip := other.IP()
	if ip == "" {
		return IperfResult{}, fmt.Errorf("netlab: node %s has no address (link it with an address first)", other.Name)
	}
	from, err := n.Open()
	if err != nil {
		return IperfResult{}, err
	}
	defer from.Close()
	to, err := other.Open()
	if err != nil {
		return IperfResult{}, err
	}
	defer to.Close()
	return Iperf(ctx, from, to, ip, o)
}
