-- resolv.lua: a mount namespace per server, with its own /etc/resolv.conf and
-- /etc/hosts.
--
-- The Samba wiki's plan to drop resolv_wrapper: every test DC gets a mount
-- namespace in which its own resolv.conf and hosts are bind-mounted over the
-- host's. Programs started there read them at the usual paths; the host's
-- files are never written. Seed: 002.

local function readfile(p) local f = io.open(p) if not f then return nil end local s = f:read("*a") f:close() return s end
local host_resolv, host_hosts = readfile("/etc/resolv.conf"), readfile("/etc/hosts")
local dir = rootfs.tmpdir("resolv")

section("Two servers, two mount namespaces")
local servers = {}
for i, name in ipairs({"dc1", "dc2"}) do
  local cfg = dir .. "/" .. name
  sys.run({"mkdir", "-p", cfg})
  local f = io.open(cfg .. "/resolv.conf", "w")
  f:write("# " .. name .. "'s own resolver (the lab's DNS hub)\nnameserver 10.53.57.64\nsearch " .. name .. ".samba.example\n")
  f:close()
  f = io.open(cfg .. "/hosts", "w")
  f:write("127.0.0.1 localhost\n10.53.57." .. (10 + i) .. " " .. name .. "." .. name .. ".samba.example " .. name .. "\n")
  f:close()
  -- a holder process keeps the namespace alive, like a pinned testenv
  local h = ns.spawn{"sleep", "120", ns = "mnt,uts", hostname = name}
  -- configure the namespace from outside: join it, bind, come back
  ns.setns(h, "mnt")
  mount.make("/", "private", true)   -- nothing of this reaches the host
  mount.bind(cfg .. "/resolv.conf", "/etc/resolv.conf", {readonly = true})
  mount.bind(cfg .. "/hosts", "/etc/hosts", {readonly = true})
  ns.restore("mnt")
  servers[name] = h
  say("  %s: mount namespace mnt:[%d], held by pid %d", name, ns.id(h.pid, "mnt"), h.pid)
end

print(view.mounts(nil, servers.dc1.pid))

section("What a program started in each namespace reads")
for i, name in ipairs({"dc1", "dc2"}) do
  local out = dir .. "/" .. name .. ".out"
  local p = ns.spawn{"sh", "-c", "cat /etc/resolv.conf; getent hosts " .. name .. "; (echo x >> /etc/resolv.conf) 2>/dev/null || echo write-refused",
    join = servers[name], join_ns = "mnt,uts", stdout = out}
  p:wait()
  local text = readfile(out) or ""
  os.remove(out)
  say("  in %s:\n%s", name, (text:gsub("^", "    "):gsub("\n(.)", "\n    %1")))
  check(text:find("search " .. name .. ".samba.example", 1, true) ~= nil, name .. " reads its own /etc/resolv.conf")
  check(text:find("10.53.57." .. (10 + i) .. "%s+" .. name) ~= nil, name .. " resolves its own name through its own /etc/hosts (getent)")
  check(text:find("write-refused", 1, true) ~= nil, name .. "'s files are read-only binds: it cannot change them")
end

section("The host")
check(readfile("/etc/resolv.conf") == host_resolv, "the host's /etc/resolv.conf is untouched (same content)")
check(readfile("/etc/hosts") == host_hosts, "the host's /etc/hosts is untouched (same content)")
local out = sys.run("getent hosts dc1; true")
check(out == "", "the host does not know dc1", out)
check(mount.find("/etc/resolv.conf") == nil, "no mount over /etc/resolv.conf in the host's table")
for _, h in pairs(servers) do h:kill() h:wait() end
say("The namespaces die with their holders; the binds go with them.")
finish()
