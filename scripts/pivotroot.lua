-- pivotroot.lua: pivot_root into a rootfs, step by step, with the kernel's
-- refusals on the way.
--
-- After pivot_root the container sees a new "/", the old root is detached, and
-- /proc and /sys are empty directories until mounted ("mount: no /proc/mounts"
-- in the go-container log). Seed: 003.

section("A root filesystem built from the host")
local dir = rootfs.tmpdir("pivot")
local root = dir .. "/rootfs"
local r = rootfs.build(root, {binaries = {"/bin/sh", "/bin/ls", "/bin/cat"}})
say("Built %s: %d files, %d KiB on disk (sh, ls, cat and their libraries).", root, r.files, math.floor(r.size / 1024))

local function try(f, ...)
  local ok, err = pcall(f, ...)
  return ok and "ok" or tostring(err)
end

-- In the child, a new mount namespace (and a PID namespace, so that a proc
-- can be mounted in a user namespace too).
local h = ns.clone("mnt,pid", function(root)
  local out = {}
  -- 1. pivot_root refuses shared mounts; make the whole tree private first
  mount.make("/", "private", true)
  sys.run({"mkdir", "-p", root .. "/.oldroot"})
  -- 2. new_root on the same mount as the current root: checked first
  out.same_mount = try(mount.pivot_root, root, root .. "/.oldroot")
  -- 3. new_root on another mount, but not a mount point itself
  local t = root .. "/../scratch"
  sys.run({"mkdir", "-p", t})
  mount.tmpfs(t, {size = "1m"})
  sys.run({"mkdir", "-p", t .. "/sub"})
  out.not_mountpoint = try(mount.pivot_root, t .. "/sub", t .. "/sub")
  mount.umount(t)
  mount.bind(root, root)
  -- 4. put_old must be at or under new_root (here: /proc, another mount)
  out.put_old_outside = try(mount.pivot_root, root, "/proc")
  out.pivot = try(mount.pivot_root, root, root .. "/.oldroot")
  out.ls_root = sys.run({"/bin/ls", "/"})
  out.ls_oldroot = sys.run({"/bin/ls", "/.oldroot"})
  local mi = sys.run({"/bin/cat", "/.oldroot/proc/self/mountinfo"})
  out.mounts_with_old = select(2, mi:gsub("\n", ""))
  -- 5. the old root is still reachable at /.oldroot: detach it
  mount.umount("/.oldroot", "detach")
  sys.run({"/bin/sh", "-c", "rmdir /.oldroot"})
  out.ls_proc = sys.run({"/bin/ls", "-A", "/proc"})
  out.list_without_proc = try(mount.list)
  out.ls_sys = sys.run({"/bin/ls", "-A", "/sys"})
  -- 6. a proc of our own, now that no other proc is visible
  out.late_proc = try(mount.mount, "proc", "/proc", "proc", "nosuid,nodev,noexec")
  return out
end, root)
check(h:wait() == 0, "the child ran")
local o = h:result()

section("Step by step")
say("  pivot_root with the new root still on the host's root mount (/tmp is on / here):\n    %s", o.same_mount)
if os.getenv("NSH_USERNS") then
  -- the kernel tests MNT_LOCKED before the same-mount rule: a mount inherited
  -- from a more privileged user namespace is locked, and new_root is on one
  check(o.same_mount:find("EINVAL", 1, true) ~= nil, "in a user namespace the host's root mount is locked (inherited from a more privileged namespace): pivot_root refuses it with EINVAL before anything else")
else
  check(o.same_mount:find("EBUSY", 1, true) ~= nil, "pivot_root refuses a new_root on the same mount as the current root (EBUSY)")
end
say("  pivot_root into a directory of a tmpfs that is not itself a mount point:\n    %s", o.not_mountpoint)
check(o.not_mountpoint:find("EINVAL", 1, true) ~= nil, "pivot_root refuses a new_root that is not a mount point (EINVAL)")
say("  pivot_root with put_old outside the new root:\n    %s", o.put_old_outside)
check(o.put_old_outside:find("EINVAL", 1, true) ~= nil, "pivot_root refuses a put_old that is not under new_root (EINVAL)")
check(o.pivot == "ok", "after make / rprivate and a bind of the new root onto itself, pivot_root succeeds", o.pivot)
say("  ls / after pivot_root: %s", (o.ls_root:gsub("\n", " ")))
check(o.ls_root:find("bin", 1, true) and not o.ls_root:find("work", 1, true), "/ is the built rootfs now (no /work of the host)")
check(o.ls_oldroot:find("proc", 1, true) ~= nil, "the old root (the host's /) is still there at put_old until detached")
check(o.mounts_with_old > 2, "with the old root attached, the table still holds every host mount", o.mounts_with_old)

section("After the old root is detached")
check(o.ls_proc == "", "/proc is an empty directory: nothing is mounted there yet")
say("  mount.list() with no proc: %s", o.list_without_proc)
check(o.list_without_proc ~= "ok", "with no /proc there is no mount table to read (\"mount: no /proc/mounts\" in the log)")
check(o.ls_sys == "", "/sys is empty too")
local userns = os.getenv("NSH_USERNS") ~= nil
say("  mounting proc after the old root is gone: %s", o.late_proc)
if userns then
  check(o.late_proc:find("EPERM", 1, true) ~= nil,
    "in a user namespace the kernel refuses a new proc once no proc is visible in the namespace (mount_too_revealing: a proc may only be mounted where a fully visible one already is)")
else
  check(o.late_proc == "ok", "as root of the initial user namespace, proc can be mounted at any time")
end

section("The runc order: proc mounted into the new root before pivot_root")
say("mount.container{rootfs=, proc=true} does make / rprivate, bind, mount proc at rootfs/proc, pivot_root, detach:")
local h2 = ns.clone("mnt,pid", function(root)
  mount.container{rootfs = root, proc = true}
  return {table = mount.list(), ps = sys.run({"/bin/ls", "/proc"})}
end, root)
check(h2:wait() == 0, "the child ran")
o = h2:result()
print(view.mounts(o.table))
check(#o.table == 2 and o.table[1].target == "/" and o.table[2].target == "/proc",
  "once proc is mounted, the container's whole table is its root and /proc", #o.table)
check(o.table[1].source ~= "" and o.table[1].root:find("rootfs", 1, true) ~= nil,
  "the root mount's source is the host filesystem the rootfs lives on (a bind keeps the original device, as the log noticed)", o.table[1].root)
local pids = {}
for p in o.ps:gmatch("(%d+)\n") do pids[#pids + 1] = p end
check(#pids >= 1 and pids[1] == "1", "the new proc shows the PID namespace of the child: it starts at 1", table.concat(pids, " "))
finish()
