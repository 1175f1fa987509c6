-- selftest.lua: the Samba selftest namespace topology, to the letter.
--
-- Samba's USE_NAMESPACES=1 runs every testenv in a network namespace of its
-- own, nested under one "selftest" namespace, all inside a user namespace
-- that maps the developer to root (so no sudo). In the selftest namespace a
-- bridge `selftest0` (10.53.57.11) acts as a hub; each testenv gets a veth
-- pair `vethX` (inside the testenv, 10.53.57.X) / `vethX-br` (in selftest,
-- enslaved to selftest0), X being the testenv's SOCKET_WRAPPER_DEFAULT_IFACE,
-- with Samba's IPv6 address fd00::5357:5fXX/112 (XX: X in hex) beside it.
-- A generated nsenter.sh per testenv opens a shell inside it with the
-- testenv's variables ($SERVER, ...). A testenv's namespace lives as long as
-- its processes: stopping it makes the kernel remove its veth, and a restart
-- makes it again. Nothing outside the lab is touched.
-- Seeds: 000 (README: veth, bridge, nsenter.sh), 001, 002 (no sudo via a user
-- namespace mapping you to root).

section("Who we are")
local m = view.uidmap()
print(m)
say("nsh runs as uid %d; %s", sys.getuid(), m.root_inside and "root in its user namespace" or "")
check(sys.getuid() == 0, "nsh is root where it works (real root, or mapped to root by its user namespace: no sudo needed)")
local host_links = #net.links()

section("The selftest namespace and its bridge")
local testenvs = {                      -- name, SOCKET_WRAPPER_DEFAULT_IFACE
  {name = "ad_dc_ntvfs", iface = 21},
  {name = "vampire_dc",  iface = 22},
  {name = "ad_dc",       iface = 23},
}
local function ipv6(X) return string.format("fd00::5357:5f%02x", X) end -- Samba's get_ipv6_addr
local lab = net.lab{name = "selftest"}
lab:bridge("selftest0", {"10.53.57.11/24", ipv6(11) .. "/112"})
say("net.lab{name=\"selftest\"}: a new network namespace (the selftest namespace); bridge selftest0 10.53.57.11/24 %s/112 in it", ipv6(11))
if lab.pinned then
  say("pinned as /run/netns/selftest and /run/netns/selftest-TESTENV")
else
  say("not pinned: %s", lab.pin_message)
end

section("One namespace per testenv, joined by vethX / vethX-br")
for _, te in ipairs(testenvs) do
  local X = te.iface
  local node = lab:node(te.name, {hostname = te.name, env = {
    SERVER = te.name, NETBIOSNAME = te.name:upper(), SOCKET_WRAPPER_DEFAULT_IFACE = tostring(X),
    DOMAIN = "SAMBADOMAIN", REALM = "SAMBA.EXAMPLE.COM"}})
  lab:link(node, "selftest0", {ifname = "veth" .. X, brname = "veth" .. X .. "-br", addr = {"10.53.57." .. X .. "/24", ipv6(X) .. "/112"}})
  say("testenv %-12s veth%d (10.53.57.%d, %s) <-> veth%d-br on selftest0, first process pid %d", te.name, X, X, ipv6(X), X, node.pid)
end
lab:wait()
print(lab:view())

