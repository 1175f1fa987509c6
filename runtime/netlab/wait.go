package netlab

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// operReady: the kernel's link watcher has processed the link (it sets the
// operstate and attaches the real qdisc at the same time); until then
// packets sent on it are dropped, and a lost first ARP costs a 1 s retry.
func operReady(l netlink.Link) bool {
	a := l.Attrs()
	if a.RawFlags&unix.IFF_UP == 0 {
		return false
	}
	switch a.OperState {
	case netlink.OperUp:
		return true
	case netlink.OperUnknown: // lo and drivers that do not report operstate
		return a.RawFlags&unix.IFF_LOWER_UP != 0
	}
	return false
}

// WaitUp waits until every named link is up with operstate UP (the link
// watcher has run and the link can carry packets). Like WaitForwarding it
// listens to RTNLGRP_LINK notifications instead of sleeping.
func (ns *NS) WaitUp(timeout time.Duration, names ...string) error {
	return ns.waitLinks(time.Now().Add(timeout), names, nil)
}

// waitLinks waits until each link in names is operReady, and each link
// index in ports also (as a bridge port) forwarding. names nil and ports
// nil: nothing to wait for.
func (ns *NS) waitLinks(deadline time.Time, names []string, ports map[int]bool) error {
	pending := map[string]bool{}
	for _, n := range names {
		pending[n] = true
	}
	portPending := map[int]bool{}
	for i := range ports {
		portPending[i] = true
	}
	check := func() error {
		ls, err := ns.h.LinkList()
		if err != nil {
			return kerr.Newf(err, linkRules, "link list in %s", ns.name)
		}
		seen := map[string]bool{}
		for _, l := range ls {
			seen[l.Attrs().Name] = true
			if pending[l.Attrs().Name] && operReady(l) {
				delete(pending, l.Attrs().Name)
			}
		}
		for n := range pending {
			if !seen[n] {
				return kerr.Newf(unix.ENODEV, linkRules, "wait for %s in %s", n, ns.name)
			}
		}
		if len(portPending) > 0 {
			states, err := ns.portStates()
			if err != nil {
				return err
			}
			for i := range portPending {
				if states[i] == PortForwarding {
					delete(portPending, i)
				}
			}
		}
		return nil
	}
	if err := check(); err != nil || (len(pending) == 0 && len(portPending) == 0) {
		return err
	}
	var sub *nl.NetlinkSocket
	err := ns.Do(func() (err error) {
		sub, err = nl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_LINK)
		return err
	})
	if err != nil {
		return kerr.New("subscribe to link events in "+ns.name, err, nil)
	}
	defer sub.Close()
	// Re-check after subscribing so no change falls in between.
	if err := check(); err != nil {
		return err
	}
	for len(pending) > 0 || len(portPending) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			var what []string
			for n := range pending {
				what = append(what, n)
			}
			for i := range portPending {
				what = append(what, fmt.Sprintf("port ifindex %d not forwarding", i))
			}
			sort.Strings(what)
			return fmt.Errorf("netlab: waiting in %s: timed out; not ready: %s", ns.name, strings.Join(what, ", "))
		}
		tv := unix.NsecToTimeval(left.Nanoseconds())
		if tv.Sec == 0 && tv.Usec == 0 {
			tv.Usec = 1
		}
		if err := sub.SetReceiveTimeout(&tv); err != nil {
			return kerr.New("SO_RCVTIMEO", err, nil)
		}
		msgs, _, err := sub.Receive()
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.ENOBUFS) { // events lost: look again
				if err := check(); err != nil {
					return err
				}
				continue
			}
			return kerr.New("receive link events in "+ns.name, err, nil)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
				continue
			}
			if nl.DeserializeIfInfomsg(m.Data).Family == unix.AF_BRIDGE {
				if i, st, ok := parsePortState(m.Data); ok && st == PortForwarding {
					delete(portPending, i)
				}
				continue
			}
			l, err := netlink.LinkDeserialize(nil, m.Data)
			if err == nil && pending[l.Attrs().Name] && operReady(l) {
				delete(pending, l.Attrs().Name)
			}
		}
	}
	return nil
}
