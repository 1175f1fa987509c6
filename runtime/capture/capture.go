// Package capture records the frames a network interface sends and
// receives, as tcpdump does: an AF_PACKET socket bound to the interface,
// made inside the interface's network namespace (the socket stays there,
// so reading it afterwards works from any thread), frames decoded
// (decode.go) and written, if asked, to a classic pcap file that tcpdump
// and Wireshark read (pcap.go). It does not compile tcpdump's filter
// language into BPF: a filter (filter.go) is applied to the decoded frames.
//
// The decoder and the pcap writer are nsh's own, a few hundred lines of
// encoding/binary, not gopacket's layers and pcapgo as before: a Go
// package's init runs at every start of a program that links it, and
// gopacket/layers' builds tables of every protocol it knows (3.6 ms and
// 466 KB at each nsh start, capture or not; issue 14), for the handful of
// fixed headers a capture shows. golang.org/x/net's ipv4, ipv6 and icmp
// parsers and mdlayher's ethernet and arp cost little at start but would
// bring four modules for half the headers (no TCP, UDP, IPv6 extension
// headers, neighbor discovery targets or pcap).
package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// Options say when a capture ends and where its frames go.
type Options struct {
	Count   int           // stop after this many frames (that pass Filter); 0: no limit
	Timeout time.Duration // stop after this long; 0: only Count or Stop end it
	Filter  *Filter       // nil: every frame
	Pcap    string        // a pcap file to write, "" for none
}

// Snaplen is the most of a frame kept (tcpdump's default): a veth hands
// over segmentation-offloaded frames of up to 64 KiB.
const Snaplen = 262144

var socketRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "an AF_PACKET socket needs CAP_NET_RAW in the user namespace that owns the network namespace"},
	{Errno: unix.ENODEV, Rule: "no interface of that name in the namespace"},
	{Errno: unix.ENETDOWN, Rule: "the interface is down"},
}

// Capture is a running capture of one interface.
type Capture struct {
	fd       int
	ifname   string
	linkType LinkType
	start    time.Time
	opts     Options
	pcap     *os.File
	pw       *pcapWriter

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	frames   []Frame
	seen     int // frames read, filtered or not
	ended    string
	err      error
}

// Start opens the socket inside the interface's namespace (do runs its
// function on a thread there: netlab's NS.Do) and starts reading it on a
// goroutine; Stop or Wait end it.
func Start(do func(func() error) error, ifname string, o Options) (*Capture, error) {
	if ifname == "" || len(ifname) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("capture: bad interface name %q", ifname)
	}
	c := &Capture{fd: -1, ifname: ifname, opts: o, stop: make(chan struct{}), done: make(chan struct{})}
	err := do(func() error { return c.open() })
	if err != nil {
		if c.fd >= 0 {
			unix.Close(c.fd)
		}
		return nil, err
	}
	if o.Pcap != "" {
		f, err := os.OpenFile(o.Pcap, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			unix.Close(c.fd)
			return nil, err
		}
		c.pcap = f
		if c.pw, err = newPcapWriter(f, Snaplen, c.linkType); err != nil {
			f.Close()
			unix.Close(c.fd)
			return nil, err
		}
	}
	c.start = time.Now()
	go c.loop()
	return c, nil
}

// open makes the socket on the calling thread (inside the namespace). It
// is made with protocol 0, which receives nothing, and bound with ETH_P_ALL
// to the interface: a socket made with ETH_P_ALL would first queue frames
// of every interface until the bind.
func (c *Capture) open() error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return kerr.New("socket(AF_PACKET, SOCK_RAW)", err, socketRules)
	}
	c.fd = fd
	ifr, err := unix.NewIfreq(c.ifname)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return kerr.Newf(err, socketRules, "ioctl(SIOCGIFINDEX, %q)", c.ifname)
	}
	index := int(ifr.Uint32())
	ifr, _ = unix.NewIfreq(c.ifname)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return kerr.Newf(err, socketRules, "ioctl(SIOCGIFHWADDR, %q)", c.ifname)
	}
	switch ifr.Uint16() { // the hardware address's family: the link's ARPHRD type
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		c.linkType = LinkEthernet
	case unix.ARPHRD_NONE: // tun: IP packets without a link header
		c.linkType = LinkRaw
	default:
		c.linkType = LinkEthernet
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return kerr.New("setsockopt(SO_TIMESTAMPNS)", err, nil)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: index}
	if err := unix.Bind(fd, sa); err != nil {
		return kerr.Newf(err, socketRules, "bind(AF_PACKET, %s)", c.ifname)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Stop ends the capture once the frames the kernel queued already are read.
func (c *Capture) Stop() { c.stopOnce.Do(func() { close(c.stop) }) }

// Wait waits for the capture to end (Count, Timeout, Stop, or ctx: then it
// stops) and returns its frames.
func (c *Capture) Wait(ctx context.Context) (Result, error) {
	select {
	case <-c.done:
	case <-ctx.Done():
		c.Stop()
		<-c.done
	}
	r := Result{Frames: c.frames, Seen: c.seen, LinkType: c.linkType.String(), Ended: c.ended}
	if st, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		r.Dropped = int(st.Drops)
	}
	unix.Close(c.fd)
	c.fd = -1
	if c.err == nil && ctx.Err() != nil {
		c.err = ctx.Err()
	}
	return r, c.err
}

