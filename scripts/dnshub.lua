-- dnshub.lua: a testenv resolves lab names through dns_hub at 10.53.57.64,
-- set up through its own private resolv.conf.
--
-- Samba's selftest has a dns_hub testenv at 10.53.57.64 forwarding queries
-- for the test realms. With namespaces each DC can have its own
-- /etc/resolv.conf (and /etc/hosts) through a mount namespace, replacing
-- resolv_wrapper. Here nsh's Go DNS responder (net.dns_hub) serves A
-- records inside the lab node dns_hub; testenv ad_dc gets a mount namespace
-- where /etc/resolv.conf is a bind mount of a file saying
-- "nameserver 10.53.57.64", and glibc's resolver (getent) uses it.
-- Seeds: 000 (dns_hub 10.53.57.64), 002 (replacing resolv wrapper).

local realm = "samba.example.com"
section("The lab: selftest0, dns_hub (64) and two testenvs")
local lab = net.lab{name = "dnshub"}
lab:bridge("selftest0", "10.53.57.11/24")
local hub = lab:node("dns_hub")
lab:link(hub, "selftest0", {ifname = "veth64", brname = "veth64-br", addr = "10.53.57.64/24"})
local dc = lab:node("ad_dc", {resolv = "10.53.57.64", hostname = "addc"})
lab:link(dc, "selftest0", {ifname = "veth23", brname = "veth23-br", addr = "10.53.57.23/24"})
local fl = lab:node("fl2008r2dc")
lab:link(fl, "selftest0", {ifname = "veth24", brname = "veth24-br", addr = "10.53.57.24/24"})
lab:wait()
print(lab:view())

section("dns_hub answers for the lab's names")
local records = {
  ["addc." .. realm] = "10.53.57.23",
  ["fl2008r2dc." .. realm] = "10.53.57.24",
  ["dns." .. realm] = "10.53.57.64",
}
local srv = net.dns_hub{addr = "10.53.57.64", ns = hub, records = records}
say("%s, serving %d names", tostring(srv), 3)

section("ad_dc's own resolv.conf")
local out = lab.ad_dc:run("cat /etc/resolv.conf")
io.write("  ad_dc: /etc/resolv.conf: ", out)
check(out == "nameserver 10.53.57.64\n", "ad_dc's /etc/resolv.conf names dns_hub (bind-mounted in its mount namespace)")
local host = io.open("/etc/resolv.conf"):read("*a")
check(host ~= out, "the machine's /etc/resolv.conf is unchanged")
local m1 = lab.ad_dc:run("readlink /proc/self/ns/mnt")
check(m1 ~= sys.run("readlink /proc/self/ns/mnt"), "ad_dc has a mount namespace of its own")

section("Resolving through it")
local o, code = lab.ad_dc:run("getent hosts fl2008r2dc." .. realm)
io.write("  ad_dc$ getent hosts fl2008r2dc." .. realm .. "\n  " .. o)
check(code == 0 and o:match("^10%.53%.57%.24%s"), "glibc in ad_dc resolves fl2008r2dc via resolv.conf -> 10.53.57.64", o)
o, code = lab.ad_dc:run("getent hosts nosuch." .. realm)
check(code ~= 0, "an unknown name fails (NXDOMAIN)")
local ips = net.resolve("dns." .. realm, {server = "10.53.57.64", ns = fl})
check(ips[1] == "10.53.57.64", "from Lua, fl2008r2dc asks 10.53.57.64 directly", ips[1])
srv:set({["new." .. realm] = "10.53.57.25"})
o = lab.ad_dc:run("getent hosts new." .. realm)
check(o:match("^10%.53%.57%.25"), "records can change while the hub runs", o)
o, code = lab.fl2008r2dc:run("getent hosts addc." .. realm)
check(code ~= 0, "fl2008r2dc, sharing the machine's resolv.conf, does not see the lab's names")
srv:stop()
finish()