local outer = net.links(lab)
local byname = {}
for _, l in ipairs(outer) do byname[l.name] = l end
check(byname.selftest0 and byname.selftest0.type == "bridge", "selftest0 is a bridge in the selftest namespace")
check(byname.selftest0 and byname.selftest0.addrs[1] == "10.53.57.11/24", "selftest0 holds 10.53.57.11/24")
for _, te in ipairs(testenvs) do
  local X = te.iface
  local br = byname["veth" .. X .. "-br"]
  check(br and br.master == "selftest0" and br.port_state == "forwarding",
    "veth" .. X .. "-br is a forwarding port of selftest0", br and br.port_state or "missing")
  local inside = net.link("veth" .. X, lab[te.name])
  check(inside.addrs[1] == "10.53.57." .. X .. "/24" and inside.addrs[2] == ipv6(X) .. "/112" and inside.state == "UP",
    "testenv " .. te.name .. " has veth" .. X .. " UP with 10.53.57." .. X .. " and " .. ipv6(X))
  check(inside.peer_index == br.index, "veth" .. X .. "'s peer is veth" .. X .. "-br")
  local ls = net.links(lab[te.name])
  check(#ls == 2, "testenv " .. te.name .. " sees only lo and veth" .. X)
end

section("Network namespaces have no parent; a user namespace owns them")
-- Samba's README calls each testenv namespace "a child of the overarching
-- selftest namespace". For the kernel, only PID and user namespaces have
-- parents: NS_GET_PARENT on a network namespace is EINVAL. What relates the
-- testenvs' and the selftest namespace is the user namespace that owns them
-- (NS_GET_USERNS): the same one for all of them.
local te1 = lab[testenvs[1].name]
local okp, perr = pcall(ns.parent, te1.path)
say("ns.parent(%s's network namespace): %s", te1.name, okp and "a parent?!" or perr)
check(not okp and tostring(perr):find("EINVAL"), "NS_GET_PARENT of a network namespace is EINVAL: it has no parent")
local owners = {}
for _, te in ipairs(testenvs) do
  owners[#owners+1] = ns.owner(lab[te.name].path).inode
end
local selftest_owner = ns.owner(lab.path).inode
say("owning user namespace: selftest user:[%d]; testenvs %s", selftest_owner, table.concat(owners, ", "))
local same = true
for _, o in ipairs(owners) do same = same and o == selftest_owner end
check(same, "the selftest namespace and every testenv's are owned by one user namespace (NS_GET_USERNS)")

section("Every testenv reaches every other")
local r = lab:pingall()
print(r)
check(#r.failed == 0 and r.ok == #testenvs * (#testenvs - 1), "all " .. r.sent .. " testenv-to-testenv pings answered", table.concat(r.failed, "; "))
for _, te in ipairs(testenvs) do
  local rt = net.ping("10.53.57." .. te.iface, {ns = lab})
  check(#rt == 1, "selftest (10.53.57.11) reaches " .. te.name)
  local rt6, err6 = net.ping(ipv6(te.iface), {ns = lab})
  check(#rt6 == 1, "selftest reaches " .. te.name .. " over IPv6 (" .. ipv6(te.iface) .. ")", err6 or "")
end
local rt6, err6 = lab.ad_dc:ping(ipv6(21))
check(#rt6 == 1, "testenv ad_dc reaches ad_dc_ntvfs over IPv6 (nodad addresses: usable at once)", err6 or "")

section("nsenter.sh: a shell inside a testenv with its variables")
local helper = lab.ad_dc:helper()
say("generated %s:", helper)
print(io.open(helper):read("*a"))
local out, code = sys.run({"sh", helper, "sh", "-c", "echo $SERVER $NETBIOSNAME $SOCKET_WRAPPER_DEFAULT_IFACE; hostname; ip -o -4 addr show veth23"})
io.write(out)
check(code == 0 and out:match("^ad_dc AD_DC 23\n"), "the helper sets the testenv's variables ($SERVER, $NETBIOSNAME, ...)")
check(out:match("\nad_dc\n"), "and runs inside the testenv's UTS namespace (hostname ad_dc)")
check(out:match("10%.53%.57%.23/24"), "and inside its network namespace (veth23 with 10.53.57.23)")
out, code = lab.vampire_dc:run("ip -o -4 addr show veth22 | awk '{print $4}'; echo $SERVER")
check(out == "10.53.57.22/24\nvampire_dc\n", "lab.vampire_dc:run runs a command there too", out)
say("From another terminal: nsh --enter ad_dc (or sh %s)", helper)

section("A testenv lives as long as its processes")
-- Seed 000: "the namespaces are identified by the PID of the processes
-- running within the namespace (typically samba)", and "the namespace
-- disappears once you stop the testenv". Each node's first process (here a
-- sleep standing in for samba) holds it; nsh holds no descriptor of it.
local dc = lab.ad_dc
local first = dc.pid
local netns = sys.run("readlink /proc/" .. first .. "/ns/net")
say("ad_dc's first process: pid %d, in %s", first, (netns:gsub("\n", "")))
say("who holds what (view.namespaces(), the lines of ad_dc's namespaces and of what nsh holds):")
local nsh_fds, dc_fds = 0, 0
for _, n in ipairs(view.namespaces().namespaces) do
  for _, h in ipairs(n.holders) do
    if h.nsh then nsh_fds = nsh_fds + 1 end
    if h.kind == "fd" and n.type == "net" and n.inode == ns.id(first, "net") then dc_fds = dc_fds + 1 end
  end
end
for line in tostring(view.namespaces()):gmatch("[^\n]+") do
  if line:find("(nsh: lab selftest", 1, true) or line:find("e.g. " .. first .. " ", 1, true) then print(line) end
end
check(dc_fds == 0, "no descriptor holds ad_dc's network namespace: its process (and its pin, as root) does")
check(nsh_fds == 1, "nsh holds one namespace by a descriptor: the lab's hub")
dc:stop()
check(not pcall(net.link, "veth23-br", lab), "ad_dc stopped: the kernel freed its namespace and removed veth23-br from selftest0")
check(not dc.running and dc.pid == nil, "the testenv has no process left")
dc:start()
lab:wait()
say("ad_dc restarted: first process pid %d", dc.pid)
local br = net.link("veth23-br", lab)
check(br and br.master == "selftest0" and br.port_state == "forwarding", "restarted: veth23-br is a forwarding port of selftest0 again")
check(dc.pid ~= first and dc:run("hostname; echo $SERVER") == "ad_dc\nad_dc\n", "a new first process, same hostname and variables")
local rt = lab.vampire_dc:ping("ad_dc")
check(#rt == 1, "vampire_dc reaches the restarted ad_dc")

section("Reachable by other tools")
if lab.pinned then
  out, code = sys.run("ip netns exec selftest-ad_dc ip -br -4 addr show veth23")
  check(code == 0 and out:match("10%.53%.57%.23"), "ip netns exec selftest-ad_dc sees veth23", out)
  out, code = sys.run("nsenter --net=/run/netns/selftest ip -br link show selftest0")
  check(code == 0 and out:match("selftest0"), "nsenter --net=/run/netns/selftest sees selftest0", out)
else
  say("skipped `ip netns exec`: %s", lab.pin_message)
end

section("userns=true: the testenvs in a user namespace of their own")
-- Samba's USE_NAMESPACES runs selftest in `unshare --user --map-root-user`:
-- a user namespace that owns every testenv's namespaces, where the
-- developer is root. nsh run by an ordinary user does that for the whole
-- shell; run by root, a lab's namespaces belong to the machine's own user
-- namespace, and a testenv's root is the machine's root. userns=true gives
-- the lab a user namespace of its own (root inside is nobody outside when
-- nsh is root: root mapped to root would still be uid 0 for every file of
-- the machine). A node there has every capability over its own namespaces
-- and none over the machine's.
local ulab = net.lab{name = "selftest_u", userns = true}
ulab:bridge("selftest0", "10.53.57.11/24")
local ute = ulab:node("ad_dc", {hostname = "ad_dc"})
ulab:link(ute, "selftest0", {ifname = "veth23", brname = "veth23-br", addr = "10.53.57.23/24"})
ulab:wait()
local uns = ns.owner(ulab.userns)  -- a user namespace's owner is its parent
local lab_owner = ns.owner(ute.path).inode
say("lab selftest_u's user namespace: user:[%d] (%s), a child of user:[%d]", lab_owner, ulab.userns, uns.inode)
check(lab_owner == ns.owner(ulab.path).inode and lab_owner ~= ns.id("user"), "the hub and the testenv are owned by the lab's own user namespace, not nsh's")
out = ute:run([[cat /proc/self/uid_map; id -u
cat /proc/sys/net/ipv4/ip_forward > /proc/sys/net/ipv4/ip_forward && echo "own sysctl: written"
v=$(cat /proc/sys/kernel/pid_max); (echo "$v" > /proc/sys/kernel/pid_max) 2>&1 | sed 's/.*: /host sysctl: /']])
io.write(out)
check(out:match("^%s*0%s+%d+%s+1\n0\n"), "inside, the testenv's processes are root (uid 0, mapped to one outside id)")
check(out:find("own sysctl: written", 1, true), "root there may write its own network namespace's sysctls")
check(out:find("host sysctl: Permission denied", 1, true), "and may not write the machine's (kernel.pid_max: EACCES)")
check(#ulab.ad_dc:ping("10.53.57.11") == 1, "the testenv reaches its selftest0")
ulab:close()

section("Nothing outside the lab")
check(#net.links() == host_links, "the shell's own namespace has the links it had (" .. host_links .. ")")
check(not pcall(net.link, "selftest0"), "selftest0 exists only inside the selftest namespace")
finish()
