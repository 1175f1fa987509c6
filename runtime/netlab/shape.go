package netlab

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// Link shaping: a queueing discipline (qdisc) at the root of a link's
// transmit path, set through rtnetlink as tc(8) sets it. The kernel shapes
// only what a link sends (egress); to shape what a node receives, shape the
// other end of its veth pair.

// Shape says how a link sends. Rate limits use tbf (one token bucket) or
// htb (a hierarchy of buckets; here one class that all traffic goes to, so
// there is nothing to borrow from and its ceil is its rate);
// Delay, Jitter and Loss need netem, which a kernel may lack.
type Shape struct {
	Qdisc   string        // "tbf" (the default) or "htb"
	Rate    uint64        // bits per second; 0: no rate limit
	Burst   uint32        // bytes sent at full speed before the rate applies; 0: DefaultBurst
	Latency time.Duration // tbf: the longest a packet may wait for tokens (sets the queue's size); 0: 50 ms
	Limit   uint32        // tbf: the queue's size in bytes instead of Latency
	Delay   time.Duration // netem: added to every packet
	Jitter  time.Duration // netem: random variation of Delay
	Loss    float64       // netem: percent of packets dropped
}

// Shaping qdiscs nsh sets.
const (
	QdiscTBF = "tbf"
	QdiscHTB = "htb"
)

// DefaultBurst is the burst tc(8) gives an htb class that names none:
// what the rate sends in one tick of the packet scheduler's clock (HZ of
// /proc/net/psched) plus one MTU-sized packet (1600 bytes). nsh gives it to
// tbf too, where tc insists on a burst.
func DefaultBurst(rate uint64) uint32 {
	return uint32(float64(rate/8)/netlink.Hz()) + 1600
}

// defaultLatency is what tbf's queue holds when neither Latency nor Limit
// is given (tc-tbf(8)'s examples use 50ms).
const defaultLatency = 50 * time.Millisecond

// Check checks the shape and fills in its defaults.
func (s Shape) Check() (Shape, error) {
	switch s.Qdisc {
	case "":
		s.Qdisc = QdiscTBF
	case QdiscTBF, QdiscHTB:
	default:
		return s, fmt.Errorf("qdisc %q: valid qdiscs are tbf and htb", s.Qdisc)
	}
	if s.Rate == 0 && !s.NeedsNetem() {
		return s, errors.New("nothing to shape: give rate (tbf, htb) or delay/loss (netem)")
	}
	if s.Rate != 0 && s.Rate < 8 {
		return s, fmt.Errorf("rate %d bit/s: at least 8 bit/s (1 byte a second)", s.Rate)
	}
	if s.Rate == 0 && (s.Burst != 0 || s.Latency != 0 || s.Limit != 0) {
		return s, errors.New("burst, latency and limit shape a rate: give rate too")
	}
	if (s.Latency != 0 || s.Limit != 0) && s.Qdisc != QdiscTBF {
		return s, errors.New("latency and limit size tbf's queue: htb has none")
	}
	if s.Latency != 0 && s.Limit != 0 {
		return s, errors.New("give latency or limit, not both (tbf derives one from the other)")
	}
	if s.Loss < 0 || s.Loss > 100 {
		return s, fmt.Errorf("loss %g: a percentage, 0..100", s.Loss)
	}
	if s.Delay < 0 || s.Jitter < 0 || s.Latency < 0 {
		return s, errors.New("delay, jitter and latency are not negative")
	}
	if s.Jitter != 0 && s.Delay == 0 {
		return s, errors.New("jitter varies a delay: give delay too")
	}
	if s.Delay > time.Hour || s.Latency > time.Hour {
		return s, errors.New("delay and latency are at most an hour")
	}
	if s.Rate != 0 {
		if s.Burst == 0 {
			s.Burst = DefaultBurst(s.Rate)
		}
		if s.Qdisc == QdiscTBF && s.Limit == 0 {
			if s.Latency == 0 {
				s.Latency = defaultLatency
			}
			if s.limit() > math.MaxUint32 {
				return s, errors.New("tbf's queue (what the rate sends in latency, plus the burst) would be more than 4 GiB: lower latency or burst")
			}
		}
	}
	return s, nil
}

// limit is tbf's queue in bytes: Limit, or what the rate sends in
// Latency plus the burst, as tc computes it.
func (s Shape) limit() float64 {
	if s.Limit != 0 {
		return float64(s.Limit)
	}
	return float64(s.Rate/8)*s.Latency.Seconds() + float64(s.Burst)
}

