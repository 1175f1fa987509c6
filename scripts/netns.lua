-- netns.lua: a new network namespace holds only lo, and it is DOWN.
--
-- unshare(CLONE_NEWNET) gives the shell a fresh network stack: the kernel's
-- setup_net() runs every pernet init, and loopback_net_init() registers the
-- one device every namespace has, `lo`. Nothing brings it up, so it has no
-- address and even 127.0.0.1 is unreachable until `ip link set lo up`.
-- Seed: 003 (network namespaces isolate devices, addresses, routes).

section("A fresh network namespace")
local host = net.links()
say("The shell starts in a namespace with %d links (net:[%d]).", #host, ns.id("net"))
ns.unshare("net")
say("After ns.unshare(\"net\") the shell sits in net:[%d]:", ns.id("net"))
print(view.links())
local ls = net.links()
check(#ls == 1, "the new namespace has exactly one link", #ls .. " links")
local lo = ls[1]
check(lo.name == "lo" and lo.type == "loopback", "it is the loopback device lo", lo.name, lo.type)
check(lo.state == "DOWN", "lo is DOWN (operstate)", lo.state)
local up = false
for _, f in ipairs(lo.flags) do if f == "UP" then up = true end end
check(not up, "lo lacks the UP flag: nothing brought it up")
check(#lo.addrs == 0, "lo has no address yet (127.0.0.1 comes with `up`)", table.concat(lo.addrs, " "))
check(#net.routes() == 0, "the routing table is empty")
local rtts, err = net.ping("127.0.0.1", {timeout = 0.2})
check(#rtts == 0, "ping 127.0.0.1 fails while lo is down", err or "")

section("Bring lo up")
net.up("lo")
lo = net.link("lo")
print(view.links())
check(lo.state == "UNKNOWN", "lo's operstate is UNKNOWN once up (loopback has no carrier to report)", lo.state)
local has127 = false
for _, a in ipairs(lo.addrs) do if a == "127.0.0.1/8" then has127 = true end end
check(has127, "up gave lo 127.0.0.1/8 (the inetdev notifier adds it)")
rtts, err = net.ping("127.0.0.1", {count = 2})
check(#rtts == 2, "ping 127.0.0.1 answers now", string.format("%.3f ms", rtts[1] or -1))

section("Back where we started")
local back, why = pcall(ns.restore, "net")
if back then
  check(#net.links() == #host, "the shell's original namespace still has its own links, untouched", #net.links() .. " links")
else
  -- as an ordinary user nsh is root only in its own user namespace; the
  -- machine's network namespace belongs to the initial one, so setns back
  -- is refused (EPERM). Leaving was allowed, returning is not.
  say("no way back: %s", why)
  check(tostring(why):match("EPERM"), "as an ordinary user the shell cannot setns back into the machine's namespace (EPERM)")
end
say("The namespace is freed when nothing holds it any more: the shell left it, so the kernel tears it down.")
finish()
