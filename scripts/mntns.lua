-- mntns.lua: a mount namespace of one's own.
--
-- A new mount namespace starts as a copy of its parent's mount table; a mount
-- made inside (a tmpfs at .../iamprivate, as in the go-container log) appears
-- in the new table only. Seed: 003.

section("Mount namespaces: a private copy of the mount table")
local host_mnt = ns.id("mnt")
local dir = rootfs.tmpdir("mntns")
local target = dir .. "/iamprivate"
sys.run({"mkdir", target})
say("nsh starts in mount namespace mnt:[%d]. The experiment mounts a tmpfs at %s.", host_mnt, target)

say("\nThe shell moves into a new mount namespace (unshare(CLONE_NEWNS) on its own thread):")
ns.unshare("mnt")
local inner = ns.id("mnt")
check(inner ~= host_mnt, "the mount namespace inode differs from the one nsh started in", inner, host_mnt)
-- Make everything private first: had / been shared with the host (systemd
-- makes it so), the tmpfs would propagate back out. See propagation.lua.
mount.make("/", "private", true)
local before = mount.list()
mount.tmpfs(target, {size = "4m"})
print(view.mounts{before = before, after = mount.list()})
local m = mount.find(target)
check(m ~= nil and m.fstype == "tmpfs", "inside, the new table has a tmpfs at iamprivate")
local out = sys.run("grep iamprivate /proc/mounts")
say("  grep iamprivate /proc/mounts (inside): %s", out:gsub("\n$", ""))
check(out:find("tmpfs " .. target .. " tmpfs", 1, true) ~= nil, "a command run inside sees it in /proc/mounts, as in the log")

say("\nA process started here stays in this namespace while the shell goes back:")
local h = ns.spawn{"sleep", "60"}
ns.restore("mnt")
check(ns.id("mnt") == host_mnt, "the shell is back in the namespace it started in")
local outside = sys.run("grep iamprivate /proc/mounts; true")
check(outside == "", "outside, /proc/mounts has no iamprivate line (the go-container log's second terminal)", outside)
check(mount.find(target) == nil, "outside, the mount table has nothing at iamprivate")
check(ns.id(h.pid, "mnt") == inner, "the sleeping process is in the inner namespace", ns.id(h.pid, "mnt"))
say("\nWhat differs between the shell's table and the sleeping process's:")
local d = view.mounts(nil, h.pid)
print(d)
check(#d.added == 1 and d.added[1].target == target and #d.removed == 0,
  "the only difference between the two namespaces is the tmpfs mounted inside")
h:kill()
h:wait()
say("\nWhen its last process ends, the namespace and its tmpfs are gone; nothing to unmount.")
finish()
