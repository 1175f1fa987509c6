package lua

import (
	"fmt"

	"nsh/runtime/netlab"

	glua "github.com/yuin/gopher-lua"
)

// lab:peer, the lab spanning hosts over VXLAN (runtime/netlab/peer.go).

var labPeerDoc = "Joins a lab bridge to the same lab on another host over VXLAN: a vxlan device (default name vxVNI) in the lab's " +
	"outer namespace, enslaved to the bridge (default: the lab's only one), sending the bridge's frames as UDP to remote " +
	"(the other host's underlay address) on port (default 4789, IANA's; open it between the hosts), VNI vni (1..16777215, " +
	"the same on both hosts), from src (iproute2's local, a Lua keyword; default: the route's source). underlay is the namespace that holds the underlay " +
	"address, where the vxlan's UDP socket lives and its packets leave: by default the lab's outer namespace (nothing " +
	"leaves it unless you put an underlay link there: a veth, a macvlan or a NIC moved in), or a namespace as for net.* ns= " +
	"(a lab, a node, a pid, a path or pin name), or \"here\": the shell's own (on a real host, the host's network; the " +
	"device still sits in the lab's namespace, `ip -d link` shows its link-netns). mtu (default: the underlay link's MTU " +
	"less 50 bytes of encapsulation, 70 over IPv6) goes to the vxlan and to every lab link on the bridge, later ones too, " +
	"so full-sized frames fit one underlay packet. Returns {name=, bridge=, remote=, src=, vni=, port=, mtu=, underlay=, " +
	"underlay_dev=, underlay_mtu=} (docs/multihost.md)."

const labPeerExample = "-- an underlay address in the lab's outer namespace (on a real host: a NIC or macvlan moved in)\n" +
	"net.veth(\"ul0\", \"ul1\", {ns = lab, up = true})\nnet.addr(\"ul0\", \"192.168.77.1/24\", lab)\n" +
	"local p = lab:peer{remote = \"192.168.77.2\", vni = 42}\nprint(p.name, p.mtu) --> vx42 1450"

func (s *Session) labPeer(L *glua.LState) int {
	l := checkOpenLab(L, 1).l
	if _, ok := L.Get(2).(*glua.LTable); !ok {
		return argErr(L, 2, "a table {remote=, vni=, ...} expected, e.g. lab:peer{remote = \"192.168.77.2\", vni = 42}")
	}
	o := argOptions(L, 2, "remote", "vni", "src", "port", "bridge", "name", "mtu", "underlay")
	if !o.Has("remote") || !o.Has("vni") {
		return argErr(L, 2, "options remote= (the other host's underlay address) and vni= (1..16777215) are required")
	}
	po := netlab.PeerOptions{Remote: o.String("remote", ""), VNI: o.Int("vni", 0, 1, 1<<24-1), Local: o.String("src", ""),
		Port: o.Int("port", netlab.VXLANPort, 1, 65535), Bridge: o.String("bridge", ""), Name: o.String("name", ""),
		MTU: o.Int("mtu", 0, 68, 65535)}
	if po.Bridge != "" && !l.HasBridge(po.Bridge) {
		var names []string
		for _, b := range l.Bridges() {
			names = append(names, b.Name)
		}
		return argErr(L, 2, fmt.Sprintf("option bridge: lab %s has no bridge %q (bridges: %s)", l.Name(), po.Bridge, orNone(names)))
	}
	done := func() {}
	switch v := o.Value("underlay").(type) {
	case *glua.LNilType:
	case glua.LString:
		if v == "here" {
			po.Underlay, done = s.netOpen(L, glua.LNil, 2)
			break
		}
		po.Underlay, done = s.netOpen(L, v, 2)
	default:
		po.Underlay, done = s.netOpen(L, v, 2)
	}
	defer done()
	p, err := l.Peer(po)
	if err != nil {
		return inputErr(L, 2, err)
	}
	t := L.NewTable()
	for k, v := range map[string]string{"name": p.Name, "bridge": p.Bridge, "remote": p.Remote, "src": p.Local,
		"underlay": p.Underlay, "underlay_dev": p.UnderlayDev} {
		t.RawSetString(k, glua.LString(v))
	}
	for k, v := range map[string]int{"vni": p.VNI, "port": p.Port, "mtu": p.MTU, "underlay_mtu": p.UnderlayMTU} {
		t.RawSetString(k, glua.LNumber(v))
	}
	L.Push(withText(L, t, fmt.Sprintf("%s: vxlan id %d remote %s (from %s) dstport %d mtu %d, master %s; underlay %s in %s (mtu %d)",
		p.Name, p.VNI, p.Remote, dashIfEmpty(p.Local), p.Port, p.MTU, p.Bridge, p.UnderlayDev, p.Underlay, p.UnderlayMTU)))
	return 1
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
