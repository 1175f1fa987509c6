-- joinvm.lua: "How to join VMs to the testenv" (seed 000), step by step.
--
-- The README joins a Windows VM (or your PC) to a running testenv: a new
-- veth testenv-veth0/testenv-veth1 from the PC's default namespace, one end
-- moved into the selftest namespace and enslaved to selftest0, 10.53.57.63/24
-- on the PC's end, and a default route in selftest back to the PC. Here a
-- separate network namespace ("pc") stands in for the PC/VM, so the
-- machine's own network is never touched, and no sudo is needed.
-- Seed: 000 ("How to join VMs to the testenv", steps 1-5).

section("A selftest lab with two testenvs")
local lab = net.lab{name = "joinvm"}
lab:bridge("selftest0", "10.53.57.11/24")
for _, X in ipairs({21, 22}) do
  local n = lab:node("dc" .. X)
  lab:link(n, "selftest0", {ifname = "veth" .. X, brname = "veth" .. X .. "-br", addr = "10.53.57." .. X .. "/24"})
end
lab:wait()
local pc = lab:node("pc")     -- not linked to the bridge: the outside machine
say("testenvs dc21 (10.53.57.21), dc22 (10.53.57.22); a namespace \"pc\" plays the VM")

section("2. ip link add dev testenv-veth0 type veth peer name testenv-veth1  (in the PC)")
net.veth("testenv-veth0", "testenv-veth1", {ns = pc})
check(net.link("testenv-veth1", pc).peer == "testenv-veth0", "both ends start in the PC's namespace")

section("3. ip link set testenv-veth1 netns $SELFTEST_PID")
net.setns("testenv-veth1", lab, pc)
check(not pcall(net.link, "testenv-veth1", pc), "testenv-veth1 left the PC")
check(net.link("testenv-veth1", lab).type == "veth", "and is in the selftest namespace")

section("4. ip link set dev testenv-veth0 up; ip addr add 10.53.57.63/24 dev testenv-veth0")
net.up("testenv-veth0", pc)
net.addr("testenv-veth0", "10.53.57.63/24", pc)

section("5. in selftest: up, master selftest0, ip route add default via 10.53.57.63")
net.up("testenv-veth1", lab)
net.master("testenv-veth1", "selftest0", lab)
net.route_add("default", {via = "10.53.57.63", ns = lab})
net.wait_up("testenv-veth1", {ns = lab})
net.wait_up("testenv-veth0", {ns = pc})
print(view.links(lab))
print(view.links(pc))
local l1 = net.link("testenv-veth1", lab)
check(l1.master == "selftest0" and l1.port_state == "forwarding", "testenv-veth1 is a forwarding port of selftest0", l1.port_state or "")
local def
for _, r in ipairs(net.routes(lab)) do if r.dst == "default" then def = r end end
check(def and def.via == "10.53.57.63", "selftest has a default route via 10.53.57.63", def and def.via or "none")

section("The VM and the testenvs talk over IP")
local rtts, err = net.ping("10.53.57.21", {ns = pc, count = 2})
check(#rtts == 2, "the PC (10.53.57.63) reaches testenv dc21 (10.53.57.21)", err or "")
rtts, err = lab.dc22:ping("10.53.57.63")
check(#rtts == 1, "testenv dc22 reaches the PC", err or "")
rtts, err = net.ping("10.53.57.11", {ns = pc})
check(#rtts == 1, "the PC reaches selftest0 itself", err or "")
say("(6. DNS: point the VM at dns_hub 10.53.57.64 -- see dnshub.lua)")
finish()
