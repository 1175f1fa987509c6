-- multihost.lua: one lab across two hosts over VXLAN, on one machine.
--
-- A lab that outgrows a machine spans several the way the kernel's own
-- overlay does it: each host's lab bridge gets a vxlan port
-- (lab:peer{remote=, vni=}), which wraps every Ethernet frame the bridge
-- sends it into a UDP packet (RFC 7348, port 4789) to the other host, whose
-- vxlan port unwraps it onto that host's bridge. The two bridges become one
-- Ethernet segment: ARP, pings and learning go across as on one bridge.
--
-- Here two network namespaces play the two hosts ("host A", "host B"),
-- joined by a veth pair as the network between them (the underlay,
-- 192.168.77.1 and .2, which exist inside those namespaces only). Each host
-- gets its lab in namespaces of its own. The vxlan device always sits in
-- the lab's outer namespace, on its bridge; where its UDP socket lives, and
-- the packets leave, is the underlay namespace, and the two hosts show the
-- two ways to have one:
--   host A keeps its underlay address in the host's namespace, and the
--     vxlan is made from there (underlay = the host's namespace; on a real
--     host, underlay = "here": the kernel keeps the socket in the namespace
--     that asked for the device, its "link-netns");
--   host B moves its underlay link into the lab's outer namespace (the
--     default underlay; on a real host, a macvlan of the NIC or the NIC).
-- docs/multihost.md has the set-up on real hosts.

section("Two hosts and the network between them")
local wan = net.lab{name = "mh-wan", pin = false, helpers = false}
local hostA, hostB = wan:node("hostA"), wan:node("hostB")
net.veth("ul", "ul", {ns = hostA, peer_ns = hostB})
net.addr("ul", "192.168.77.1/24", hostA)
net.addr("ul", "192.168.77.2/24", hostB)
net.up("ul", hostA); net.up("ul", hostB)
net.wait_up("ul", {ns = hostA}); net.wait_up("ul", {ns = hostB})
say("host A: ul 192.168.77.1/24, host B: ul 192.168.77.2/24 (a veth pair: the underlay)")
local rtts = net.ping("192.168.77.2", {ns = hostA, timeout = 2})
check(#rtts == 1, "host A reaches host B over the underlay")

-- One nsh holds both halves here, so the labs need two names; on real
-- hosts both nsh would build the same lab, name and all.
local function half(name, node, addr)
  local lab = net.lab{name = name, pin = false, helpers = false}
  lab:bridge("br0")
  lab:link(lab:node(node), "br0", {addr = addr})
  lab:wait()
  return lab
end

section("Host A: its lab, and a vxlan made from the host's namespace")
local labA = half("mh-a", "n1", "10.77.0.1/24")
local pa = labA:peer{remote = "192.168.77.2", vni = 77, underlay = hostA}
print(pa)
local vx = net.link("vx77", labA)
say("in lab mh-a's outer namespace: %s, mtu %d, master %s", vx.name, vx.mtu, vx.master)
check(vx.master == "br0" and vx.type == "vxlan", "the vxlan device is a port of the lab bridge, in the lab's outer namespace")
check(pa.underlay_dev == "ul" and pa.mtu == 1450, "its packets leave by host A's ul: 1500 bytes less 50 of encapsulation = 1450")
local udpA = hostA:run("cat /proc/net/udp")
check(udpA:find(":12B5 ") ~= nil, "host A's namespace has the UDP socket on 4789 (0x12B5 in /proc/net/udp)")
check(not labA.n1:run("cat /proc/net/udp"):find(":12B5 "), "the lab's node has none: the lab's namespaces stay the lab's")

section("Host B: the underlay link moved into the lab's outer namespace")
local labB = half("mh-b", "n2", "10.77.0.2/24")
net.setns("ul", labB, hostB)
net.addr("ul", "192.168.77.2/24", labB) -- a move takes the link down and drops its addresses
net.up("ul", labB)
net.wait_up("ul", {ns = labB})
local pb = labB:peer{remote = "192.168.77.1", src = "192.168.77.2", vni = 77}
print(pb)
check(pb.underlay == "mh-b (outer)", "host B's vxlan sends from the lab's own outer namespace (the default underlay)")

section("A node on host A pings a node on host B")
local t = labA.n1:ping("10.77.0.2", {timeout = 3})
check(#t == 1, "n1 (host A, 10.77.0.1) reaches n2 (host B, 10.77.0.2) across the vxlan", tostring(t[1]))
check(#labB.n2:ping("10.77.0.1", {timeout = 3}) == 1, "and n2 reaches n1")
local mac2 = net.link("eth0", labB.n2).mac
local neigh = labA.n1:run("ip neigh show 10.77.0.2")
io.write("  n1$ ip neigh show 10.77.0.2\n  ", neigh)
check(neigh:find(mac2, 1, true) ~= nil, "n1 learnt n2's own MAC by ARP: one Ethernet segment, not a routed hop")
local e1 = net.link("eth0", labA.n1)
check(e1.mtu == 1450, "n1's link got the vxlan's MTU, so its full-sized frames fit one underlay packet", e1.mtu)

section("Closing host A's lab frees its UDP port")
labA:close()
check(not hostA:run("cat /proc/net/udp"):find(":12B5 "), "host A's namespace has no socket on 4789 any more")
labB:close()
wan:close()
finish()
