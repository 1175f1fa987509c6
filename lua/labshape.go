package lua

import (
	"fmt"
	"strings"
	"time"

	"nsh/runtime/netlab"

	glua "github.com/yuin/gopher-lua"
)

// Shaping and throughput of lab links: node:shape, node:qdiscs,
// node:iperf, and the shape= option of lab:link. runtime/netlab/shape.go
// and iperf.go decide; this file reads the options and converts results.

const shapeKeys = "qdisc=, rate=, burst=, latency=, limit=, delay=, jitter=, loss=, direction="

var nodeNetMethods = []Func{
	{Name: "shape", Args: "(ifname, {qdisc=, rate=, burst=, latency=, limit=, delay=, jitter=, loss=, direction=} or nil)", Method: (*Session).nodeShape,
		Doc: "Shapes what the node sends on link ifname, through rtnetlink as tc(8) does (tc qdisc replace dev IFNAME root ...), " +
			"replacing any shaping it had; nil removes it, from both ends of a lab link (tc qdisc del dev IFNAME root: the link gets its default qdisc back). " +
			"qdisc: \"tbf\" (default, one token bucket) or \"htb\" (one class that all traffic goes to, its ceil its rate: nothing to borrow from). " +
			"rate: bits per second, or a string in tc's units (\"10mbit\", \"1gbit\", \"500kbit\"; beware: \"kbps\" and \"mbps\" are " +
			"BYTES per second, as in tc). burst: bytes sent at full speed before the rate applies, a number or \"32kb\" (1024s; default: " +
			"what tc gives htb, rate/HZ + 1600 bytes). latency (tbf, default 0.05 s) or limit (bytes) size tbf's queue. " +
			"delay and jitter (seconds or \"20ms\") and loss (percent) need the netem qdisc: a kernel built without " +
			"CONFIG_NET_SCH_NETEM refuses them with ENOENT, and the error says so. The kernel shapes only what a link sends: " +
			"direction=\"in\" shapes what the node receives (the link's other end, in the hub, for links lab:link made), \"both\" both; " +
			"default \"out\". Returns node:qdiscs(ifname).",
		Example: "lab.h1:shape(\"eth0\", {rate = \"10mbit\", burst = \"32kb\"})\nprint(lab.h1:qdiscs(\"eth0\"))\nlab.h1:shape(\"eth0\", nil)"},
	{Name: "qdiscs", Args: "(ifname)", Method: (*Session).nodeQdiscs,
		Doc: "The qdiscs of link ifname, and the classes of an htb, as tc -s qdisc show and tc -s class show list them: {kind=, " +
			"handle=, parent=, class=, rate=, ceil=, burst=, limit=, delay=, jitter=, loss=, bytes=, packets=, drops=, overlimits=, " +
			"backlog=}; rates in bits per second, sizes in bytes, times in seconds. bytes and packets count what was sent; overlimits " +
			"how often a packet had to wait for tokens. A veth starts with noqueue.",
		Example: "for _, q in ipairs(lab.h1:qdiscs(\"eth0\")) do print(q.kind, q.handle, q.bytes) end"},
	{Name: "iperf", Args: "(other, [{seconds=, bytes=}])", Method: (*Session).nodeIperf,
		Doc: "Measures TCP throughput from this node to another (a node or its name; its first address), as Mininet's iperf: a " +
			"server listens in the other node's namespace, a client in this one sends for seconds (default 1), or exactly bytes " +
			"when given; both written in Go, no external tool. Returns what the server received: {bits_per_second=, bytes=, seconds=, " +
			"sent=}, seconds from its first byte to the end of the stream. The rate is TCP payload: on a link shaped to R, " +
			"expect about R x 1448/1514 (the headers of each full frame count against the rate too).",
		Example: "local r = lab.h1:iperf(lab.h2, {seconds = 0.5})\nprint(r)\nassert(r.bits_per_second > 0)"},
}

