-- propagation.lua: what clone(2), unshare(2) and unshare(1) do to mount
-- propagation, tested, not assumed.
--
-- Seed 004 says: a mount namespace made by clone(CLONE_NEWNS) is a copy of
-- the parent's, one made by unshare(CLONE_NEWNS) a PRIVATE copy whose changes
-- the parent does not see. This script builds a shared mount in a namespace it
-- owns and looks at what each way of making a namespace does with it.
-- Seeds: 004 (the claim), 003.

section("Set-up: a shared tmpfs in a namespace of the script's own")
local dir = rootfs.tmpdir("prop")
ns.unshare("mnt")
local A = ns.id("mnt")
mount.make("/", "private", true)      -- nothing here reaches the host
mount.tmpfs(dir, {size = "4m"})
mount.make(dir, "shared")
local base = mount.find(dir)
say("The shell is in mnt:[%d]; %s is a tmpfs with propagation %q (peer group %d).", A, dir, base.propagation, base.shared)
check(base.shared > 0, "the set-up tmpfs is shared")

-- probe runs in a child whose namespace was made one way, and reports what
-- it sees: its copy's propagation, and whether mounts travel both ways.
local function probe(dir, how)
  if how == "unshare" then ns.unshare("mnt") end   -- unshare(2) in the child
  local me = mount.find(dir)
  local name = how
  sys.run({"mkdir", "-p", dir .. "/from-" .. name})
  mount.tmpfs(dir .. "/from-" .. name, {size = "1m"})
  local f = io.open(dir .. "/ready-" .. name, "w"); f:close()
  -- wait for the parent's mount, made after ours
  local seen = false
  for _ = 1, 100 do
    if mount.find(dir .. "/from-parent-" .. name) then seen = true break end
    sys.sleep(0.05)
  end
  return {ns = ns.id("mnt"), propagation = me.propagation, shared = me.shared, master = me.master, sees_parent = seen}
end

local function exists(p) local f = io.open(p) if f then f:close() return true end return false end

local function run(how, opts)
  local h = ns.clone(opts, probe, dir, how)
  for _ = 1, 100 do if exists(dir .. "/ready-" .. how) then break end sys.sleep(0.05) end
  local parent_sees = mount.find(dir .. "/from-" .. how) ~= nil
  sys.run({"mkdir", "-p", dir .. "/from-parent-" .. how})
  mount.tmpfs(dir .. "/from-parent-" .. how, {size = "1m"})
  check(h:wait() == 0, how .. ": the child ran")
  local r = h:result()
  r.parent_sees = parent_sees
  -- the child has ended, and its mount namespace with it (nothing else is in it)
  r.parent_keeps = mount.find(dir .. "/from-" .. how) ~= nil
  return r
end

section("clone(2) with CLONE_NEWNS (ns.clone(\"mnt\", fn))")
local c = run("clone", {ns = "mnt"})
say("  the child's copy of %s: %q (the parent's: %q)", dir, c.propagation, base.propagation)
check(c.ns ~= A, "clone: the child has a new mount namespace")
check(c.shared == base.shared, "clone: the copy stays shared, in the SAME peer group", c.propagation)
check(c.parent_sees, "clone: a mount the child makes under it appears in the parent")
check(c.sees_parent, "clone: a mount the parent makes afterwards appears in the child")
check(c.parent_keeps, "clone: the parent's copy stays after the child and its namespace are gone")

section("unshare(2) with CLONE_NEWNS (ns.unshare(\"mnt\") in a child)")
local u = run("unshare", "")   -- no new namespace at clone: the child unshares itself
say("  the child's copy of %s: %q (the parent's: %q)", dir, u.propagation, base.propagation)
check(u.ns ~= A, "unshare: the child has a new mount namespace")
check(u.shared == base.shared, "unshare: the copy stays shared, in the same peer group, exactly as with clone", u.propagation)
check(u.parent_sees, "unshare: a mount the child makes under it appears in the parent")
check(u.sees_parent, "unshare: a mount the parent makes afterwards appears in the child")
check(u.parent_keeps, "unshare: the parent's copy stays after the child ends, as with clone")
say("So seed 004's claim is wrong: clone(2) and unshare(2) both call copy_mnt_ns() and copy every mount's propagation as it is.")

section("clone(2) with CLONE_NEWUSER too: a less privileged namespace")
local cu = run("clone+user", {ns = "user,mnt", uid_map = "0 " .. sys.getuid() .. " 1", gid_map = "0 " .. sys.getgid() .. " 1"})
say("  the child's copy of %s: %q", dir, cu.propagation)
check(cu.master == base.shared and cu.shared == 0, "with a new user namespace, shared mounts become slaves of the parent's group (master:N)", cu.propagation)
check(not cu.parent_sees, "so a mount the child makes does not reach the parent")
check(cu.sees_parent, "but a mount the parent makes still reaches the child")
check(not cu.parent_keeps, "and nothing of it is in the parent after the child ends")

section("The unshare(1) command")
local line = "awk -v d=" .. dir .. " '$5==d {for (i=7; $i!=\"-\"; i++) printf \"%s \", $i; print \"\"}' /proc/self/mountinfo"
local out1 = sys.run({"unshare", "-m", "sh", "-c", line})
local out2 = sys.run({"unshare", "-m", "--propagation", "unchanged", "sh", "-c", line})
say("  unshare -m:                          optional fields of %s: %q", dir, (out1:gsub("%s+$", "")))
say("  unshare -m --propagation unchanged:  %q", (out2:gsub("%s+$", "")))
check(out1:match("^%s*$") ~= nil, "unshare(1) makes every mount private (no shared:N) in its new namespace by default")
check(out2:find("shared:" .. base.shared, 1, true) ~= nil, "with --propagation unchanged it leaves shared:N as the syscall made it")
local out3 = sys.run({"unshare", "-m", "sh", "-c", "mkdir -p " .. dir .. "/from-unshare1 && mount -t tmpfs none " .. dir .. "/from-unshare1"})
check(mount.find(dir .. "/from-unshare1") == nil, "a mount made after unshare -m does not reach the parent", out3)
local out4 = sys.run({"unshare", "-m", "--propagation", "unchanged", "sh", "-c", "mkdir -p " .. dir .. "/from-unshare1u && mount -t tmpfs none " .. dir .. "/from-unshare1u"})
check(mount.find(dir .. "/from-unshare1u") ~= nil, "with --propagation unchanged it does, and stays after unshare(1) has ended: the reference for ns.clone above", out4)
say("The privacy seed 004 saw is the unshare(1) command's own mount --make-rprivate /, not unshare(2).")

section("The shell's table now")
print(view.mounts(nil, {under = dir}))
finish()
