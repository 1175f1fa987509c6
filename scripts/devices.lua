-- devices.lua: devtmpfs leaks every host device; a minimal tmpfs /dev does not.
--
-- The go-container log found its /dev full of the host's disks and ttys after
-- mounting devtmpfs; runc and bubblewrap give a container a tmpfs /dev with a
-- handful of nodes instead. Seed: 003.

local userns = os.getenv("NSH_USERNS") ~= nil
local dir = rootfs.tmpdir("devices")
local root = dir .. "/rootfs"
rootfs.build(root, {binaries = {"/bin/ls", "/bin/sh", "/bin/cat", "/usr/bin/head", "/usr/bin/wc"}})

local function listdev(root, mode)
  local ok, err = pcall(mount.container, {rootfs = root, dev = mode, proc = true})
  if not ok then return {error = err} end
  return {ls = sys.run({"/bin/ls", "-A", "/dev"}), table = mount.list(),
          io = sys.run({"/bin/sh", "-c", "echo x >/dev/null && head -c 4 /dev/zero | wc -c && head -c 8 /dev/urandom | wc -c && echo y >/dev/full; echo $?"})}
end

local function names(ls) local t = {} for n in ls:gmatch("[^\n]+") do t[#t + 1] = n end return t end

section("devtmpfs: the kernel's own /dev")
local h = ns.clone("mnt,pid", listdev, root, "devtmpfs")
h:wait()
local d = h:result()
if userns then
  say("  %s", d.error)
  check(d.error and d.error:find("EPERM", 1, true) ~= nil, "in a user namespace devtmpfs is refused (EPERM): a container there cannot leak the host's devices this way")
else
  local n = names(d.ls)
  say("  /dev of a container with devtmpfs: %d entries: %s ...", #n, table.concat(n, " ", 1, math.min(#n, 24)))
  check(#n > 40, "devtmpfs shows every device of the host", #n)
  check(d.ls:find("vda", 1, true) or d.ls:find("sda", 1, true), "including the host's disks (vda/sda)")
end

section("A minimal tmpfs /dev")
local h2 = ns.clone("mnt,pid", listdev, root, "minimal")
check(h2:wait() == 0, "the container ran")
local m = h2:result()
local n = names(m.ls)
say("  /dev of a container with dev=\"minimal\": %s", table.concat(n, " "))
local expect = {"full", "null", "ptmx", "random", "urandom", "tty", "zero", "pts", "shm", "fd", "stdin", "stdout", "stderr"}
local have = {}
for _, x in ipairs(n) do have[x] = true end
local missing = {}
for _, x in ipairs(expect) do if not have[x] then missing[#missing + 1] = x end end
check(#missing == 0, "it has full, null, ptmx, random, urandom, tty, zero, pts, shm, fd, stdin, stdout, stderr", table.concat(missing, " "))
check(#n <= #expect + 1, "and nothing else (console only when stdin is a terminal)", #n)
check(not have.vda and not have.sda and not have.mem, "no disks, no /dev/mem")
local lines = names(m.io)
check(lines[1] == "4" and lines[2] == "8", "the nodes work: /dev/zero and /dev/urandom read, /dev/null swallows", m.io)
check(lines[3] ~= "0", "writing to /dev/full fails (ENOSPC), as the real device does")
local bound = 0
for _, row in ipairs(m.table) do if row.target == "/dev/null" then bound = bound + 1 end end
if userns then
  check(bound == 1, "in a user namespace mknod is refused (only CAP_MKNOD in the initial user namespace creates devices), so /dev/null is the host's node bind-mounted")
else
  check(bound == 0, "as root, the nodes are made with mknod (no bind mounts)")
end
print(view.mounts(m.table, {under = "/dev"}))

section("A /dev by hand: sys.mknod and sys.stat")
-- what mount.container's dev="minimal" does for you, one node at a time
-- (seed 003's list: the numbers are the kernel's, Documentation/admin-guide/devices.txt)
sys.mkdir(dir .. "/dev", "0755")
local byhand = ns.clone("mnt", function(dev)
  mount.make("/", "private", true)
  mount.tmpfs(dev, {mode = "755"})
  local out = {}
  for _, n in ipairs({{"null", 1, 3}, {"zero", 1, 5}, {"console", 5, 1}, {"ptmx", 5, 2}}) do
    local ok, err = pcall(sys.mknod, dev .. "/" .. n[1], "char", n[2], n[3], "0666")
    out[#out + 1] = {name = n[1], ok = ok, err = err, want = n[2] .. ":" .. n[3]}
    if ok then out[#out].rdev = sys.stat(dev .. "/" .. n[1]).rdev end
  end
  sys.mknod(dev .. "/initctl", "fifo", "0600")
  sys.symlink("/proc/self/fd", dev .. "/fd")
  local names = {}
  for _, e in ipairs(sys.readdir(dev)) do names[#names + 1] = e.name .. "(" .. e.type .. ")" end
  return out, table.concat(names, " ")
end, dir .. "/dev")
check(byhand:wait() == 0, "the mount-namespace child built its /dev")
local made, listing = byhand:result()
say("  %s", listing)
for _, n in ipairs(made) do
  if userns then
    check(not n.ok and n.err:find("EPERM", 1, true), "mknod " .. n.name .. " in a user namespace: EPERM (device nodes need CAP_MKNOD in the initial user namespace)", n.err)
  else
    check(n.ok and n.rdev == n.want, "mknod " .. n.name .. " " .. n.want .. ": sys.stat reads the device number back", n.rdev or n.err)
  end
end
check(listing:find("initctl(fifo)", 1, true) and listing:find("fd(symlink)", 1, true), "a FIFO and a symlink need no privilege: root of any user namespace makes them")
finish()
