-- veth.lua: a veth pair joins two network namespaces.
--
-- A veth pair is two net_devices whose xmit hands each packet to the
-- other end (veth_xmit -> __dev_forward_skb -> netif_rx on the peer).
-- The ends may live in different namespaces: here "a" and "b", each held by
-- a sleeping process. nsh creates the pair with the peer made directly in
-- b (IFLA_NET_NS_FD on the peer in one RTM_NEWLINK), then pings across,
-- watches b's link events (net.monitor) while a pair with a peer in b
-- dies with the namespace of its other end, and, when b's last process
-- ends, sees its namespace and both ends go.
-- Seeds: 000, 001, 002 (veth interfaces act as a tunnel between namespaces).

section("Two namespaces")
local a = ns.spawn{"sleep", "300", ns = "net"}
local b = ns.spawn{"sleep", "300", ns = "net"}
say("a: process %d in net:[%d]; b: process %d in net:[%d]", a.pid, ns.id(a.pid, "net"), b.pid, ns.id(b.pid, "net"))
check(ns.id(a.pid, "net") ~= ns.id(b.pid, "net"), "a and b are different network namespaces")

section("One veth pair, one end in each")
say("net.veth(\"veth0\", \"veth1\", {ns = a, peer_ns = b})")
net.veth("veth0", "veth1", {ns = a, peer_ns = b})
net.addr("veth0", "10.53.57.1/24", a)
net.addr("veth1", "10.53.57.2/24", b)
net.up("lo", a); net.up("lo", b)
net.up("veth0", a); net.up("veth1", b)
net.wait_up("veth0", {ns = a}); net.wait_up("veth1", {ns = b})
print(view.links(a))
print(view.links(b))
local e0, e1 = net.link("veth0", a), net.link("veth1", b)
check(e0.type == "veth" and e1.type == "veth", "both ends are veth devices")
check(e0.state == "UP" and e1.state == "UP", "both ends are UP: each has a carrier because its peer is up")
check(e0.peer_index == e1.index and e1.peer_index == e0.index, "each end names the other's ifindex as its peer (IFLA_LINK)",
  e0.peer_index .. "=" .. e1.index)
check(e0.peer_nsid >= 0, "a sees the peer in another namespace (an nsid was assigned for b)", "nsid " .. e0.peer_nsid)
check(#net.links(a) == 2 and #net.links(b) == 2, "each namespace holds only lo and its own end")
local ok = pcall(net.link, "veth1", a)
check(not ok, "veth1 is not visible in a: each end exists in one namespace only")

section("Packets cross")
local rtts, err = net.ping("10.53.57.2", {count = 3, ns = a})
check(#rtts == 3, "a pings b across the pair (3 of 3)", err or "")
say("round trips: %s ms", table.concat(rtts, ", "))
rtts = net.ping("10.53.57.1", {ns = b})
check(#rtts == 1, "and b pings a back")

section("Deleting one end deletes both")
net.delete("veth0", a)
ok = pcall(net.link, "veth1", b)
check(not ok, "veth1 vanished from b when veth0 was deleted in a (unregister takes the peer along)")
check(#net.links(b) == 1, "b holds only lo again")

section("Watching b: a peer appears, and vanishes with the other namespace")
-- net.monitor listens to b's rtnetlink events (what `ip monitor link` in b
-- prints). A third namespace c gets a new pair with its peer made in b;
-- then c's only process ends, the kernel destroys c, and with it its end:
-- a veth pair does not outlive either namespace, so the peer in b goes too.
local c = ns.spawn{"sleep", "300", ns = "net"}
local watch, stop = net.monitor(b, {links = true, timeout = 10})
net.veth("veth2", "veth3", {ns = c, peer_ns = b})
local c_ns = ns.id(c.pid, "net")
c:kill("KILL"); c:wait()
say("c (net:[%d]) ended; b's events:", c_ns)
local added, removed, foreign
for ev in watch do
  say("  %s %-3s %s (index %d, %s, %s)", ev.kind, ev.action, ev.name, ev.index, ev.type, ev.state)
  if ev.name == "veth2" then foreign = true end
  if ev.name == "veth3" and ev.action == "new" then added = added or ev end
  if ev.name == "veth3" and ev.action == "del" then removed = ev; break end
end
stop() -- the monitor's socket, made in b, would hold b alive (next section)
check(added ~= nil, "b saw veth3 appear (RTM_NEWLINK) when the pair was made from c")
check(removed ~= nil and added and removed.index == added.index, "b saw veth3 removed (RTM_DELLINK) once c was gone: the pair died with c")
check(not foreign, "b never saw veth2: that end lived and died in c")
check(#net.links(b) == 1, "b holds only lo again")

section("A namespace that ends takes its ends along")
-- A network namespace lives while something holds it: here only b's one
-- process. When it exits the kernel frees the namespace (cleanup_net, in a
-- work queue: a moment later), and default_device_exit_batch deletes every
-- veth in it, which deletes each one's peer too, wherever that is.
net.veth("veth0", "veth1", {ns = a, peer_ns = b})
check(net.link("veth0", a).peer_index == net.link("veth1", b).index, "a new pair: veth0 in a, veth1 in b")
b:kill(9); b:wait()
say("b's only process is gone (SIGKILL)")
local gone = false
for _ = 1, 300 do
  if not pcall(net.link, "veth0", a) then gone = true break end
  sys.sleep(0.01)
end
check(gone, "veth0 vanished from a: the kernel freed b's namespace and deleted veth1 with its peer")
check(#net.links(a) == 1, "a holds only lo again")
finish()