// argShape reads a shape table (argument n), nil for nil.
func argShape(L *glua.LState, n int, v glua.LValue, defDir string) (*netlab.Shape, string) {
	if v == glua.LNil {
		return nil, ""
	}
	t, ok := v.(*glua.LTable)
	if !ok {
		argErr(L, n, "a shape table {"+shapeKeys+"} or nil (no shaping) expected, got "+describe(v))
	}
	o := optionsOf(L, n, t, "qdisc", "rate", "burst", "latency", "limit", "delay", "jitter", "loss", "direction")
	sh := &netlab.Shape{Qdisc: o.Choice("qdisc", "tbf", netlab.QdiscTBF, netlab.QdiscHTB)}
	sh.Rate = optRate(L, n, o, "rate")
	sh.Burst = optSize(L, n, o, "burst")
	sh.Limit = optSize(L, n, o, "limit")
	sh.Latency = optTime(L, n, o, "latency")
	sh.Delay = optTime(L, n, o, "delay")
	sh.Jitter = optTime(L, n, o, "jitter")
	switch v := o.Value("loss").(type) {
	case *glua.LNilType:
	case glua.LNumber:
		sh.Loss = o.Number("loss", 0, 0, 100)
	case glua.LString:
		var f float64
		if _, err := fmt.Sscanf(strings.TrimSuffix(string(v), "%"), "%g", &f); err != nil || f < 0 || f > 100 {
			argErr(L, n, fmt.Sprintf("option loss must be a percentage from 0 to 100 (1 or \"1%%\"), got %q", string(v)))
		}
		sh.Loss = f
	default:
		argErr(L, n, "option loss must be a percentage (a number), got "+describe(v))
	}
	dir := o.Choice("direction", defDir, "out", "in", "both")
	checked, err := sh.Check()
	if err != nil {
		argErr(L, n, err.Error())
	}
	return &checked, dir
}

// optRate reads a rate: bits per second, or a string in tc's units.
func optRate(L *glua.LState, n int, o options, key string) uint64 {
	switch v := o.Value(key).(type) {
	case *glua.LNilType:
		return 0
	case glua.LNumber:
		return uint64(o.Number(key, 0, 8, 1e15))
	case glua.LString:
		r, err := netlab.ParseRate(string(v))
		if err != nil {
			argErr(L, n, "option "+key+": "+err.Error())
		}
		return r
	}
	argErr(L, n, fmt.Sprintf("option %s must be bits per second or a rate such as \"10mbit\", got %s", key, describe(o.Value(key))))
	return 0
}

// optSize reads a size: bytes, or a string in tc's units.
func optSize(L *glua.LState, n int, o options, key string) uint32 {
	switch v := o.Value(key).(type) {
	case *glua.LNilType:
		return 0
	case glua.LNumber:
		return uint32(o.Number(key, 0, 1, 1<<32-1))
	case glua.LString:
		r, err := netlab.ParseSize(string(v))
		if err != nil {
			argErr(L, n, "option "+key+": "+err.Error())
		}
		return r
	}
	argErr(L, n, fmt.Sprintf("option %s must be bytes or a size such as \"32kb\", got %s", key, describe(o.Value(key))))
	return 0
}

// optTime reads a time: seconds, or a string such as "20ms", "1.5s", "100us".
func optTime(L *glua.LState, n int, o options, key string) time.Duration {
	switch v := o.Value(key).(type) {
	case *glua.LNilType:
		return 0
	case glua.LNumber:
		return seconds(o.Number(key, 0, 0, 3600))
	case glua.LString:
		s := strings.NewReplacer("usec", "us", "msec", "ms", "sec", "s").Replace(string(v))
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > time.Hour {
			argErr(L, n, fmt.Sprintf("option %s must be seconds (0.02) or a time such as \"20ms\", \"1.5s\", \"100us\" up to an hour, got %q", key, string(v)))
		}
		return d
	}
	argErr(L, n, fmt.Sprintf("option %s must be seconds or a time such as \"20ms\", got %s", key, describe(o.Value(key))))
	return 0
}

func (s *Session) nodeShape(L *glua.LState) int {
	n := checkNode(L, 1)
	ifname := argLinkName(L, 2)
	if L.GetTop() < 3 {
		return argErr(L, 3, "a shape table {"+shapeKeys+"} expected, or nil to remove the shaping")
	}
	sh, dir := argShape(L, 3, L.Get(3), "out")
	if sh == nil {
		dir = "both" // removing: what nsh may have set on either end
		if n.Lab().HubEnd(n.Name, ifname) == "" {
			dir = "out"
		}
	}
	if err := n.Lab().ShapeLink(n, ifname, dir, sh); err != nil {
		return inputErr(L, 2, err)
	}
	return s.pushQdiscs(L, n, ifname)
}