// NeedsNetem tells whether the shape has a delay or a loss.
func (s Shape) NeedsNetem() bool { return s.Delay != 0 || s.Loss != 0 }

var qdiscRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "changing qdiscs needs CAP_NET_ADMIN in the user namespace that owns the network namespace"},
	{Errno: unix.EINVAL, Rule: "the kernel rejected a parameter of the qdisc or class (a rate, burst or limit out of range)"},
	{Errno: unix.ENODEV, Rule: "no link with that name in the namespace"},
	{Errno: unix.EEXIST, Rule: "the link already has a qdisc there"},
	{Errno: unix.ENOENT, Rule: "the kernel has no qdisc of that kind, or no qdisc or class of that handle"},
}

// netemMissing explains ENOENT for netem from the kernel's configuration.
func netemMissing() string {
	what := "this kernel has no netem qdisc"
	v, src, err := KernelConfig("CONFIG_NET_SCH_NETEM")
	switch {
	case err != nil:
		what += " (CONFIG_NET_SCH_NETEM)"
	case v == "":
		what += fmt.Sprintf(": it was built without CONFIG_NET_SCH_NETEM (%s: # CONFIG_NET_SCH_NETEM is not set)", src)
	case v == "m":
		what += ": CONFIG_NET_SCH_NETEM=m, but the module sch_netem is not loaded (modprobe sch_netem)"
	default:
		what += " (CONFIG_NET_SCH_NETEM)"
	}
	return what + ", so delay, jitter and loss cannot work here; rate and burst can (tbf, htb)"
}

// Shape puts sh on link name's transmit path, replacing whatever shaping
// it had (tc qdisc replace dev NAME root ...); nil removes it, giving the
// link its default qdisc back (tc qdisc del dev NAME root). The new root
// qdisc gets a handle other than the old one's, so the kernel creates it
// and swaps it in at once: a refused shape leaves the old one working.
// With a delay or loss, netem is the root and the rate qdisc its child.
func (ns *NS) Shape(name string, sh *Shape) error {
	l, err := ns.byName(name)
	if err != nil {
		return err
	}
	idx := l.Attrs().Index
	old, err := ns.rootQdisc(l)
	if err != nil {
		return err
	}
	if sh == nil {
		if old == nil {
			return nil // the default qdisc (noqueue on a veth): nothing to remove
		}
		return kerr.Newf(ns.h.QdiscDel(old), qdiscRules, "tc qdisc del dev %s root", name)
	}
	s, err := sh.Check()
	if err != nil {
		return err
	}
	major := uint16(1)
	if old != nil && old.Attrs().Handle == netlink.MakeHandle(1, 0) {
		major = 2
	}
	root := netlink.MakeHandle(major, 0)
	if s.NeedsNetem() {
		q := netlink.NewNetem(netlink.QdiscAttrs{LinkIndex: idx, Handle: root, Parent: netlink.HANDLE_ROOT}, netlink.NetemQdiscAttrs{
			Latency: uint32(s.Delay.Microseconds()), Jitter: uint32(s.Jitter.Microseconds()), Loss: float32(s.Loss)})
		if err := ns.h.QdiscReplace(q); err != nil {
			rules := qdiscRules
			if errors.Is(err, unix.ENOENT) {
				rules = kerr.Rules{{Errno: unix.ENOENT, Rule: netemMissing()}}
			}
			return kerr.Newf(err, rules, "tc qdisc replace dev %s root netem%s", name, s.netemArgs())
		}
		if s.Rate == 0 {
			return nil
		}
		return ns.addRate(name, idx, netlink.MakeHandle(major, 1), netlink.MakeHandle(10, 0), s)
	}
	return ns.addRate(name, idx, netlink.HANDLE_ROOT, root, s)
}

