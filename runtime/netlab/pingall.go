package netlab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// PingTarget is a node taking part in PingAll: its name, the address others
// ping and the namespace it pings from.
type PingTarget struct {
	Name, IP string
	NS       *NS
}

// PingAllOptions tune PingAll. The zero value pings every pair with a 1 s
// timeout.
type PingAllOptions struct {
	Timeout time.Duration // per echo request; 0: 1 s
	// Sample > 0: every node pings Sample others chosen at random (all
	// others if it has fewer) instead of every other node.
	Sample int
	Seed   uint64 // the sample's seed; 0: a random one, reported in the result
	// Window is how many pings are in flight at once; 0: chosen from the
	// neighbour table's limits (pingWindow).
	Window int
	// Neigh says who fills the neighbour entries a ping needs: NeighKernel
	// (ARP/NDP, as ping(8) does), NeighStatic (pingall writes both sides'
	// entries from the MACs of the nodes' links: no broadcast), or ""
	// (kernel up to NeighKernelMax nodes, static above).
	Neigh string
	// Progress, if set, receives a progress line rewritten in place ("\r")
	// while the pings run, and cleared at the end: give it a terminal.
	Progress io.Writer
}

// PingAllResult counts the pings of PingAll and says which failed
// ("a -> b (IP): why"); Text is the matrix (rows ping columns), or for
// big or sampled labs a summary.
type PingAllResult struct {
	Sent, OK int
	Failed   []string
	Text     string
	Seed     uint64        // the sample's seed (sampled runs only)
	Window   int           // pings that were in flight at once
	Neigh    string        // NeighKernel or NeighStatic
	Elapsed  time.Duration // from the first echo request to the last answer
	// NeighDeleted counts the neighbour entries the pings made that PingAll
	// deleted again (the entries found before it started are kept).
	NeighDeleted int
}

// Who resolves neighbours during PingAll (PingAllOptions.Neigh).
const (
	NeighKernel = "kernel"
	NeighStatic = "static"
)

// NeighKernelMax is the largest lab whose pings resolve neighbours by ARP
// by default. Each ARP request is a broadcast the bridge copies to every
// port at once, into one CPU's input backlog (net.core.netdev_max_backlog,
// 1000): past a few hundred ports the copies overflow it and requests are
// dropped (/proc/net/softnet_stat, second column), and the copies cost
// N deliveries a ping.
const NeighKernelMax = 128

// PingMatrixMax is the largest lab whose PingAll text is a matrix; bigger
// labs, and sampled runs, get a summary.
const PingMatrixMax = 64

// PingAll pings every node's address from every other node, one echo each
// with timeout, and draws the result as a matrix under a title naming lab.
// It is PingAllContext with no way to interrupt it.
func PingAll(lab string, nodes []PingTarget, timeout time.Duration) PingAllResult {
	r, _ := PingAllContext(context.Background(), lab, nodes, PingAllOptions{Timeout: timeout})
	return r
}

// pingPair is one echo request: source and target index, and how it ended.
type pingPair struct {
	src, dst int
	ok       bool
	done     bool
	err      error
}

// pingSock is one node's ICMP socket of one family, made once inside the
// node's namespace (a socket stays in the namespace it was made in, so no
// thread has to move per ping). A reader goroutine hands each reply to the
// ping waiting for its sequence number.
type pingSock struct {
	f    *os.File
	rc   syscall.RawConn
	kind PingSocket
	v6   bool
	id   uint16 // raw sockets: our identifier (datagram sockets get the kernel's)

	mu      sync.Mutex
	seq     uint16
	pending map[uint16]*pingWait
}

type pingWait struct {
	from net.IP
	ch   chan error // nil: a reply; else an ICMP error quoting the request
}