// Result is what a capture recorded.
type Result struct {
	Frames   []Frame
	Seen     int    // frames read, the filtered-out ones too
	Dropped  int    // frames the kernel dropped because the socket's buffer was full
	LinkType string // "Ethernet" or "Raw"
	Ended    string // why it ended early ("the interface went down (ENETDOWN)"), "" if it did not
}

func (c *Capture) loop() {
	defer close(c.done)
	defer func() {
		if c.pcap != nil {
			if err := c.pcap.Close(); err != nil && c.err == nil {
				c.err = err
			}
		}
	}()
	buf := make([]byte, Snaplen)
	oob := make([]byte, 128)
	var deadline time.Time
	if c.opts.Timeout > 0 {
		deadline = c.start.Add(c.opts.Timeout)
	}
	stopping := false
	for {
		if c.opts.Count > 0 && len(c.frames) >= c.opts.Count {
			return
		}
		if !stopping {
			select {
			case <-c.stop:
				stopping = true // read what is queued, then end
			default:
			}
		}
		wait := 50 // ms: how often Stop is noticed
		if stopping {
			wait = 0
		} else if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return
			}
			if ms := int(left/time.Millisecond) + 1; ms < wait {
				wait = ms
			}
		}
		pfd := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, wait)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			c.err = kerr.New("poll(AF_PACKET socket)", err, nil)
			return
		}
		if n == 0 {
			if stopping {
				return
			}
			continue
		}
		m, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			var en unix.Errno
			if errors.As(err, &en) && (en == unix.ENETDOWN || en == unix.ENODEV || en == unix.ENXIO) {
				// the link went down or away (its namespace closed, say):
				// the capture ends with what it has
				c.ended = "the interface went down (" + kerr.Name(en) + ")"
				return
			}
			c.err = kerr.New("recvmsg(AF_PACKET socket)", err, socketRules)
			return
		}
		c.seen++
		ts := timestamp(oob[:oobn])
		caplen := m
		if caplen > len(buf) {
			caplen = len(buf)
		}
		pkttype := uint8(0)
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			pkttype = ll.Pkttype
		}
		f := Decode(buf[:caplen], c.linkType, m)
		f.Time, f.Dir, f.PktType = ts.Sub(c.start), direction(pkttype), pktTypeName(pkttype)
		if c.opts.Filter != nil && !c.opts.Filter.Match(&f) {
			continue
		}
		f.N = len(c.frames) + 1
		if c.pw != nil {
			if err := c.pw.write(ts, buf[:caplen], m); err != nil {
				c.err = err
				return
			}
		}
		c.frames = append(c.frames, f)
	}
}

// timestamp is the kernel's receive time of the frame (SCM_TIMESTAMPNS),
// or now if it sent none.
func timestamp(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
				var ts unix.Timespec
				copy(unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts)), m.Data)
				return time.Unix(ts.Unix())
			}
		}
	}
	return time.Now()
}

// direction is "out" for a frame the interface sent, else "in".
func direction(pkttype uint8) string {
	if pkttype == unix.PACKET_OUTGOING {
		return "out"
	}
	return "in"
}

// pktTypeName names the packet type the kernel gives a frame (PACKET_*
// in sockaddr_ll): whom a received frame was for.
func pktTypeName(pkttype uint8) string {
	switch pkttype {
	case unix.PACKET_HOST:
		return "host"
	case unix.PACKET_BROADCAST:
		return "broadcast"
	case unix.PACKET_MULTICAST:
		return "multicast"
	case unix.PACKET_OTHERHOST:
		return "otherhost"
	case unix.PACKET_OUTGOING:
		return "outgoing"
	}
	return "type " + strconv.Itoa(int(pkttype))
}
