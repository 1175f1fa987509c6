-- topologies.lua: Mininet's canned topologies in one call, a lab read from a
-- description with a router between two subnets, and the link types beyond
-- veth that this kernel has (and the clear error for those it lacks).
--
-- Switches are bridges in the lab's outer network namespace, hosts are
-- network namespaces joined to them by veth pairs, a patch between two
-- switches is a veth pair with each end a port of one bridge. A router is a
-- node whose net.ipv4.ip_forward is 1 in its own namespace: /proc/sys/net
-- belongs to the network namespace of whoever opens it, so nothing outside
-- the node changes. Everything lives in namespaces the script made; the
-- shell's own network namespace never sees a link, address or sysctl.

local function count_ports(lab)
  local ports, patches = 0, 0
  for _, l in ipairs(net.links(lab)) do
    if l.master then
      ports = ports + 1
      if l.name:match("^s%d+%-s%d+$") then patches = patches + 1 end
    end
  end
  return ports, patches
end

local mine_before = #net.links()
local fwd_file = "/proc/sys/net/ipv4/ip_forward"
local function read(path) local f = assert(io.open(path)); local s = f:read("*l"); f:close(); return s end
local my_forward = read(fwd_file)

section("Canned topologies in one call: net.topo (Mininet's --topo)")
for _, c in ipairs{
  {"single,3", 3, 1, 0},     -- 3 hosts on switch s1
  {"linear,4", 4, 4, 3},     -- s1-s2-s3-s4, one host each
  {"tree,2,3", 9, 4, 3},     -- s1 above s2..s4, 3 hosts under each
  {"star,3", 4, 3, 0},       -- router r1, a subnet per host
} do
  local spec, nodes, switches, patches = c[1], c[2], c[3], c[4]
  local lab = net.topo(spec)
  local ports, npatch = count_ports(lab)
  say("net.topo(%q): %s; %d bridge ports in the hub, %d of them patch ends", spec, tostring(lab), ports, npatch)
  local nb = 0
  for _, l in ipairs(net.links(lab)) do if l.type == "bridge" then nb = nb + 1 end end
  check(#lab:nodes() == nodes and nb == switches and npatch == 2 * patches,
    string.format("%s has %d nodes, %d switches and %d patches (two ends each)", spec, nodes, switches, patches))
  local r = lab:pingall()
  check(#r.failed == 0 and r.ok == nodes * (nodes - 1), string.format("%s: pingall, %d of %d pings answered", spec, r.ok, r.sent))
  if spec == "tree,2,3" then print(lab:view()) end
  if spec == "star,3" then
    check(lab.h1.ip == "10.0.1.2" and lab.r1.router and not lab.h1.router, "star: h1 is 10.0.1.2 on a subnet of its own; r1 is a router, h1 is not")
  end
  if spec == "single,3" then
    check(lab.h1.ip == "10.0.0.1" and lab.h3.ip == "10.0.0.3", "hosts have Mininet's addresses, 10.0.0.1/8 upward")
  end
  lab:close()
end

section("A lab from a description: two subnets joined by router r1")
local description = [[
-- each entry holds the arguments of the call that would make it by hand
return {
  name = "routed",
  bridges = {"lan1", "lan2"},                                   -- lab:bridge(name)
  nodes = {                                                     -- lab:node(name, {...})
    {"h1", links = {{"lan1", addr = "10.0.1.10/24"}},           -- lab:link(node, bridge, {...})
           routes = {{"default", via = "10.0.1.1"}}},           -- net.route_add(dst, {via=})
    {"r1", router = true,
           links = {{"lan1", addr = "10.0.1.1/24", ifname = "eth0", brname = "r1-eth0"},
                    {"lan2", addr = "10.0.2.1/24", ifname = "eth1", brname = "r1-eth1"}}},
    {"h2", links = {{"lan2", addr = "10.0.2.10/24"}},
           routes = {{"default", via = "10.0.2.1"}}},
  },
}
]]
io.write(description)
local path = os.tmpname()
local f = assert(io.open(path, "w")); f:write(description); f:close()
local ok, lab = pcall(net.lab_from, path)
os.remove(path)
if not ok then error(lab, 0) end
say("net.lab_from(FILE) built %s (nsh --lab FILE does the same before its prompt, as the global lab)", tostring(lab))
print(lab:view())

local out = lab.r1:run("cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding")
say("inside r1: ip_forward, ipv6 forwarding = %s", (out:gsub("\n", " ")))
check(out == "1\n1\n", "r1 forwards IPv4 and IPv6 (router = true wrote 1 in its namespace)")
check(lab.h1:run("cat " .. fwd_file) == "0\n", "h1 does not forward: a new network namespace starts with ip_forward 0")
check(read(fwd_file) == my_forward, "the shell's own namespace's ip_forward is unchanged (" .. my_forward .. ")")

local rtts, err = lab.h1:ping("h2", {count = 2})
check(#rtts == 2, "h1 (10.0.1.10) pings h2 (10.0.2.10) on the other subnet", err or "")
local route = lab.h1:run({"ip", "route", "get", "10.0.2.10"})
if route ~= "" then
  io.write("  h1: ip route get 10.0.2.10: ", route)
  check(route:find("via 10.0.1.1 dev eth0", 1, true) ~= nil, "h1's kernel sends it to the gateway r1 (10.0.1.1)")
end
local hops = lab.h1:traceroute("h2")
print(hops)
check(#hops == 2 and hops[1].addr == "10.0.1.1" and not hops[1].reached and hops[2].reached,
  "with TTL 1 the echo dies at r1 (ICMP time exceeded from 10.0.1.1); with TTL 2 it reaches h2")
check(hops[2].reply_ttl == 63 and hops[1].reply_ttl == 64,
  "h2's reply arrives with TTL 63, r1's with 64: r1 decremented the TTL of what it forwarded")

lab.r1:run("echo 0 > /proc/sys/net/ipv4/ip_forward")
rtts = lab.h1:ping("h2", {timeout = 0.3})
check(#rtts == 0, "with ip_forward 0 in r1, h1 no longer reaches h2 (r1 drops what is not its own)")
check(#lab.h1:ping("10.0.2.1") == 1, "but r1 still answers for its own 10.0.2.1: a host owns all its addresses (weak host model)")
lab.r1:run("echo 1 > /proc/sys/net/ipv4/ip_forward")
check(#lab.h1:ping("h2") == 1, "forwarding on again: h1 reaches h2")
lab:close()

section("Link types beyond veth, made inside the lab's namespaces")
local kl = net.lab{name = "kinds"}
kl:bridge("br0")
kl:link(kl:node("a"), "br0", {addr = "10.1.0.1/24", type = "macvlan"})
kl:link(kl:node("b"), "br0", {addr = "10.1.0.2/24", type = "macvlan"})
kl:link(kl:node("c"), "br0", {addr = "10.1.0.3/24"})
kl:wait()
local info = kl.a:run("ip -d link show eth0")
if info ~= "" then io.write(info) end
check(net.link("eth0", kl.a).type == "macvlan", "a's eth0 is a macvlan whose parent is bridge br0, created inside a (no hub end)")
check(#kl:pingall().failed == 0, "a and b (macvlan siblings on br0) and c (a veth port of br0) all reach each other")

net.vxlan("vx0", {vni = 42, remote = "10.1.0.3", dev = "eth0", ns = kl.a, up = true})
net.vxlan("vx0", {vni = 42, remote = "10.1.0.1", dev = "eth0", ns = kl.c, up = true})
net.addr("vx0", "192.168.42.1/24", kl.a)
net.addr("vx0", "192.168.42.3/24", kl.c)
local vx = net.link("vx0", kl.a)
say("a's vx0: type %s, mtu %d (1500 less 50 bytes of outer Ethernet, IP, UDP and VXLAN headers)", vx.type, vx.mtu)
rtts, err = net.ping("192.168.42.3", {ns = kl.a})
check(#rtts == 1 and vx.mtu == 1450, "a pings c at 192.168.42.3 through the tunnel: Ethernet inside UDP port 4789 between 10.1.0.1 and 10.1.0.3", err or "")

local tok, terr = pcall(net.tap, "tap0", {ns = kl.b, up = true})
if tok then
  local t = net.link("tap0", kl.b)
  say("b's tap0: type %s, state %s (no program attached: no carrier)", t.type, t.state)
  check(t.type == "tuntap" and t.state == "DOWN", "tap0 is a tun-driver link (netlink kind tuntap) in b, persistent, DOWN until a program attaches")
else
  say("net.tap: %s", terr)
  check(terr:find("EACCES", 1, true) ~= nil, "an ordinary user may not open /dev/net/tun (mode 0600, root's): EACCES, explained")
end

for _, k in ipairs{
  {"dummy", "CONFIG_DUMMY", function() net.dummy("d0", {ns = kl.c}) end},
  {"ipvlan", "CONFIG_IPVLAN", function() net.ipvlan("iv0", "br0", {ns = kl, netns = kl.c}) end},
  {"vlan", "CONFIG_VLAN_8021Q", function() net.vlan("eth0.10", "eth0", 10, {ns = kl.c}) end},
} do
  local kok, kerr = pcall(k[3])
  if kok then
    say("%s: made (this kernel has %s)", k[1], k[2])
    check(true, k[1] .. " link made")
  else
    say("%s: %s", k[1], kerr)
    check(kerr:find(k[2], 1, true) ~= nil, k[1] .. ": the kernel lacks it, and the error names " .. k[2])
  end
end
kl:close()

check(#net.links() == mine_before, "the shell's own network namespace has the links it had before (" .. mine_before .. ")")
finish()
