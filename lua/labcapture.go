package lua

import (
	"context"
	"fmt"

	"nsh/runtime/capture"
	"nsh/runtime/cleanup"
	"nsh/runtime/netlab"

	glua "github.com/yuin/gopher-lua"
)

// Packet capture on lab links: node:capture and lab:capture (the hub's
// side: bridges and the bridge ends of node links). runtime/capture opens
// the AF_PACKET socket inside the namespace and decodes; this file reads
// the options, runs the function given as run= while the capture goes on,
// and converts the frames.

var nodeCaptureMethods = []Func{
	{Name: "capture", Args: "(ifname, [{count=, timeout=, pcap=, filter=, run=}])", Method: (*Session).nodeCapture,
		Doc: "Captures the frames link ifname sends and receives, as tcpdump -i IFNAME does, through an AF_PACKET socket " +
			"opened inside the namespace (it needs CAP_NET_RAW over the namespace's owner, which nsh has in its own labs, as root and " +
			"as an ordinary user). It ends after count frames, or timeout seconds (default 5; with run= no default), or when the " +
			"function run returns: run is called while the capture goes on, so the capture sees what it makes happen (a ping: the " +
			"ARP request and reply, the ICMP echo request and reply), and frames already queued when it returns are still read. " +
			"filter: a little of tcpdump's language, applied to decoded frames: arp, ip, ip6, icmp, icmp6, tcp, udp, host ADDR, port N, " +
			"joined with and / or (\"arp or icmp\"). pcap writes the frames to a classic pcap file that tcpdump -r and Wireshark open. " +
			"Returns a list of frames that prints like tcpdump -e: {n=, time= (seconds since the start), dir= (\"in\"/\"out\"), " +
			"pkttype= (host, broadcast, multicast, otherhost, outgoing), len=, proto=, info= (tcpdump's summary), eth={src=, dst=, type=}, " +
			"arp={op=, sender_mac=, sender_ip=, target_mac=, target_ip=}, ip={version=, src=, dst=, proto=, ttl=, len=, id=}, " +
			"icmp={type=, code=, name=, id=, seq=, target=}, tcp={src_port=, dst_port=, flags=, seq=, ack=, window=, len=}, " +
			"udp={src_port=, dst_port=, len=}}, with fields seen= (frames read, filtered ones too) and dropped= (by the kernel).",
		Example: "local frames = lab.h1:capture(\"eth0\", {filter = \"arp or icmp\", pcap = \"ping.pcap\",\n" +
			"  run = function() lab.h1:ping(\"h2\") end})\nprint(frames)   -- tcpdump -r ping.pcap shows the same frames\nos.remove(\"ping.pcap\")"},
}

var nodeCaptureStartMethod = Func{Name: "capture_start", Args: "(ifname, [{count=, timeout=, pcap=, filter=}])", Method: (*Session).nodeCaptureStart,
	Doc: "Starts a capture as node:capture does (same options but run; no timeout unless given) and returns at once a capture " +
		"handle: c:stop() ends it and returns the frames. For the prompt, where what the capture should see is typed next. " +
		"A capture still running when the session ends is stopped.",
	Example: "local c = lab.h1:capture_start(\"eth0\", {filter = \"arp or icmp\"})\nlab.h1:ping(\"h2\")\nprint(c:stop())"}

var labCaptureMethods = []Func{
	{Name: "capture", Args: "(ifname, [{count=, timeout=, pcap=, filter=, run=}])", Method: (*Session).labCapture,
		Doc: "As node:capture (same options: count, timeout, pcap, filter, run; same frames), on a link of the lab's hub (outer) " +
			"namespace: a bridge, or a node link's bridge end (NODE-br). On the bridge end, frames the node sends are \"in\" and " +
			"frames for other MACs show pkttype otherhost.",
		Example: "local frames = lab:capture(\"h1-br\", {count = 4, filter = \"arp or icmp\",\n  run = function() lab.h1:ping(\"h2\") end})\nprint(frames)"},
	{Name: "capture_start", Args: "(ifname, [{count=, timeout=, pcap=, filter=}])", Method: (*Session).labCaptureStart,
		Doc:     "As node:capture_start, on a link of the lab's hub namespace (a bridge, or NODE-br). Returns a capture handle (c:stop()).",
		Example: "local c = lab:capture_start(\"ex0\", {filter = \"icmp\"})\nlab.h1:ping(\"h2\")\nprint(c:stop())"},
}

func (s *Session) nodeCapture(L *glua.LState) int {
	n := checkNode(L, 1)
	ns, done := openNode(L, 1, n)
	defer done()
	return s.captureIn(L, ns, "node "+n.Name)
}