// PingAllContext is PingAll with options, stopped by ctx (it then returns
// the counts so far and ctx's error, after deleting the neighbour entries
// its pings made). An error is also returned when an ICMP socket cannot be
// opened, or the neighbour tables cannot be read.
func PingAllContext(ctx context.Context, lab string, nodes []PingTarget, o PingAllOptions) (PingAllResult, error) {
	var r PingAllResult
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Sample < 0 {
		return r, fmt.Errorf("netlab: pingall: sample must be >= 0, got %d", o.Sample)
	}
	ips := make([]net.IP, len(nodes))
	haveV4, haveV6 := false, false
	for i, n := range nodes {
		ip := net.ParseIP(n.IP)
		if ip == nil {
			return r, fmt.Errorf("netlab: pingall: node %s: bad address %q: want an IPv4 or IPv6 literal", n.Name, n.IP)
		}
		if n.NS == nil {
			return r, fmt.Errorf("netlab: pingall: node %s has no namespace", n.Name)
		}
		ips[i] = ip
		if ip.To4() != nil {
			haveV4 = true
		} else {
			haveV6 = true
		}
	}
	var pairs []pingPair
	if o.Sample > 0 {
		if o.Seed == 0 {
			var b [4]byte // small enough to type back in (and exact as a Lua number)
			randomFill(b[:])
			o.Seed = uint64(binary.BigEndian.Uint32(b[:])>>1 | 1)
		}
		r.Seed = o.Seed
		pairs = samplePairs(len(nodes), o.Sample, o.Seed)
	} else {
		pairs = meshPairs(len(nodes))
	}
	var families []int
	lim := NeighLimits{Thresh2: 1 << 30}
	if haveV4 {
		families = append(families, netlink.FAMILY_V4)
		lim = ReadNeighLimits(false)
	}
	if haveV6 {
		families = append(families, netlink.FAMILY_V6)
		if l6 := ReadNeighLimits(true); pingWindow(l6) < pingWindow(lim) {
			lim = l6
		}
	}
	switch o.Neigh {
	case "":
		o.Neigh = NeighKernel
		if len(nodes) > NeighKernelMax {
			o.Neigh = NeighStatic
		}
	case NeighKernel, NeighStatic:
	default:
		return r, fmt.Errorf("netlab: pingall: neigh must be %q or %q, got %q", NeighKernel, NeighStatic, o.Neigh)
	}
	r.Neigh = o.Neigh
	static := o.Neigh == NeighStatic
	r.Window = o.Window
	if r.Window <= 0 {
		r.Window = pingWindow(lim)
	}

	// One neighbour table record per namespace (nodes may share one).
	tables := map[uint64]*neighTable{}
	nodeTable := make([]*neighTable, len(nodes))
	for i, n := range nodes {
		ino, err := n.NS.Inode()
		if err != nil {
			return r, err
		}
		if tables[ino] == nil {
			t, err := newNeighTable(n.NS, families)
			if err != nil {
				return r, err
			}
			tables[ino] = t
		}
		nodeTable[i] = tables[ino]
	}

	// One socket per pinging node and family, made in its namespace.
	socks := make([][2]*pingSock, len(nodes))
	var readers sync.WaitGroup
	defer func() {
		for _, ss := range socks {
			for _, s := range ss {
				if s != nil {
					s.f.Close()
				}
			}
		}
		readers.Wait()
	}()
	var token [16]byte
	randomFill(token[:])
	for _, p := range pairs {
		fam := 0
		if ips[p.dst].To4() == nil {
			fam = 1
		}
		if socks[p.src][fam] != nil {
			continue
		}
		s, err := openPingSock(nodes[p.src].NS, fam == 1)
		if err != nil {
			return r, fmt.Errorf("pingall: node %s: %w", nodes[p.src].Name, err)
		}
		socks[p.src][fam] = s
		readers.Add(1)
		go func() { defer readers.Done(); s.read(token) }()
	}

	if static {
		var fds []int
		for i, n := range nodes {
			if fd, _ := announce(n.NS, ips[i]); fd >= 0 {
				fds = append(fds, fd)
			}
		}
		defer closeAll(fds)()
	}

	// The progress line.
	var done, lost atomic.Int64
	stopProgress := func() {}
	if o.Progress != nil {
		quit, finished := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(finished)
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-quit:
					fmt.Fprint(o.Progress, "\r\x1b[K")
					return
				case <-tick.C:
					fmt.Fprintf(o.Progress, "\r\x1b[Kpingall %s: %d of %d pings, %d lost", lab, done.Load(), len(pairs), lost.Load())
				}
			}
		}()
		stopProgress = func() { close(quit); <-finished }
	}

	// The pings: Window workers take pairs in order.
	start := time.Now()
	var next atomic.Int64
	var workers sync.WaitGroup
	for w := 0; w < r.Window && w < len(pairs); w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(pairs) {
					return
				}
				p := &pairs[i]
				fam := 0
				if ips[p.dst].To4() == nil {
					fam = 1
				}
				err := pingOne(ctx, timer, socks[p.src][fam], nodeTable[p.src], nodeTable[p.dst], ips[p.dst], token, o.Timeout, static)
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					return
				}
				p.done, p.ok, p.err = true, err == nil, err
				done.Add(1)
				if err != nil {
					lost.Add(1)
				}
			}
		}()
	}
	workers.Wait()
	r.Elapsed = time.Since(start)
	stopProgress()

	var errs []error
	for _, t := range tables {
		t.sweep(families)
		r.NeighDeleted += t.deleted
		errs = append(errs, t.errs...)
	}
	r.Failed = nil
	for i := range pairs {
		p := &pairs[i]
		if !p.done {
			continue
		}
		r.Sent++
		if p.ok {
			r.OK++
		}
	}
	failed := make([]*pingPair, 0, r.Sent-r.OK)
	for i := range pairs {
		if p := &pairs[i]; p.done && !p.ok {
			failed = append(failed, p)
		}
	}
	sort.Slice(failed, func(a, b int) bool {
		if failed[a].src != failed[b].src {
			return failed[a].src < failed[b].src
		}
		return failed[a].dst < failed[b].dst
	})
	for _, p := range failed {
		c := nodes[p.dst]
		r.Failed = append(r.Failed, fmt.Sprintf("%s -> %s (%s): %v", nodes[p.src].Name, c.Name, c.IP, p.err))
	}
	if o.Sample == 0 && len(nodes) <= PingMatrixMax {
		r.Text = pingMatrix(lab, nodes, pairs, r)
	} else {
		r.Text = pingSummary(lab, nodes, o, r)
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if len(errs) > 0 {
		return r, errs[0]
	}
	return r, nil
}

