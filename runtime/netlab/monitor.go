package netlab

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"nsh/runtime/kerr"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Event is one rtnetlink notification, as `ip monitor` shows it: a link,
// address or route that was added or changed ("new") or removed ("del") in
// the namespace the monitor listens in.
type Event struct {
	Kind   string // "link", "addr", "route"
	Action string // "new" (added or changed) or "del"
	// link
	Name   string
	Index  int
	Type   string // "veth", "bridge", "dummy", ...
	State  string // operstate: "up", "down", "lowerlayerdown", "unknown", ...
	Up     bool   // IFF_UP
	Master int    // ifindex of the bridge it is enslaved to, 0 for none
	// addr
	Addr    string // "10.0.0.1/24"
	IfIndex int
	IfName  string // the link's name when it still exists
	// route
	Dst   string // "default" or a CIDR
	Gw    string
	Table int
	Proto string // "kernel", "boot", "static", ...
}

// Kinds selects what a monitor listens to.
type Kinds struct{ Links, Addrs, Routes bool }

// Monitor receives the rtnetlink multicast groups RTNLGRP_LINK, RTNLGRP_IPV4/6_IFADDR
// and RTNLGRP_IPV4/6_ROUTE from sockets opened inside a namespace (netlink's
// *SubscribeWithOptions on a thread inside it): the sockets stay in
// that namespace whatever thread reads them. Close (or the end of its
// namespace's last user) ends it.
type Monitor struct {
	ns     *NS
	links  chan netlink.LinkUpdate
	addrs  chan netlink.AddrUpdate
	routes chan netlink.RouteUpdate
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	err    error

	// OnClose runs once, after Close (the caller's release of ns).
	OnClose func()
}

var monitorRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "entering a network namespace needs CAP_SYS_ADMIN over its owning user namespace"},
}

// Monitor starts listening in ns. The sockets belong to the monitor; ns
// must stay open until Close.
func (ns *NS) Monitor(k Kinds) (*Monitor, error) {
	if !k.Links && !k.Addrs && !k.Routes {
		return nil, errors.New("nothing to monitor: links, addrs and routes are all false")
	}
	m := &Monitor{ns: ns, done: make(chan struct{})}
	onErr := func(err error) {
		m.mu.Lock()
		if m.err == nil {
			m.err = err
		}
		m.mu.Unlock()
	}
	fail := func(what string, err error) (*Monitor, error) {
		m.Close()
		return nil, kerr.Newf(err, monitorRules, "netlink subscribe (%s) in %s", what, ns.name)
	}
	// The sockets are made on a thread inside ns (NS.Do: moved there and
	// back, or a throwaway thread where it cannot come back), not with
	// netlink's Namespace option: that moves the calling thread and ignores
	// a failed move back, so where nsh may not re-enter its own namespace
	// (an ordinary user's nsh, in a user namespace of its own) a thread
	// would stay in ns, holding it alive and serving other goroutines there.
	const buf = 256
	var what string
	err := ns.Do(func() error {
		if k.Links {
			what = "links"
			m.links = make(chan netlink.LinkUpdate, buf)
			if err := netlink.LinkSubscribeWithOptions(m.links, m.done, netlink.LinkSubscribeOptions{ErrorCallback: onErr}); err != nil {
				return err
			}
		}
		if k.Addrs {
			what = "addrs"
			m.addrs = make(chan netlink.AddrUpdate, buf)
			if err := netlink.AddrSubscribeWithOptions(m.addrs, m.done, netlink.AddrSubscribeOptions{ErrorCallback: onErr}); err != nil {
				return err
			}
		}
		if k.Routes {
			what = "routes"
			m.routes = make(chan netlink.RouteUpdate, buf)
			if err := netlink.RouteSubscribeWithOptions(m.routes, m.done, netlink.RouteSubscribeOptions{ErrorCallback: onErr}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail(what, err)
	}
	return m, nil
}

// Close ends the monitor and closes its sockets. A second Close does nothing.
func (m *Monitor) Close() {
	m.once.Do(func() {
		close(m.done)
		if m.OnClose != nil {
			m.OnClose()
		}
	})
}

// Closed reports whether Close was called.
func (m *Monitor) Closed() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// errMonitorClosed is Next's answer after Close.
var errMonitorClosed = errors.New("the monitor is closed")

// ErrMonitorTimeout is Next's answer when the deadline passed.
var ErrMonitorTimeout = errors.New("monitor deadline passed")

// Next waits for the next event until ctx ends or deadline (zero: none).
func (m *Monitor) Next(ctx context.Context, deadline time.Time) (Event, error) {
	var timer <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timer = t.C
	}
	for {
		m.mu.Lock()
		err := m.err
		m.mu.Unlock()
		if err != nil {
			return Event{}, fmt.Errorf("netlink monitor in %s: %w", m.ns.name, err)
		}
		// closed wins over an event still buffered (select picks at random
		// among ready cases)
		select {
		case <-m.done:
			return Event{}, errMonitorClosed
		default:
		}
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-timer:
			return Event{}, ErrMonitorTimeout
		case <-m.done:
			return Event{}, errMonitorClosed
		case u, ok := <-m.links:
			if !ok {
				m.links = nil
				continue
			}
			return linkEvent(u), nil
		case u, ok := <-m.addrs:
			if !ok {
				m.addrs = nil
				continue
			}
			return m.addrEvent(u), nil
		case u, ok := <-m.routes:
			if !ok {
				m.routes = nil
				continue
			}
			return m.routeEvent(u), nil
		}
	}
}

func action(del bool) string {
	if del {
		return "del"
	}
	return "new"
}

func linkEvent(u netlink.LinkUpdate) Event {
	a := u.Link.Attrs()
	return Event{
		Kind: "link", Action: action(u.Header.Type == unix.RTM_DELLINK),
		Name: a.Name, Index: a.Index, Type: u.Link.Type(), State: a.OperState.String(),
		Up: a.Flags&(1<<0) != 0, Master: a.MasterIndex,
	}
}

func (m *Monitor) addrEvent(u netlink.AddrUpdate) Event {
	e := Event{Kind: "addr", Action: action(!u.NewAddr), Addr: u.LinkAddress.String(), IfIndex: u.LinkIndex}
	if l, err := m.ns.h.LinkByIndex(u.LinkIndex); err == nil {
		e.IfName = l.Attrs().Name
	}
	return e
}

func (m *Monitor) routeEvent(u netlink.RouteUpdate) Event {
	r := u.Route
	e := Event{Kind: "route", Action: action(u.Type == unix.RTM_DELROUTE), Dst: "default", IfIndex: r.LinkIndex, Table: r.Table, Proto: r.Protocol.String()}
	if r.Dst != nil {
		e.Dst = r.Dst.String()
	}
	if r.Gw != nil {
		e.Gw = r.Gw.String()
	}
	if l, err := m.ns.h.LinkByIndex(r.LinkIndex); err == nil {
		e.IfName = l.Attrs().Name
	}
	return e
}