// addRate adds s's rate qdisc (tbf, or htb with one default class) at parent.
func (ns *NS) addRate(name string, idx int, parent, handle uint32, s Shape) error {
	at := "root"
	if parent != netlink.HANDLE_ROOT {
		at = "parent " + netlink.HandleStr(parent)
	}
	attrs := netlink.QdiscAttrs{LinkIndex: idx, Handle: handle, Parent: parent}
	if s.Qdisc == QdiscTBF {
		limit := uint32(s.limit())
		q := &netlink.Tbf{QdiscAttrs: attrs, Rate: s.Rate / 8, Limit: limit, Buffer: netlink.Xmittime(s.Rate/8, s.Burst)}
		return kerr.Newf(ns.h.QdiscReplace(q), qdiscRules, "tc qdisc replace dev %s %s tbf rate %s burst %d limit %d", name, at, RateString(s.Rate), s.Burst, limit)
	}
	q := netlink.NewHtb(attrs)
	q.Defcls = 1 // unclassified traffic goes to class MAJOR:1
	if err := ns.h.QdiscReplace(q); err != nil {
		return kerr.Newf(err, qdiscRules, "tc qdisc replace dev %s %s htb default 1", name, at)
	}
	major, _ := netlink.MajorMinor(handle)
	c := netlink.NewHtbClass(netlink.ClassAttrs{LinkIndex: idx, Parent: handle, Handle: netlink.MakeHandle(major, 1)},
		netlink.HtbClassAttrs{Rate: s.Rate, Ceil: s.Rate, Buffer: s.Burst, Cbuffer: s.Burst})
	if err := ns.h.ClassAdd(c); err != nil {
		return kerr.Newf(err, qdiscRules, "tc class add dev %s parent %x: classid %x:1 htb rate %s ceil %s burst %d", name, major, major, RateString(s.Rate), RateString(s.Rate), s.Burst)
	}
	return nil
}

func (s Shape) netemArgs() string {
	var b strings.Builder
	if s.Delay != 0 {
		fmt.Fprintf(&b, " delay %v", s.Delay)
		if s.Jitter != 0 {
			fmt.Fprintf(&b, " %v", s.Jitter)
		}
	}
	if s.Loss != 0 {
		fmt.Fprintf(&b, " loss %g%%", s.Loss)
	}
	return b.String()
}

// rootQdisc is the link's root qdisc when something set it, nil for the
// kernel's default (handle 0: noqueue, pfifo_fast, mq).
func (ns *NS) rootQdisc(l netlink.Link) (netlink.Qdisc, error) {
	qs, err := ns.h.QdiscList(l)
	if err != nil {
		return nil, kerr.Newf(err, qdiscRules, "tc qdisc show dev %s", l.Attrs().Name)
	}
	for _, q := range qs {
		if a := q.Attrs(); a.Parent == netlink.HANDLE_ROOT && a.Handle != 0 {
			return q, nil
		}
	}
	return nil, nil
}

// QdiscInfo is one qdisc or class on a link, as `tc -s qdisc show` and
// `tc -s class show` report it. Rates are bits per second, sizes bytes.
type QdiscInfo struct {
	Class   bool   // an htb class, not a qdisc
	Kind    string // "tbf", "htb", "netem", "noqueue", ...
	Handle  string // "1:", or the class id "1:1"
	Parent  string // "root" or a handle
	Rate    uint64
	Ceil    uint64
	Burst   uint32
	Limit   uint32
	Delay   time.Duration
	Jitter  time.Duration
	Loss    float64
	Bytes   uint64 // sent
	Packets uint32
	Drops   uint32
	Over    uint32 // overlimits: times a packet had to wait for tokens
	Backlog uint32 // bytes queued now
}

// Qdiscs lists the qdiscs of link name, and the classes of an htb among
// them, with their counters.
func (ns *NS) Qdiscs(name string) ([]QdiscInfo, error) {
	l, err := ns.byName(name)
	if err != nil {
		return nil, err
	}
	qs, err := ns.h.QdiscList(l)
	if err != nil {
		return nil, kerr.Newf(err, qdiscRules, "tc qdisc show dev %s", name)
	}
	var out []QdiscInfo
	for _, q := range qs {
		a := q.Attrs()
		qi := QdiscInfo{Kind: q.Type(), Handle: handleText(a.Handle), Parent: handleText(a.Parent)}
		if a.Statistics != nil && a.Statistics.Basic != nil {
			qi.Bytes, qi.Packets = a.Statistics.Basic.Bytes, a.Statistics.Basic.Packets
		}
		if a.Statistics != nil && a.Statistics.Queue != nil {
			qi.Drops, qi.Over, qi.Backlog = a.Statistics.Queue.Drops, a.Statistics.Queue.Overlimits, a.Statistics.Queue.Backlog
		}
		switch q := q.(type) {
		case *netlink.Tbf:
			qi.Rate, qi.Limit = q.Rate*8, q.Limit
			qi.Burst = burstOf(q.Rate, q.Buffer)
		case *netlink.Netem:
			qi.Delay = time.Duration(tickToUs(q.Latency)) * time.Microsecond
			qi.Jitter = time.Duration(tickToUs(q.Jitter)) * time.Microsecond
			qi.Loss = float64(q.Loss) / math.MaxUint32 * 100
			qi.Limit = q.Limit
		}
		out = append(out, qi)
		if q.Type() == QdiscHTB {
			cs, err := ns.h.ClassList(l, a.Handle)
			if err != nil {
				return nil, kerr.Newf(err, qdiscRules, "tc class show dev %s", name)
			}
			for _, c := range cs {
				hc, ok := c.(*netlink.HtbClass)
				if !ok {
					continue
				}
				ca := hc.Attrs()
				ci := QdiscInfo{Class: true, Kind: QdiscHTB, Handle: netlink.HandleStr(ca.Handle), Parent: handleText(ca.Parent),
					Rate: hc.Rate * 8, Ceil: hc.Ceil * 8, Burst: burstOf(hc.Rate, hc.Buffer)}
				if st := ca.Statistics; st != nil {
					if st.Basic != nil {
						ci.Bytes, ci.Packets = st.Basic.Bytes, st.Basic.Packets
					}
					if st.Queue != nil {
						ci.Drops, ci.Over, ci.Backlog = st.Queue.Drops, st.Queue.Overlimits, st.Queue.Backlog
					}
				}
				out = append(out, ci)
			}
		}
	}
	return out, nil
}