func (s *Session) labCapture(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	return s.captureIn(L, l.l.Outer(), "the hub of lab "+l.l.Name())
}

func (s *Session) nodeCaptureStart(L *glua.LState) int {
	n := checkNode(L, 1)
	ns, done := openNode(L, 1, n)
	defer done() // the capture's socket holds the namespace while it runs
	return s.captureStart(L, ns, n, "node "+n.Name)
}

func (s *Session) labCaptureStart(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	return s.captureStart(L, l.l.Outer(), nil, "the hub of lab "+l.l.Name())
}

// captureOptions reads argument 3: count, timeout (default def seconds),
// pcap, filter, and run when withRun.
func captureOptions(L *glua.LState, withRun bool) (capture.Options, *glua.LFunction) {
	keys := []string{"count", "timeout", "pcap", "filter"}
	if withRun {
		keys = append(keys, "run")
	}
	o := argOptions(L, 3, keys...)
	co := capture.Options{Count: o.Int("count", 0, 1, 1<<20), Pcap: o.String("pcap", "")}
	var run *glua.LFunction
	if v := o.Value("run"); v != glua.LNil {
		f, ok := v.(*glua.LFunction)
		if !ok {
			argErr(L, 3, "option run must be a function (called while the capture runs), got "+describe(v))
		}
		run = f
	}
	def := 5.0
	if run != nil || !withRun {
		def = 0
	}
	co.Timeout = seconds(o.Number("timeout", def, 0, 3600))
	if o.Has("filter") {
		f, err := capture.ParseFilter(o.String("filter", ""))
		if err != nil {
			argErr(L, 3, "option filter: "+err.Error())
		}
		co.Filter = f
	}
	return co, run
}

func captureTitle(ifname, where string, co capture.Options) string {
	title := fmt.Sprintf("capture on %s in %s", ifname, where)
	if co.Filter != nil {
		title += fmt.Sprintf(" (filter %q)", co.Filter.Text)
	}
	if co.Pcap != "" {
		title += ", written to " + co.Pcap
	}
	return title
}

func (s *Session) captureIn(L *glua.LState, ns *netlab.NS, where string) int {
	ifname := argLinkName(L, 2)
	co, run := captureOptions(L, true)
	s.Flush()
	c, err := capture.Start(ns.Do, ifname, co)
	if err != nil {
		return inputErr(L, 3, err)
	}
	if run != nil {
		L.Push(run)
		if err := L.PCall(0, 0, nil); err != nil {
			c.Stop()
			c.Wait(s.Context())
			if ae, ok := err.(*glua.ApiError); ok {
				L.Error(ae.Object, 0) // run's own error, as it raised it
			}
			return raiseLua(L, err)
		}
		c.Stop()
	}
	r, err := c.Wait(s.Context())
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(framesTable(L, r, captureTitle(ifname, where, co)))
	return 1
}

// framesTable converts a capture's result, printing as its listing.
func framesTable(L *glua.LState, r capture.Result, title string) *glua.LTable {
	t := L.NewTable()
	for i := range r.Frames {
		t.Append(frameTable(L, &r.Frames[i]))
	}
	t.RawSetString("seen", glua.LNumber(r.Seen))
	t.RawSetString("dropped", glua.LNumber(r.Dropped))
	return withText(L, t, r.Text(title))
}

// ---- capture handles: node:capture_start, c:stop ----

const captureType = "nsh.capture"

// luaCapture is a running capture of the session and its cleanup item.
type luaCapture struct {
	c      *capture.Capture
	node   *netlab.Node // the node whose link it captures, nil for a hub
	item   *cleanup.Item
	title  string
	done   bool
	result capture.Result
	err    error
}

var captureHandleMethods = []Func{
	{Name: "stop", Args: "()", Method: (*Session).captureStop,
		Doc: "Stops the capture (frames the kernel queued already are still read) and returns its frames, as node:capture does; " +
			"a capture that ended by itself (count, timeout) returns its frames too, and a second stop the same ones.",
		Example: "local c = lab.h1:capture_start(\"eth0\", {filter = \"icmp\"})\nlab.h1:ping(\"h2\")\nprint(c:stop())"},
}

func (s *Session) installCaptureType() {
	s.typeMetatable(captureType, s.lazyMethods("capture", "c:", func() []Func { return captureHandleMethods }), func(L *glua.LState, key string) glua.LValue {
		return glua.LNil
	}, func(L *glua.LState) string {
		c := checkCapture(L, 1)
		if c.done {
			return c.title + " (stopped)"
		}
		return c.title + " (running)"
	})
}