// meshPairs lists every ordered pair, each one next to its reverse, so the
// two directions run together and share the two neighbour entries they need.
func meshPairs(n int) []pingPair {
	pairs := make([]pingPair, 0, n*(n-1))
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			pairs = append(pairs, pingPair{src: i, dst: j}, pingPair{src: j, dst: i})
		}
	}
	return pairs
}

// samplePairs gives every node k distinct others, chosen by a generator
// seeded with seed (the same seed gives the same pairs).
func samplePairs(n, k int, seed uint64) []pingPair {
	if k > n-1 {
		k = n - 1
	}
	if k <= 0 {
		return nil
	}
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pairs := make([]pingPair, 0, n*k)
	others := make([]int, 0, n)
	for i := 0; i < n; i++ {
		others = others[:0]
		for j := 0; j < n; j++ {
			if j != i {
				others = append(others, j)
			}
		}
		for c := 0; c < k; c++ { // a partial Fisher-Yates shuffle
			x := c + rng.IntN(len(others)-c)
			others[c], others[x] = others[x], others[c]
			pairs = append(pairs, pingPair{src: i, dst: others[c]})
		}
	}
	return pairs
}

var routeGetRules = kerr.Rules{
	{Errno: unix.ENETUNREACH, Rule: "no route to that address in the pinging node's namespace (is the link up, has it an address?)"},
	{Errno: unix.EHOSTUNREACH, Rule: "no route to the host"},
}

// nextHop is the neighbour entry a packet to ip needs in ns (ip route get
// IP): the device and the next hop (a gateway, or ip itself), and the source
// address the kernel picks. local: ip is the namespace's own address.
func nextHop(ns *NS, ip net.IP) (k neighKey, src net.IP, local bool, err error) {
	rs, err := ns.h.RouteGet(ip)
	if err != nil {
		return k, nil, false, kerr.New("RTM_GETROUTE "+ip.String(), err, routeGetRules)
	}
	if len(rs) == 0 {
		return k, nil, false, kerr.New("RTM_GETROUTE "+ip.String(), unix.ENETUNREACH, routeGetRules)
	}
	rt := rs[0]
	if rt.Type == unix.RTN_LOCAL {
		return k, rt.Src, true, nil
	}
	nh := ip
	if rt.Gw != nil {
		nh = rt.Gw
	}
	return keyOf(rt.LinkIndex, nh), rt.Src, false, nil
}