// burstOf is the burst in bytes that a buffer of psched ticks holds at
// rate (bytes per second), rounded as tc prints it.
func burstOf(rate uint64, ticks uint32) uint32 {
	return uint32(math.Round(float64(rate) * float64(ticks) / netlink.TickInUsec() / 1e6))
}

// tickToUs converts psched ticks (what netem's netlink attributes carry) to
// microseconds.
func tickToUs(t uint32) uint64 { return uint64(float64(t) / netlink.TickInUsec()) }

// handleText writes a qdisc handle as tc does: "1:", "root", "1:1".
func handleText(h uint32) string {
	if h == netlink.HANDLE_ROOT {
		return "root"
	}
	major, minor := netlink.MajorMinor(h)
	if minor == 0 {
		return fmt.Sprintf("%x:", major)
	}
	return fmt.Sprintf("%x:%x", major, minor)
}

// String is the qdisc as one line of `tc -s qdisc show`, roughly.
func (q QdiscInfo) String() string {
	var b strings.Builder
	what := "qdisc"
	if q.Class {
		what = "class"
	}
	fmt.Fprintf(&b, "%s %s %s %s", what, q.Kind, q.Handle, q.Parent)
	if q.Parent != "root" {
		b.Reset()
		fmt.Fprintf(&b, "%s %s %s parent %s", what, q.Kind, q.Handle, q.Parent)
	}
	if q.Rate != 0 {
		fmt.Fprintf(&b, " rate %s", RateString(q.Rate))
	}
	if q.Ceil != 0 {
		fmt.Fprintf(&b, " ceil %s", RateString(q.Ceil))
	}
	if q.Burst != 0 {
		fmt.Fprintf(&b, " burst %db", q.Burst)
	}
	if q.Limit != 0 && q.Kind == QdiscTBF {
		fmt.Fprintf(&b, " limit %db", q.Limit)
	}
	if q.Delay != 0 {
		fmt.Fprintf(&b, " delay %v", q.Delay)
		if q.Jitter != 0 {
			fmt.Fprintf(&b, " %v", q.Jitter)
		}
	}
	if q.Loss != 0 {
		fmt.Fprintf(&b, " loss %.3g%%", q.Loss)
	}
	fmt.Fprintf(&b, "\n  Sent %d bytes %d pkt (dropped %d, overlimits %d) backlog %db", q.Bytes, q.Packets, q.Drops, q.Over, q.Backlog)
	return b.String()
}

// QdiscsText is the qdiscs under a title, one entry per qdisc or class.
func QdiscsText(title string, qs []QdiscInfo) string {
	var b strings.Builder
	b.WriteString(title)
	for _, q := range qs {
		b.WriteString("\n" + q.String())
	}
	return b.String()
}

// rateUnits are tc(8)'s rate units (case does not matter): bit-based
// with SI (k = 1000) or IEC (Ki = 1024) prefixes, and byte-based "Bps",
// which is bytes per second, not bits. A bare number is bits per second.
var rateUnits = []struct {
	name  string
	scale float64
}{
	{"bit", 1}, {"kibit", 1024}, {"kbit", 1000}, {"mibit", 1024 * 1024}, {"mbit", 1e6}, {"gibit", 1024 * 1024 * 1024}, {"gbit", 1e9},
	{"tibit", 1024 * 1024 * 1024 * 1024}, {"tbit", 1e12}, {"bps", 8}, {"kibps", 8 * 1024}, {"kbps", 8000}, {"mibps", 8 * 1024 * 1024},
	{"mbps", 8e6}, {"gibps", 8 * 1024 * 1024 * 1024}, {"gbps", 8e9}, {"tibps", 8 * 1024 * 1024 * 1024 * 1024}, {"tbps", 8e12},
}

