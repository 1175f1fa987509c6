package lua

import (
	"errors"
	"runtime"
	"time"
	"weak"

	"nsh/runtime/netlab"

	glua "github.com/yuin/gopher-lua"
)

// net.monitor: an iterator over rtnetlink events (runtime/netlab.Monitor).
// Its sockets close when the loop ends (deadline, count, error, Ctrl-C),
// when the iterator is garbage, or when the session ends.

// monitorFunc is the record of net.monitor (listed in net.go).
func (s *Session) monitorFunc() Func {
	return Func{Name: "monitor", Fn: s.netMonitor, Args: "([where], [{links=, addrs=, routes=, timeout=, count=}])",
		Doc: "An iterator (for ev in net.monitor(...) do) of the link, address and route events of a network namespace, what `ip monitor` prints: " +
			"{kind=\"link\", action=\"new\"|\"del\", name=, index=, type=, state=, up=, master=}, {kind=\"addr\", action=, addr=\"10.0.0.1/24\", ifindex=, ifname=}, " +
			"{kind=\"route\", action=, dst=, gw=, ifindex=, ifname=, table=, proto=}. \"new\" is an addition or a change (a link going up), \"del\" a removal: " +
			"a veth end moved to another namespace, or destroyed with its peer's namespace, is a link \"del\". " +
			"Options: links, addrs, routes (what to watch; all three when none is given), timeout (seconds until the loop ends), count (events until it ends), ns (the where). " +
			"Ctrl-C ends the loop; its netlink sockets are closed when the loop ends and when the session ends. The second value returned, stop(), closes them at once: " +
			"call it after leaving the loop with break, since a socket holds the namespace it was made in (as a process does), so an open monitor keeps the " +
			"namespace, and its veths, alive (garbage collection closes a forgotten one, later).",
		Example: "ns.unshare(\"net\")\nlocal h = ns.clone({}, function() sys.sleep(0.2); net.up(\"lo\") end)\n" +
			"for ev in net.monitor({links = true, timeout = 5, count = 1}) do print(ev.kind, ev.action, ev.name, ev.state) end\nh:wait()"}
}

// monitorRef is what the iterator holds: when it is garbage, the monitor closes.
type monitorRef struct{ m *netlab.Monitor }

func (s *Session) netMonitor(L *glua.LState) int {
	where, optN := L.Get(1), 2
	if _, ok := where.(*glua.LTable); ok {
		where, optN = glua.LNil, 1
	}
	o := argOptions(L, optN, "links", "addrs", "routes", "timeout", "count", "ns")
	if o.Has("ns") {
		if where != glua.LNil {
			return argErr(L, optN, "option ns and a where argument both given: use one")
		}
		where = o.Value("ns")
	}
	k := netlab.Kinds{Links: o.Bool("links", false), Addrs: o.Bool("addrs", false), Routes: o.Bool("routes", false)}
	if !o.Has("links") && !o.Has("addrs") && !o.Has("routes") {
		k = netlab.Kinds{Links: true, Addrs: true, Routes: true}
	}
	if !k.Links && !k.Addrs && !k.Routes {
		return argErr(L, optN, "nothing to watch: links, addrs and routes are all false")
	}
	var deadline time.Time
	if o.Has("timeout") {
		deadline = time.Now().Add(time.Duration(o.Number("timeout", 0, 0, 365*24*3600) * float64(time.Second)))
	}
	count := o.Int("count", 0, 1, 1<<30)
	ns, release := s.netOpen(L, where, 1)
	m, err := ns.Monitor(k)
	if err != nil {
		release()
		return raiseErr(L, err)
	}
	m.OnClose = release
	ref := &monitorRef{m: m}
	runtime.AddCleanup(ref, func(m *netlab.Monitor) { m.Close() }, m)
	s.monitors = append(s.monitors, weak.Make(ref))
	seen := 0
	L.Push(L.NewFunction(func(L *glua.LState) int {
		// the end is an explicit nil: gopher-lua's generic for may read a
		// stale register after a function that returns nothing
		if ref.m.Closed() || (count > 0 && seen >= count) {
			ref.m.Close()
			L.Push(glua.LNil)
			return 1
		}
		ev, err := ref.m.Next(s.Context(), deadline)
		switch {
		case errors.Is(err, netlab.ErrMonitorTimeout):
			ref.m.Close()
			L.Push(glua.LNil)
			return 1
		case err != nil:
			ref.m.Close()
			return raiseErr(L, err)
		}
		seen++
		if count > 0 && seen >= count {
			ref.m.Close()
		}
		L.Push(eventTable(L, ev))
		return 1
	}))
	// stop closes the sockets at once: each holds its namespace (a socket
	// keeps the network namespace it was made in alive, as a process does),
	// so a loop left with break would otherwise keep it until garbage
	L.Push(L.NewFunction(func(L *glua.LState) int {
		ref.m.Close()
		return 0
	}))
	return 2
}

func eventTable(L *glua.LState, ev netlab.Event) *glua.LTable {
	t := L.NewTable()
	set := func(k string, v glua.LValue) { t.RawSetString(k, v) }
	set("kind", glua.LString(ev.Kind))
	set("action", glua.LString(ev.Action))
	str := func(k, v string) {
		if v != "" {
			set(k, glua.LString(v))
		}
	}
	switch ev.Kind {
	case "link":
		str("name", ev.Name)
		set("index", glua.LNumber(ev.Index))
		str("type", ev.Type)
		str("state", ev.State)
		set("up", glua.LBool(ev.Up))
		set("master", glua.LNumber(ev.Master))
	case "addr":
		str("addr", ev.Addr)
		set("ifindex", glua.LNumber(ev.IfIndex))
		str("ifname", ev.IfName)
	case "route":
		str("dst", ev.Dst)
		str("gw", ev.Gw)
		set("ifindex", glua.LNumber(ev.IfIndex))
		str("ifname", ev.IfName)
		set("table", glua.LNumber(ev.Table))
		str("proto", ev.Proto)
	}
	return t
}

// closeMonitors closes the monitors still open (session end).
func (s *Session) closeMonitors() {
	for _, w := range s.monitors {
		if r := w.Value(); r != nil {
			r.m.Close()
		}
	}
	s.monitors = nil
}
