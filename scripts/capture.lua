-- capture.lua: what a ping sends across a bridge, frame by frame: the ARP
-- request (broadcast) and reply that find the peer's MAC address, then the
-- ICMP echo request and reply; and the TCP handshake of a connection.
--
-- node:capture opens an AF_PACKET socket inside the node's network
-- namespace, bound to one interface (what tcpdump -i does): the kernel hands
-- it a copy of every frame the interface sends or receives, with the
-- frame's packet type (outgoing, host, broadcast, otherhost). The capture
-- runs while the function given as run= does, so it sees the traffic that
-- function makes; frames are decoded (nsh's own decoder of the fixed
-- headers) and written to a classic pcap file that tcpdump -r and Wireshark read. As an ordinary user
-- this works too: the socket needs CAP_NET_RAW in the user namespace that
-- owns the lab's namespaces, and that is nsh's own.

section("Two nodes on one bridge, nothing sent yet")
local lab = net.lab{name = "capture", helpers = false}
lab:bridge("cap0")
local a, b = lab:node("a"), lab:node("b")
lab:link(a, "cap0", {addr = "10.53.57.1/24"})
lab:link(b, "cap0", {addr = "10.53.57.2/24"})
lab:wait()
local amac, bmac = net.link("eth0", a).mac, net.link("eth0", b).mac
say("a: 10.53.57.1 at %s, b: 10.53.57.2 at %s", amac, bmac)

section("a pings b, captured on a's eth0")
local pcap = lab.dir .. "/ping.pcap"
local f = a:capture("eth0", {filter = "arp or icmp", pcap = pcap, run = function()
  check(#a:ping("b") == 1, "a's ping of b is answered")
end})
print(f)
check(#f == 4, "one ping is four frames on the wire", #f)
check(f[1].dir == "out" and f[1].arp and f[1].arp.op == "request" and f[1].eth.dst == "ff:ff:ff:ff:ff:ff",
  "1: a does not know b's MAC yet, so it broadcasts an ARP request: who has 10.53.57.2?", f[1].info)
check(f[1].arp.sender_mac == amac and f[1].arp.target_ip == "10.53.57.2" and f[1].arp.target_mac == "00:00:00:00:00:00",
  "   it says who asks (a's MAC and IP) and leaves the target MAC zero")
check(f[2].dir == "in" and f[2].arp.op == "reply" and f[2].arp.sender_mac == bmac and f[2].eth.dst == amac and f[2].pkttype == "host",
  "2: b answers a alone (unicast to a's MAC): 10.53.57.2 is at " .. bmac)
check(f[3].dir == "out" and f[3].icmp.name == "echo request" and f[3].eth.dst == bmac and f[3].ip.ttl == 64,
  "3: now the echo request goes to b's MAC, TTL 64", f[3].info)
check(f[4].dir == "in" and f[4].icmp.name == "echo reply" and f[4].icmp.id == f[3].icmp.id and f[4].icmp.seq == f[3].icmp.seq,
  "4: b's echo reply carries the request's identifier and sequence number", f[4].info)

section("Again: b's MAC is known now")
f = a:capture("eth0", {filter = "arp or icmp", run = function() a:ping("b") end})
print(f)
check(#f == 2 and f[1].icmp and f[2].icmp, "no ARP this time: a's neighbour table has b's entry, so only the echo request and reply cross", #f)

section("The same ping seen at both ports of the bridge")
-- Two captures at once: one on a's end in the hub (a-br), one on b's (b-br).
local inner
local outer = lab:capture("a-br", {filter = "icmp", run = function()
  inner = lab:capture("b-br", {filter = "icmp", run = function() a:ping("b") end})
end})
print(outer)
print(inner)
check(#outer == 2 and #inner == 2, "each bridge port carries the request and the reply")
check(outer[1].dir == "in" and outer[1].pkttype == "otherhost",
  "a-br receives the request from a; it is not addressed to a-br's own MAC (otherhost): the bridge forwards it", outer[1].pkttype)
check(inner[1].dir == "out" and inner[1].ip.ttl == outer[1].ip.ttl,
  "b-br sends it on to b, TTL unchanged: a bridge forwards frames, it does not route", inner[1].ip.ttl)

section("The TCP handshake of a connection")
local t = b:capture("eth0", {filter = "tcp", count = 3, timeout = 5, run = function() a:iperf(b, {bytes = 1000}) end})
print(t)
check(#t == 3 and t[1].tcp.flags == "S" and t[2].tcp.flags == "S." and t[3].tcp.flags == ".",
  "SYN, SYN-ACK, ACK: the three-way handshake of node:iperf's connection", #t >= 3 and (t[1].tcp.flags .. " " .. t[2].tcp.flags .. " " .. t[3].tcp.flags) or #t)
check(t[2].tcp.ack == t[1].tcp.seq + 1 and t[3].tcp.ack == t[2].tcp.seq + 1, "each side acknowledges the other's initial sequence number + 1")

section("The pcap file")
local data = io.open(pcap, "rb"):read("*a")
local function u32(s, i) local a1, a2, a3, a4 = s:byte(i, i + 3); return a1 + a2 * 256 + a3 * 65536 + a4 * 16777216 end
local n, off = 0, 25
while off + 15 <= #data do n = n + 1; off = off + 16 + u32(data, off + 8) end
say("%s: %d bytes, magic 0x%08x, link type %d, %d records", pcap, #data, u32(data, 1), u32(data, 21), n)
check(u32(data, 1) == 0xa1b2c3d4 and u32(data, 21) == 1 and n == 4 and off == #data + 1,
  "a classic pcap file (magic a1b2c3d4, link type 1 = Ethernet) with the four frames of the first ping")
local out, code, errout = sys.run("command -v tcpdump >/dev/null || exit 127; tcpdump -nn -r '" .. pcap .. "'")
if code == 0 then
  io.write(out)
  check(select(2, out:gsub("\n", "")) == 4 and out:find("ARP, Request who-has 10.53.57.2 tell 10.53.57.1", 1, true),
    "tcpdump -r reads the same four frames")
elseif code == 127 then
  say("(tcpdump is not installed: `tcpdump -r` would show the same four frames)")
elseif errout:find("Couldn't change to", 1, true) then
  -- started as root (nsh's, in its user namespace when nsh runs as an
  -- ordinary user), tcpdump drops to its own user, and initgroups fails:
  -- setgroups(2) is denied in such a namespace
  say("(tcpdump refused to run as nsh's root in its user namespace: %s)", errout:match("tcpdump: [^\n]*"))
else
  check(false, "tcpdump -r reads the file", errout)
end
os.remove(pcap)
lab:close()
finish()