// ParseRate reads a rate as tc(8) does ("10mbit", "1gbit", "500kbps",
// "100000"), in bits per second.
func ParseRate(s string) (uint64, error) {
	num, unit := splitNumber(s)
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || v < 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("rate %q: a number with one of tc's units: bit, kbit, mbit, gbit (1000s), kibit, mibit (1024s), or bps, kbps, mbps (bytes per second)", s)
	}
	scale := 1.0
	if unit != "" {
		scale = 0
		for _, u := range rateUnits {
			if strings.EqualFold(unit, u.name) {
				scale = u.scale
			}
		}
		if scale == 0 {
			return 0, fmt.Errorf("rate %q: unknown unit %q (tc's units: bit, kbit, mbit, gbit, kibit, mibit, gibit, bps, kbps, mbps, gbps)", s, unit)
		}
	}
	r := v * scale
	if r >= 1<<63 {
		return 0, fmt.Errorf("rate %q is too large", s)
	}
	return uint64(r), nil
}

// ParseSize reads a size as tc(8) does: bytes, or with k/kb, m/mb, g/gb
// (1024s of bytes) or kbit, mbit, gbit (1024s of bits).
func ParseSize(s string) (uint32, error) {
	num, unit := splitNumber(s)
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || v < 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("size %q: bytes, or a number with one of tc's units: b, k or kb, m or mb, g or gb (1024s of bytes), kbit, mbit, gbit", s)
	}
	scale := 0.0
	switch strings.ToLower(unit) {
	case "", "b":
		scale = 1
	case "k", "kb":
		scale = 1024
	case "m", "mb":
		scale = 1024 * 1024
	case "g", "gb":
		scale = 1024 * 1024 * 1024
	case "kbit":
		scale = 1024 / 8
	case "mbit":
		scale = 1024 * 1024 / 8
	case "gbit":
		scale = 1024 * 1024 * 1024 / 8
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q (tc's units: b, k/kb, m/mb, g/gb, kbit, mbit, gbit)", s, unit)
	}
	r := v * scale
	if r > math.MaxUint32 {
		return 0, fmt.Errorf("size %q is more than 4 GiB", s)
	}
	return uint32(r), nil
}

func splitNumber(s string) (string, string) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// RateString writes bits per second as tc does: "10Mbit", "1500Kbit", "800bit".
func RateString(r uint64) string {
	switch {
	case r >= 1e9 && r%1e6 == 0:
		return trimFloat(float64(r)/1e9) + "Gbit"
	case r >= 1e6 && r%1e3 == 0:
		return trimFloat(float64(r)/1e6) + "Mbit"
	case r >= 1e3:
		return trimFloat(float64(r)/1e3) + "Kbit"
	}
	return strconv.FormatUint(r, 10) + "bit"
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// ShapeLink shapes the lab link ifname of node: dir "out" shapes what the
// node sends on it (its own end), "in" what it receives (the link's end in
// the hub, which sends to the node), "both" both ends.
func (l *Lab) ShapeLink(node *Node, ifname, dir string, sh *Shape) error {
	if l.closed {
		return errors.New("netlab: lab is closed")
	}
	if node == nil || node.lab != l {
		return errors.New("netlab: ShapeLink needs a node of this lab")
	}
	switch dir {
	case "", "out", "in", "both":
	default:
		return fmt.Errorf("direction %q: valid directions are out, in and both", dir)
	}
	if dir == "" {
		dir = "out"
	}
	peer := l.HubEnd(node.Name, ifname)
	if dir != "out" && peer == "" {
		return fmt.Errorf("netlab: %s of node %s is not a link lab:link made, so nsh does not know its other end: shape that end (direction \"out\") instead", ifname, node.Name)
	}
	if dir != "in" {
		ns, err := node.Open()
		if err != nil {
			return err
		}
		err = ns.Shape(ifname, sh)
		ns.Close()
		if err != nil {
			return err
		}
	}
	if dir == "out" {
		return nil
	}
	return l.outer.Shape(peer, sh)
}

// HubEnd is the hub-side name of node's lab link ifname, "" if none.
func (l *Lab) HubEnd(node, ifname string) string {
	for _, d := range l.lkDescs {
		if d.Node == node && d.IfName == ifname {
			return d.BrName
		}
	}
	return ""
}