// pingOne sends one echo request from s to dst and waits for its reply.
// Before sending, it claims the neighbour entries the exchange can make (the
// pinger's for dst's next hop, the target's for the pinger's source
// address); afterwards it releases them, which deletes those no other ping
// in flight needs.
func pingOne(ctx context.Context, timer *time.Timer, s *pingSock, srcT, dstT *neighTable, dst net.IP, token [16]byte, timeout time.Duration, static bool) error {
	kSrc, srcIP, local, err := nextHop(srcT.ns, dst)
	if err != nil {
		return err
	}
	if !local {
		var kDst neighKey
		far := srcIP == nil || dstT == srcT
		if !far {
			var local2 bool
			kDst, _, local2, err = nextHop(dstT.ns, srcIP)
			far = err != nil || local2
		}
		var srcMAC, dstMAC net.HardwareAddr
		if static && !far && kSrc.ip == keyOf(0, dst).ip && kDst.ip == keyOf(0, srcIP).ip {
			// on the same link: each side's entry for the other, written
			// from the MAC of the other's link
			srcMAC, dstMAC = srcT.linkMAC(kSrc.link), dstT.linkMAC(kDst.link)
			if srcMAC == nil || dstMAC == nil {
				srcMAC, dstMAC = nil, nil
			}
		}
		srcT.acquire(kSrc, dstMAC)
		defer srcT.release(kSrc)
		if !far {
			dstT.acquire(kDst, srcMAC)
			defer dstT.release(kDst)
		}
	}
	w := &pingWait{from: dst, ch: make(chan error, 1)}
	s.mu.Lock()
	s.seq++
	for s.pending[s.seq] != nil {
		s.seq++
	}
	seq := s.seq
	s.pending[seq] = w
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, seq)
		s.mu.Unlock()
	}()
	if err := s.send(dst, seq, token); err != nil {
		return err
	}
	timer.Reset(timeout)
	defer func() {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}()
	select {
	case err := <-w.ch:
		return err
	case <-timer.C:
		return fmt.Errorf("no echo reply within %v", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func openPingSock(ns *NS, v6 bool) (*pingSock, error) {
	var (
		fd   int
		kind PingSocket
		err  error
	)
	if derr := ns.Do(func() error { fd, kind, err = openICMP(v6); return nil }); derr != nil {
		if err == nil {
			unix.Close(fd)
		}
		return nil, derr
	}
	if err != nil {
		return nil, err
	}
	// Room for a window of replies and the requests other nodes send here
	// (a raw socket sees those too); as much as net.core.rmem_max allows.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, kerr.New("fcntl(O_NONBLOCK)", err, nil)
	}
	f := os.NewFile(uintptr(fd), "icmp")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	var idb [2]byte
	randomFill(idb[:])
	return &pingSock{f: f, rc: rc, kind: kind, v6: v6, id: binary.BigEndian.Uint16(idb[:]), pending: map[uint16]*pingWait{}}, nil
}

func (s *pingSock) send(dst net.IP, seq uint16, token [16]byte) error {
	var sa unix.Sockaddr
	pkt := make([]byte, 8+56)
	if s.v6 {
		var a [16]byte
		copy(a[:], dst.To16())
		sa = &unix.SockaddrInet6{Addr: a}
		pkt[0] = 128
	} else {
		var a [4]byte
		copy(a[:], dst.To4())
		sa = &unix.SockaddrInet4{Addr: a}
		pkt[0] = 8
	}
	binary.BigEndian.PutUint16(pkt[4:], s.id)
	binary.BigEndian.PutUint16(pkt[6:], seq)
	copy(pkt[8:], token[:])
	for i := 8 + 16; i < len(pkt); i++ {
		pkt[i] = byte(i)
	}
	if !s.v6 { // the kernel fills in the ICMPv6 checksum itself
		binary.BigEndian.PutUint16(pkt[2:], icmpChecksum(pkt))
	}
	var serr error
	err := s.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), pkt, 0, sa)
		return !errors.Is(serr, unix.EAGAIN)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return kerr.New("ping "+dst.String()+": sendto", err, pingRules)
	}
	return nil
}