func (s *Session) nodeQdiscs(L *glua.LState) int {
	n := checkNode(L, 1)
	return s.pushQdiscs(L, n, argLinkName(L, 2))
}

func (s *Session) pushQdiscs(L *glua.LState, n *netlab.Node, ifname string) int {
	qs, err := n.NS().Qdiscs(ifname)
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	for _, q := range qs {
		r := L.NewTable()
		r.RawSetString("kind", glua.LString(q.Kind))
		r.RawSetString("handle", glua.LString(q.Handle))
		r.RawSetString("parent", glua.LString(q.Parent))
		if q.Class {
			r.RawSetString("class", glua.LTrue)
		}
		for k, v := range map[string]float64{"rate": float64(q.Rate), "ceil": float64(q.Ceil), "burst": float64(q.Burst),
			"limit": float64(q.Limit), "delay": q.Delay.Seconds(), "jitter": q.Jitter.Seconds(), "loss": q.Loss} {
			if v != 0 {
				r.RawSetString(k, glua.LNumber(v))
			}
		}
		r.RawSetString("bytes", glua.LNumber(q.Bytes))
		r.RawSetString("packets", glua.LNumber(q.Packets))
		r.RawSetString("drops", glua.LNumber(q.Drops))
		r.RawSetString("overlimits", glua.LNumber(q.Over))
		r.RawSetString("backlog", glua.LNumber(q.Backlog))
		t.Append(r)
	}
	L.Push(withText(L, t, netlab.QdiscsText(fmt.Sprintf("qdiscs of %s in node %s", ifname, n.Name), qs)))
	return 1
}

// argOtherNode reads argument i as another node of n's lab (or its name).
func argOtherNode(L *glua.LState, i int, n *netlab.Node) *netlab.Node {
	var o *netlab.Node
	switch v := L.Get(i).(type) {
	case glua.LString:
		if o = n.Lab().Node(string(v)); o == nil {
			argErr(L, i, fmt.Sprintf("lab %s has no node %q (nodes: %s)", n.Lab().Name(), string(v), nodeNames(n.Lab())))
		}
	case *glua.LUserData:
		if o = checkNode(L, i); o.Lab() != n.Lab() {
			argErr(L, i, "the node belongs to another lab")
		}
	default:
		argErr(L, i, "a node or a node name expected, got "+describe(L.Get(i)))
	}
	if o == n {
		argErr(L, i, "another node expected: a node measures its links to others")
	}
	if o.IP() == "" {
		argErr(L, i, fmt.Sprintf("node %s has no address yet (lab:link it with addr=)", o.Name))
	}
	return o
}

func (s *Session) nodeIperf(L *glua.LState) int {
	n := checkNode(L, 1)
	other := argOtherNode(L, 2, n)
	o := argOptions(L, 3, "seconds", "bytes")
	io := netlab.IperfOptions{Seconds: seconds(o.Number("seconds", 0, 0.01, 3600)), Bytes: int64(o.Int("bytes", 0, 1, 1<<50))}
	s.Flush()
	r, err := n.Iperf(s.Context(), other, io)
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	t.RawSetString("bits_per_second", glua.LNumber(r.BitsPerSecond))
	t.RawSetString("bytes", glua.LNumber(r.Bytes))
	t.RawSetString("seconds", glua.LNumber(r.Seconds))
	t.RawSetString("sent", glua.LNumber(r.Sent))
	text := fmt.Sprintf("iperf %s -> %s (%s): %s, %d bytes in %.3f s", n.Name, other.Name, other.IP(), rateText(r.BitsPerSecond), r.Bytes, r.Seconds)
	L.Push(withText(L, t, text))
	return 1
}

// rateText writes bits per second for people: "9.57 Mbit/s".
func rateText(bps float64) string {
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.2f Gbit/s", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.2f Mbit/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.2f Kbit/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bps)
}
