package netlab

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// A router forwards IPv6 only once its links' link-local addresses have
// left duplicate address detection: to resolve the next hop of a packet it
// forwards, the kernel sends its neighbour solicitation from a link-local
// address of the outgoing link (ndisc_send_ns: ipv6_get_lladdr without
// IFA_F_TENTATIVE), and sends none while that address is tentative; the
// packet waits for the next try, a second or two later. Lab addresses are
// nodad, but the kernel's own fe80:: ones are not, and nsh leaves them so.

// WaitDAD waits until no IPv6 address in ns is tentative (IFA_F_TENTATIVE),
// listening to RTNLGRP_IPV6_IFADDR (the kernel announces the end of DAD
// there) instead of sleeping. A namespace with IPv6 off has none to wait for.
func (ns *NS) WaitDAD(timeout time.Duration) error {
	call := "wait for IPv6 duplicate address detection in " + ns.name
	var sub *nl.NetlinkSocket
	err := ns.Do(func() (err error) {
		sub, err = nl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_IPV6_IFADDR)
		return err
	})
	if err != nil {
		return kerr.New(call+": subscribe", err, nil)
	}
	defer sub.Close()
	deadline := time.Now().Add(timeout)
	for {
		tentative, err := ns.tentativeAddrs()
		if err != nil {
			return err
		}
		if len(tentative) == 0 {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s: still tentative after %v: %s", call, timeout, strings.Join(tentative, ", "))
		}
		tv := unix.NsecToTimeval(left.Nanoseconds())
		if tv.Sec == 0 && tv.Usec == 0 {
			tv.Usec = 1
		}
		if err := sub.SetReceiveTimeout(&tv); err != nil {
			return kerr.New(call+": SO_RCVTIMEO", err, nil)
		}
		// any notification (or a timeout, or lost ones) is a reason to look again
		if _, _, err := sub.Receive(); err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.ENOBUFS) {
			return kerr.New(call+": receive", err, nil)
		}
	}
}

// tentativeAddrs lists the IPv6 addresses of ns still in DAD.
func (ns *NS) tentativeAddrs() ([]string, error) {
	as, err := ns.h.AddrList(nil, netlink.FAMILY_V6)
	if err != nil {
		return nil, kerr.Newf(err, addrRules, "addr show in %s", ns.name)
	}
	var out []string
	for _, a := range as {
		if a.Flags&unix.IFA_F_TENTATIVE != 0 && a.Flags&unix.IFA_F_DADFAILED == 0 {
			out = append(out, a.IPNet.String())
		}
	}
	return out, nil
}