// read hands replies to their waiting pings until the socket is closed.
func (s *pingSock) read(token [16]byte) {
	buf := make([]byte, 2048)
	repType := byte(0)
	if s.v6 {
		repType = 129
	}
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := s.rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err != nil {
			return // closed
		}
		if rerr != nil {
			continue // EINTR, or a datagram socket's pending ICMP error
		}
		msg := buf[:n]
		if s.kind == PingRaw && !s.v6 { // raw IPv4 sockets hand over the IP header too
			if len(msg) < 20 || len(msg) < int(msg[0]&0x0f)*4 {
				continue
			}
			msg = msg[int(msg[0]&0x0f)*4:]
		}
		if len(msg) < 8 {
			continue
		}
		var seq uint16
		var werr error
		switch {
		case msg[0] == repType && len(msg) >= 8+16:
			if s.kind == PingRaw && binary.BigEndian.Uint16(msg[4:]) != s.id {
				continue
			}
			if string(msg[8:8+16]) != string(token[:]) {
				continue
			}
			seq = binary.BigEndian.Uint16(msg[6:])
		case isUnreachable(msg, s.v6):
			q, ok := quotedSeq(msg, s.v6, s.id, s.kind)
			if !ok {
				continue
			}
			seq, werr = q, kerr.New("ping", unix.EHOSTUNREACH, pingRules)
		default:
			continue
		}
		s.mu.Lock()
		w := s.pending[seq]
		if w != nil && (werr != nil || sameAddr(from, w.from)) {
			delete(s.pending, seq)
		} else {
			w = nil
		}
		s.mu.Unlock()
		if w != nil {
			w.ch <- werr
		}
	}
}

// quotedSeq is the sequence number of our echo request quoted by an ICMP
// error.
func quotedSeq(msg []byte, v6 bool, id uint16, kind PingSocket) (uint16, bool) {
	inner := msg[8:]
	if v6 {
		if len(inner) < 40+8 {
			return 0, false
		}
		inner = inner[40:]
	} else {
		if len(inner) < 20 || len(inner) < int(inner[0]&0x0f)*4+8 {
			return 0, false
		}
		inner = inner[int(inner[0]&0x0f)*4:]
	}
	if kind == PingRaw && binary.BigEndian.Uint16(inner[4:]) != id {
		return 0, false
	}
	return binary.BigEndian.Uint16(inner[6:]), true
}

// pingMatrix draws rows pinging columns: . ok, X lost, ? not sent
// (interrupted), - the node itself.
func pingMatrix(lab string, nodes []PingTarget, pairs []pingPair, r PingAllResult) string {
	n := len(nodes)
	cell := make([]byte, n*n)
	for i := range cell {
		cell[i] = '?'
	}
	for _, p := range pairs {
		switch {
		case !p.done:
		case p.ok:
			cell[p.src*n+p.dst] = '.'
		default:
			cell[p.src*n+p.dst] = 'X'
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pingall in lab %s (rows ping columns; . ok, X lost)\n  %-12s", lab, "")
	for j := range nodes {
		fmt.Fprintf(&b, " %d", j%10)
	}
	b.WriteString("\n")
	for i, a := range nodes {
		fmt.Fprintf(&b, "%d %-12s", i%10, trunc(a.Name, 12))
		for j := range nodes {
			if i == j {
				b.WriteString(" -")
			} else {
				b.WriteByte(' ')
				b.WriteByte(cell[i*n+j])
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d of %d pings answered", r.OK, r.Sent)
	return b.String()
}

// pingSummary says what a matrix would be too big to show: how many pings,
// how they were chosen, the first failures.
func pingSummary(lab string, nodes []PingTarget, o PingAllOptions, r PingAllResult) string {
	var b strings.Builder
	if o.Sample > 0 {
		fmt.Fprintf(&b, "pingall in lab %s: %d nodes, each pings %d others chosen at random (sample=%d, seed=%d)\n",
			lab, len(nodes), min(o.Sample, max(len(nodes)-1, 0)), o.Sample, r.Seed)
	} else {
		fmt.Fprintf(&b, "pingall in lab %s: %d nodes, each pings every other\n", lab, len(nodes))
	}
	for i, f := range r.Failed {
		if i == 10 {
			fmt.Fprintf(&b, "  ... and %d more lost\n", len(r.Failed)-10)
			break
		}
		fmt.Fprintf(&b, "  lost: %s\n", f)
	}
	how := "ARP/NDP by the kernel"
	if r.Neigh == NeighStatic {
		how = "entries written by pingall"
	}
	fmt.Fprintf(&b, "%d of %d pings answered in %.2f s (%d in flight at a time; neighbours: %s)", r.OK, r.Sent, r.Elapsed.Seconds(), r.Window, how)
	return b.String()
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// PingAllContext pings across the lab (PingAllContext with the lab's nodes
// that have an address, in creation order, each at its first address).
func (l *Lab) PingAllContext(ctx context.Context, o PingAllOptions) (PingAllResult, error) {
	nodes, done, err := l.pingTargets()
	if err != nil {
		return PingAllResult{}, err
	}
	defer done()
	return PingAllContext(ctx, l.name, nodes, o)
}
