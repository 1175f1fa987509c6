-- overlay.lua: containers sharing one image through overlayfs.
--
-- Each container mounts an overlay: the image as the read-only lower layer, a
-- small upper directory of its own for what it changes. The image is stored
-- once; a write in one container lands in its upper dir and is invisible to
-- the other. Seed: 003 ("this will get better").

local dir = rootfs.tmpdir("overlay")
local img = dir .. "/image"
local r = rootfs.build(img, {binaries = {"/bin/sh", "/bin/cat", "/bin/ls", "/bin/echo"}, nsh = true})
section("One image, two containers")
say("  image %s: %.1f MiB on disk", img, r.size / 1048576)
for _, id in ipairs({"c1", "c2"}) do
  for _, sub in ipairs({"upper", "work", "merged"}) do sys.run({"mkdir", "-p", dir .. "/" .. id .. "/" .. sub}) end
end

-- The container: an overlay in its own mount namespace, then pivot_root
-- into the merged view. The overlay dies with the namespace; upper stays.
local function container(img, c, script)
  mount.overlay{lower = img, upper = c .. "/upper", work = c .. "/work", target = c .. "/merged"}
  local m = mount.find(c .. "/merged")
  mount.container{rootfs = c .. "/merged", proc = true, dev = "minimal"}
  local out, code = sys.run({"/bin/sh", "-c", script})
  return {out = out, code = code, super = m.super_options}
end

local a = ns.clone("mnt,pid", container, img, dir .. "/c1", "echo from c1 > /etc/note && cat /etc/note && echo changed:x:1:1::/:/bin/sh >> /etc/passwd")
check(a:wait() == 0, "c1 ran")
local ra = a:result()
say("  c1's overlay: %s", ra.super)
check(ra.out == "from c1\n", "c1 writes /etc/note and appends to /etc/passwd", ra.out)
local b = ns.clone("mnt,pid", container, img, dir .. "/c2", "cat /etc/note 2>&1; cat /etc/passwd")
check(b:wait() == 0, "c2 ran")
local rb = b:result()
say("  c2 reads: %s", (rb.out:gsub("\n", " | ")))
check(rb.out:find("No such file", 1, true) ~= nil, "c2 does not see c1's new file")
check(rb.out:find("changed", 1, true) == nil, "nor c1's change to a file of the image")

section("What is stored where")
local function exists(p) local f = io.open(p) if f then f:close() return true end return false end
local s1, s2 = rootfs.size(dir .. "/c1/upper"), rootfs.size(dir .. "/c2/upper")
say("  du image      %8.1f KiB", r.size / 1024)
say("  du c1/upper   %8.1f KiB  %s", s1 / 1024, (sys.run({"find", dir .. "/c1/upper", "-type", "f", "-printf", "%P "})))
say("  du c2/upper   %8.1f KiB", s2 / 1024)
check(s1 < r.size / 20 and s2 < r.size / 20, "the upper dirs are tiny next to the image: only the differences are stored")
check(exists(dir .. "/c1/upper/etc/note") and exists(dir .. "/c1/upper/etc/passwd"), "c1's upper holds the new file and a copy-up of the changed /etc/passwd")
check(not exists(img .. "/etc/note"), "the lower image is untouched")
local f = io.open(img .. "/etc/passwd")
local passwd = f and f:read("*a") or ""
if f then f:close() end
check(passwd ~= "" and passwd:find("changed", 1, true) == nil, "the image's /etc/passwd is unchanged")
finish()
