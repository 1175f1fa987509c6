-- specialfs.lua: the special filesystems a container mounts for itself.
--
-- proc, sysfs, devpts, a tmpfs at /dev/shm and mqueue, mounted inside the
-- container; and devtmpfs, which the kernel does not allow in a user namespace
-- (the go-container log's "note from the future"). Seed: 003.

local userns = os.getenv("NSH_USERNS") ~= nil
local dir = rootfs.tmpdir("specialfs")
local root = dir .. "/rootfs"
rootfs.build(root, {binaries = {"/bin/ls"}})
say("nsh runs %s.", userns and "as an ordinary user, in a user namespace where it is root" or "as root of the host")

section("proc, sysfs, devpts, shm and mqueue inside a container")
local h = ns.clone("mnt,pid,net,ipc,uts", function(root)
  mount.container{rootfs = root, proc = true, sys = true, dev = "minimal", mqueue = true}
  return {table = mount.list(), sys = sys.run({"/bin/ls", "/sys"}), pid1 = sys.run({"/bin/ls", "/proc/1/ns"})}
end, root)
check(h:wait() == 0, "the container ran")
local r = h:result()
print(view.mounts(r.table))
local want = {["/proc"] = "proc", ["/sys"] = "sysfs", ["/dev"] = "tmpfs", ["/dev/pts"] = "devpts", ["/dev/shm"] = "tmpfs", ["/dev/mqueue"] = "mqueue"}
for _, t in ipairs({"/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"}) do
  local m
  for _, row in ipairs(r.table) do if row.target == t then m = row end end
  check(m ~= nil and m.fstype == want[t], t .. " is a " .. want[t] .. " of the container's own", m and m.fstype)
end
say("  ls /sys: %s", (r.sys:gsub("\n", " ")))
check(r.sys:find("devices", 1, true) ~= nil, "sysfs shows the kernel's objects (block, bus, class, devices, ...)")
for _, row in ipairs(r.table) do
  if row.target == "/sys" then check(row.options:match("^ro") ~= nil, "/sys is read-only, as runc mounts it", row.options) end
end

section("devtmpfs")
local function try_devtmpfs(dir)
  sys.run({"mkdir", "-p", dir .. "/dev"})
  local ok, err = pcall(mount.mount, "devtmpfs", dir .. "/dev", "devtmpfs", "nosuid")
  return ok and "ok" or err
end
local map = "0 " .. sys.getuid() .. " 1"
local hu = ns.clone({ns = "user,mnt", uid_map = map, gid_map = "0 " .. sys.getgid() .. " 1"}, try_devtmpfs, dir)
hu:wait()
local in_userns = hu:result()
say("  in a new user namespace: %s", in_userns)
check(in_userns:find("EPERM", 1, true) ~= nil, "devtmpfs cannot be mounted in a user namespace (EPERM: the filesystem lacks FS_USERNS_MOUNT)")
local hr = ns.clone("mnt", try_devtmpfs, dir)
hr:wait()
local plain = hr:result()
say("  in a new mount namespace only: %s", plain)
if userns then
  check(plain:find("EPERM", 1, true) ~= nil, "nsh itself runs in a user namespace here, so devtmpfs is refused even without a new one")
else
  check(plain == "ok", "as root of the initial user namespace, devtmpfs mounts (in a mount namespace of its own)")
end

section("sysfs needs a network namespace of the same user namespace")
local hs = ns.clone({ns = "user,mnt", uid_map = map, gid_map = "0 " .. sys.getgid() .. " 1"}, function(dir)
  sys.run({"mkdir", "-p", dir .. "/sys"})
  local ok, err = pcall(mount.mount, "sysfs", dir .. "/sys", "sysfs", "ro")
  return ok and "ok" or err
end, dir)
hs:wait()
say("  sysfs in a user namespace that has no net namespace of its own: %s", hs:result())
check(hs:result():find("EPERM", 1, true) ~= nil, "sysfs is refused when the network namespace belongs to a more privileged user namespace")
finish()