func checkCapture(L *glua.LState, n int) *luaCapture {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if c, ok := ud.Value.(*luaCapture); ok {
			return c
		}
	}
	argErr(L, n, "capture expected (what node:capture_start returns; call methods with a colon: c:stop())")
	return nil
}

// captureStart starts a capture in ns: on a link of node n (nil for a
// lab's hub), which node:stop ends with the node's processes.
func (s *Session) captureStart(L *glua.LState, ns *netlab.NS, n *netlab.Node, where string) int {
	ifname := argLinkName(L, 2)
	co, _ := captureOptions(L, false)
	c, err := capture.Start(ns.Do, ifname, co)
	if err != nil {
		return inputErr(L, 3, err)
	}
	lc := &luaCapture{c: c, node: n, title: captureTitle(ifname, where, co)}
	lc.item = s.Reg.Add("capture on "+ifname, func() error {
		lc.finish(context.Background())
		return nil
	})
	if n != nil {
		s.nodeCaptures = append(s.nodeCaptures, lc)
	}
	L.Push(newUD(L, captureType, lc))
	return 1
}

// endCaptures finishes the running captures on node n (node:stop): a
// capture's socket holds the node's network namespace, as a tcpdump
// running there would, and stopping a node ends what runs in it. Their
// frames stay for c:stop().
func (s *Session) endCaptures(n *netlab.Node) {
	keep := s.nodeCaptures[:0]
	for _, lc := range s.nodeCaptures {
		if lc.node != n {
			keep = append(keep, lc)
			continue
		}
		if !lc.done {
			lc.item.Forget()
			lc.finish(s.Context())
		}
	}
	s.nodeCaptures = keep
}

// finish stops the capture and keeps its result (once).
func (lc *luaCapture) finish(ctx context.Context) {
	if lc.done {
		return
	}
	lc.c.Stop()
	lc.result, lc.err = lc.c.Wait(ctx)
	lc.done = true
}

func (s *Session) captureStop(L *glua.LState) int {
	lc := checkCapture(L, 1)
	if !lc.done {
		lc.item.Forget()
		lc.finish(s.Context())
	}
	if lc.err != nil {
		return raiseErr(L, lc.err)
	}
	L.Push(framesTable(L, lc.result, lc.title))
	return 1
}

// frameTable converts a decoded frame.
func frameTable(L *glua.LState, f *capture.Frame) *glua.LTable {
	t := L.NewTable()
	t.RawSetString("n", glua.LNumber(f.N))
	t.RawSetString("time", glua.LNumber(f.Time.Seconds()))
	t.RawSetString("dir", glua.LString(f.Dir))
	t.RawSetString("pkttype", glua.LString(f.PktType))
	t.RawSetString("len", glua.LNumber(f.Len))
	t.RawSetString("proto", glua.LString(f.Proto))
	t.RawSetString("info", glua.LString(f.Info))
	sub := func(name string, kv ...any) {
		r := L.NewTable()
		for i := 0; i+1 < len(kv); i += 2 {
			switch v := kv[i+1].(type) {
			case string:
				if v != "" {
					r.RawSetString(kv[i].(string), glua.LString(v))
				}
			case int:
				r.RawSetString(kv[i].(string), glua.LNumber(v))
			case uint32:
				r.RawSetString(kv[i].(string), glua.LNumber(v))
			case bool:
				r.RawSetString(kv[i].(string), glua.LBool(v))
			}
		}
		t.RawSetString(name, r)
	}
	if e := f.Eth; e != nil {
		sub("eth", "src", e.Src, "dst", e.Dst, "type", e.Type)
	}
	if a := f.ARP; a != nil {
		sub("arp", "op", a.Op, "sender_mac", a.SenderMAC, "sender_ip", a.SenderIP, "target_mac", a.TargetMAC, "target_ip", a.TargetIP)
	}
	if ip := f.IP; ip != nil {
		sub("ip", "version", ip.Version, "src", ip.Src, "dst", ip.Dst, "proto", ip.Proto, "ttl", ip.TTL, "len", ip.Len, "id", ip.ID)
	}
	if c := f.ICMP; c != nil {
		sub("icmp", "type", c.Type, "code", c.Code, "name", c.Name, "id", c.ID, "seq", c.Seq, "target", c.Target)
	}
	if tc := f.TCP; tc != nil {
		sub("tcp", "src_port", tc.SrcPort, "dst_port", tc.DstPort, "flags", tc.Flags, "seq", tc.Seq, "ack", tc.Ack, "window", tc.Window, "len", tc.PayloadLen)
	}
	if u := f.UDP; u != nil {
		sub("udp", "src_port", u.SrcPort, "dst_port", u.DstPort, "len", u.Len)
	}
	return t
}
