-- images.lua: containers made by copying an image's root filesystem.
--
-- The go-container log's first "images": every container gets its own full
-- copy of the image under containers/<id>/rootfs. Each copy costs the whole
-- image's size; a write in one copy is invisible to the others. Seed: 003.

local dir = rootfs.tmpdir("images")
local img = dir .. "/image"
local r = rootfs.build(img, {binaries = {"/bin/sh", "/bin/cat", "/bin/ls", "/bin/echo"}, nsh = true})

section("An image built from the host")
say("  %s: %d files, %.1f MiB on disk (sh, cat, ls, echo with their libraries, and the static nsh)", img, r.files, r.size / 1048576)

section("Two containers, each with a full copy")
local ids = {"c1", "c2"}
for _, id in ipairs(ids) do
  rootfs.copy(img, dir .. "/containers/" .. id .. "/rootfs")
end
say("  ls containers/c1/rootfs: %s", (sys.run({"ls", dir .. "/containers/c1/rootfs"}):gsub("\n", " ")))
local sizes = {}
for _, id in ipairs(ids) do
  sizes[id] = rootfs.size(dir .. "/containers/" .. id .. "/rootfs")
  say("  du %-40s %8.1f MiB", "containers/" .. id .. "/rootfs", sizes[id] / 1048576)
end
say("  du %-40s %8.1f MiB (image + copies)", "(all)", rootfs.size(dir) / 1048576)
check(math.abs(sizes.c1 - r.size) < r.size * 0.05 and math.abs(sizes.c2 - r.size) < r.size * 0.05,
  "each copy takes as much space as the image itself")

local function run(id, cmd)
  local out = dir .. "/" .. id .. ".out"
  local h = ns.spawn{"/bin/sh", "-c", cmd, ns = "mnt,pid,uts,ipc", hostname = id,
    rootfs = dir .. "/containers/" .. id .. "/rootfs", proc = true, dev = "minimal", stdout = out}
  local code = h:wait()
  local f = io.open(out) local text = f and f:read("*a") or "" if f then f:close() end
  os.remove(out)
  return code, text
end

section("A write in one container")
local code, out = run("c1", "echo written by $(cat /proc/sys/kernel/hostname) > /etc/note && cat /etc/note")
say("  c1: %s", (out:gsub("\n$", "")))
check(code == 0 and out == "written by c1\n", "c1 writes /etc/note in its own root")
code, out = run("c2", "cat /etc/note 2>&1; ls /etc")
say("  c2: %s", (out:gsub("\n", " ")))
check(out:find("No such file", 1, true) ~= nil, "c2 does not see it: its root is another copy")
check(io.open(img .. "/etc/note") == nil, "the image itself is untouched")
local f = io.open(dir .. "/containers/c1/rootfs/etc/note")
check(f ~= nil, "on the host, the note is a file in c1's copy")
if f then f:close() end
finish()
