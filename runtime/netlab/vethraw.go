package netlab

import (
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/vishvananda/netlink/nl"

	"nsh/runtime/kerr"
)

// addVethLab makes a lab link's veth pair in one RTM_NEWLINK, as `ip link
// add NAME master BRIDGE up type veth peer name PEER netns NS` does: the
// near end enslaved (IFLA_MASTER, which the kernel applies at creation) and
// up, the peer created in its namespace (down: the caller brings it up). netlink.LinkAdd would make three
// requests of it: the create, a lookup of the new index (ensureIndex) and a
// separate set-master ("can't set master during create", which the kernel
// has allowed for years); per node of a lab that was 16% of the CPU.
func (ns *NS) addVethLab(name, peerName string, peerNS *NS, masterIndex int) error {
	call := "link add " + name + " master ifindex " + strconv.Itoa(masterIndex) + " up type veth peer name " + peerName + " netns " + peerNS.name
	req, err := ns.request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	if err != nil {
		return err
	}
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Flags, msg.Change = unix.IFF_UP, unix.IFF_UP
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(masterIndex))))
	li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("veth"))
	data := li.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	peer := data.AddRtAttr(nl.VETH_INFO_PEER, nil)
	nl.NewIfInfomsgChild(peer, unix.AF_UNSPEC) // no IFF_UP: veth_open of the peer would fail (ENOTCONN) before the pair is joined
	peer.AddRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(peerName))
	peer.AddRtAttr(unix.IFLA_NET_NS_FD, nl.Uint32Attr(uint32(peerNS.fd)))
	req.AddData(li)
	_, err = req.Execute(unix.NETLINK_ROUTE, 0)
	return kerr.New(call, err, linkRules)
}
