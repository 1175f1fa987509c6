package netlab

import (
	"errors"
	"fmt"
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// Bridge port states (include/uapi/linux/if_bridge.h BR_STATE_*).
const (
	PortDisabled   = 0
	PortListening  = 1
	PortLearning   = 2
	PortForwarding = 3
	PortBlocking   = 4
)

func portStateName(s uint8) string {
	switch s {
	case PortDisabled:
		return "disabled"
	case PortListening:
		return "listening"
	case PortLearning:
		return "learning"
	case PortForwarding:
		return "forwarding"
	case PortBlocking:
		return "blocking"
	}
	return fmt.Sprintf("state %d", s)
}

// AddBridge creates a bridge (STP off, the kernel default). With
// forwardDelayZero its forward_delay is 0 so new ports forward at once
// instead of spending forward_delay (default 15 s) in the learning state.
// The bridge is created down; SetUp it.
func (ns *NS) AddBridge(name string, forwardDelayZero bool) error {
	if err := CheckIfName(name); err != nil {
		return err
	}
	call := "link add " + name + " type bridge"
	if forwardDelayZero {
		call += " forward_delay 0"
	}
	req, err := ns.request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	if err != nil {
		return err
	}
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
	if forwardDelayZero {
		data := li.AddRtAttr(nl.IFLA_INFO_DATA, nil)
		data.AddRtAttr(nl.IFLA_BR_FORWARD_DELAY, nl.Uint32Attr(0))
	}
	req.AddData(li)
	_, err = req.Execute(unix.NETLINK_ROUTE, 0)
	return kerr.New(call, err, linkRules)
}

// portStates dumps the bridge port state of every bridge port in ns
// (RTM_GETLINK with family AF_BRIDGE: IFLA_PROTINFO/IFLA_BRPORT_STATE).
func (ns *NS) portStates() (map[int]uint8, error) {
	req, err := ns.request(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	if err != nil {
		return nil, err
	}
	req.AddData(nl.NewIfInfomsg(unix.AF_BRIDGE))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil {
		return nil, kerr.Newf(err, linkRules, "bridge link show in %s", ns.name)
	}
	out := map[int]uint8{}
	for _, m := range msgs {
		if idx, st, ok := parsePortState(m); ok {
			out[idx] = st
		}
	}
	return out, nil
}

// parsePortState reads an AF_BRIDGE RTM_NEWLINK payload.
func parsePortState(m []byte) (index int, state uint8, ok bool) {
	if len(m) < unix.SizeofIfInfomsg {
		return 0, 0, false
	}
	ifi := nl.DeserializeIfInfomsg(m)
	if ifi.Family != unix.AF_BRIDGE {
		return 0, 0, false
	}
	attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
	if err != nil {
		return 0, 0, false
	}
	for _, a := range attrs {
		if a.Attr.Type&nlaTypeMask != unix.IFLA_PROTINFO {
			continue
		}
		inner, err := nl.ParseRouteAttr(a.Value)
		if err != nil {
			return 0, 0, false
		}
		for _, b := range inner {
			if b.Attr.Type&nlaTypeMask == nl.IFLA_BRPORT_STATE && len(b.Value) >= 1 {
				return int(ifi.Index), b.Value[0], true
			}
		}
	}
	return 0, 0, false
}

// PortState is the bridge port state of link port ("forwarding", ...).
func (ns *NS) PortState(port string) (string, error) {
	l, err := ns.byName(port)
	if err != nil {
		return "", err
	}
	states, err := ns.portStates()
	if err != nil {
		return "", err
	}
	st, ok := states[l.Attrs().Index]
	if !ok {
		return "", fmt.Errorf("netlab: %s is not a bridge port", port)
	}
	return portStateName(st), nil
}

// WaitForwarding waits until bridge port port is in the forwarding state.
// It does not sleep: it listens to the namespace's RTNLGRP_LINK
// notifications (the bridge announces every port state change there) and
// checks the state after subscribing, so no change is missed.
func (ns *NS) WaitForwarding(port string, timeout time.Duration) error {
	l, err := ns.byName(port)
	if err != nil {
		return err
	}
	idx := l.Attrs().Index
	call := fmt.Sprintf("wait %s forwarding", port)
	var sub *nl.NetlinkSocket
	err = ns.Do(func() (err error) {
		sub, err = nl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_LINK)
		return err
	})
	if err != nil {
		return kerr.New(call+": subscribe", err, nil)
	}
	defer sub.Close()
	states, err := ns.portStates()
	if err != nil {
		return err
	}
	st, isPort := states[idx]
	if !isPort {
		return fmt.Errorf("netlab: %s: %s is not a bridge port", call, port)
	}
	deadline := time.Now().Add(timeout)
	for st != PortForwarding {
		left := time.Until(deadline)
		if left <= 0 {
			hint := ""
			if st == PortDisabled {
				hint = ": a port is disabled while it or its bridge is down or has no carrier (is the veth peer up?)"
			} else if st == PortLearning || st == PortListening {
				hint = ": the port waits forward_delay before forwarding (make the bridge with forward_delay 0)"
			}
			return fmt.Errorf("%s: timed out after %v in state %s%s", call, timeout, portStateName(st), hint)
		}
		tv := unix.NsecToTimeval(left.Nanoseconds())
		if tv.Sec == 0 && tv.Usec == 0 {
			tv.Usec = 1
		}
		if err := sub.SetReceiveTimeout(&tv); err != nil {
			return kerr.New(call+": SO_RCVTIMEO", err, nil)
		}
		msgs, _, err := sub.Receive()
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.ENOBUFS) { // notifications lost: re-read
				if states, err = ns.portStates(); err == nil {
					st = states[idx]
				}
				continue
			}
			return kerr.New(call+": receive", err, nil)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_NEWLINK {
				continue
			}
			if i, s, ok := parsePortState(m.Data); ok && i == idx {
				st = s
			}
		}
	}
	return nil
}

// nlaTypeMask strips NLA_F_NESTED and NLA_F_NET_BYTEORDER from an attribute type.
const nlaTypeMask = 0x3fff

// BridgeOptions says how NewBridge makes a bridge.
type BridgeOptions struct {
	// KeepForwardDelay keeps the kernel's forward_delay (15 s of listening
	// and learning per new port) instead of 0.
	KeepForwardDelay bool
	CIDR             string // an address for it, "" for none
	Up               bool
}

// NewBridge makes a bridge (AddBridge), gives it o.CIDR and brings it up
// as o says.
func (ns *NS) NewBridge(name string, o BridgeOptions) error {
	if err := ns.AddBridge(name, !o.KeepForwardDelay); err != nil {
		return err
	}
	if o.CIDR != "" {
		if err := ns.AddAddr(name, o.CIDR, true); err != nil {
			return err
		}
	}
	if o.Up {
		return ns.SetUp(name)
	}
	return nil
}
