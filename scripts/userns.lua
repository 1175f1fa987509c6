-- userns.lua: root inside, still yourself outside.
--
-- A user namespace maps ids: uid_map line "INSIDE OUTSIDE COUNT". A process
-- can be uid 0 with every capability inside while the kernel checks it as
-- its outside uid against anything outside. Seeds: 003 (uid_map "0 1000 1"),
-- 002 (mapping yourself to root to avoid sudo), 004 (a break-in stays inside).

local in_userns = os.getenv("NSH_USERNS") ~= nil
local myuid = sys.getuid()

section("The shell's own identity")
print(view.uidmap())
if in_userns then
  say("nsh runs as an ordinary user here and put itself in a user namespace that maps it to root (nsh -U).")
end

section("An unmapped id shows as the overflow uid")
local h0 = ns.clone("user", function()
  return {uid = sys.getuid(), gid = sys.getgid(), caps = sys.caps().all}
end)
h0:wait()
local r0 = h0:result()
say("a child in a new user namespace with no uid_map yet: uid %d gid %d", r0.uid, r0.gid)
check(r0.uid == 65534 and r0.gid == 65534, "an id with no mapping shows as the overflow uid/gid 65534")
check(r0.caps, "even unmapped, the first process of a new user namespace has every capability in it")

section("execve keeps the capabilities only for uid 0 (LWN part 5)")
-- user_namespaces(7): a process that execs as a uid the namespace does not
-- map, or as a non-zero uid, loses its capabilities (a program without file
-- capabilities); mapped to 0 it keeps them. Held children, so the parent
-- writes the map (or none) before the function runs.
local function exec_caps(map)
  local h = ns.clone({ns = "user", hold = true}, function()
    local before = sys.caps().all
    local after = sys.run("grep CapEff /proc/self/status"):match("CapEff:%s*(%x+)")
    return {uid = sys.getuid(), before = before, after = after}
  end)
  if map then h:uid_map(map) end
  h:release(); h:wait()
  return h:result()
end
local unmapped = exec_caps(nil)
local root = exec_caps(string.format("0 %d 1", myuid))
local other = exec_caps(string.format("1000 %d 1", myuid))
for _, c in ipairs({{"no uid_map", unmapped}, {"uid_map 0 -> you", root}, {"uid_map 1000 -> you", other}}) do
  say("%-20s uid %5d  function: every capability %-5s  after execve: CapEff %s", c[1], c[2].uid, tostring(c[2].before), c[2].after)
end
check(unmapped.before and root.before and other.before, "before any execve the function has every capability, mapped or not")
check(unmapped.after == "0000000000000000", "execve as an unmapped uid (65534) drops every capability")
check(other.after == "0000000000000000", "execve as uid 1000 drops every capability")
check(root.after ~= "0000000000000000", "execve as uid 0 keeps them")

section("uid_map can be written once")
local h1 = ns.spawn{"/bin/sleep", "60", ns = "user"}
local map = string.format("0 %d 1", myuid)
h1:uid_map(map)
local again, err = pcall(h1.uid_map, h1, map)
say("second write of uid_map: %s", again and "accepted?!" or err)
check(not again and tostring(err):find("EPERM"), "a second write to uid_map fails with EPERM")
print(view.uidmap(h1.pid))
h1:kill(9); h1:wait()

section("An unprivileged user becomes root inside")
-- The writer of the maps must be unprivileged for the kernel's unprivileged
-- rules to apply. As real root we drop to nobody first; inside nsh's own
-- user namespace there is no other uid to drop to.
local function unprivileged_setup(outside, try_rule)
  local h = ns.spawn{"/bin/sleep", "60", ns = "user", hold = true}
  local map = string.format("0 %d 1", outside)
  local gid_first = try_rule and pcall(h.gid_map, h, map)  -- before setgroups=deny
  h:setgroups("deny")
  h:uid_map(map)
  local gid_ok = pcall(h.gid_map, h, map)
  h:release()
  local m = view.uidmap(h.pid)
  local r = {gid_before_deny = gid_first, gid_after_deny = gid_ok, me = sys.getuid(),
             inside = m.inside_uid, outside = m.uid, setgroups = m.setgroups, text = tostring(m)}
  h:kill(9); h:wait()
  return r
end
local r
if not in_userns then
  local h = ns.clone({uid = 65534, gid = 65534}, unprivileged_setup, 65534, true)
  check(h:wait() == 0, "the unprivileged child ran")
  r = h:result()
  say("an unprivileged process (uid %d outside) starts a child in a new user namespace and writes its maps:", r.me)
  print(r.text)
  check(not r.gid_before_deny, "an unprivileged writer cannot write gid_map before setgroups is \"deny\"")
  check(r.gid_after_deny, "after writing \"deny\" to setgroups, gid_map \"0 65534 1\" is accepted")
  check(r.setgroups == "deny", "the namespace keeps setgroups = deny")
  check(r.inside == 0 and r.outside == 65534, "the child is root (uid 0) inside and still uid 65534 outside")
else
  r = unprivileged_setup(myuid, false)
  print(r.text)
  check(r.inside == 0, "the child is root (uid 0) inside")
  say("(Not shown here: the setgroups rule binds only writers without CAP_SETGID over the parent namespace;")
  say(" nsh is root of its own user namespace, so it keeps that capability. Run as root to see the rule.)")
end

section("Root inside cannot do what needs root outside")
local h2 = ns.clone({ns = "user", uid_map = "0 " .. (in_userns and myuid or 65534) .. " 1",
                     gid_map = "0 " .. (in_userns and sys.getgid() or 65534) .. " 1"}, function()
  local caps = sys.caps()
  local host_name_ok = pcall(sys.hostname, "broken-in")
  local shadow = io.open("/etc/shadow")
  local kill_ok = pcall(sys.kill, 1, 0)
  local _, mount_code, mount_err = sys.run("mount -t tmpfs none /mnt")
  return {uid = sys.getuid(), all_caps = caps.all, host_name_ok = host_name_ok,
          shadow = shadow ~= nil, kill_ok = kill_ok, mount_code = mount_code, mount_err = mount_err}
end)
h2:wait()
local b = h2:result()
say("inside the new user namespace: uid %d, all capabilities: %s", b.uid, tostring(b.all_caps))
check(b.uid == 0 and b.all_caps, "inside, the process is root with every capability")
check(not b.host_name_ok, "it cannot change the hostname of a UTS namespace it does not own (EPERM)")
check(not b.shadow, "it cannot read /etc/shadow: outside it is still an ordinary uid")
check(not b.kill_ok, "it cannot signal the host's PID 1")
check(b.mount_code ~= 0 and b.mount_err:lower():find("permission denied"),
      "it cannot mount in the host's mount namespace (permission denied)", b.mount_err)

section("Mapping uid 0 needs CAP_SETFCAP")
-- user_namespaces(7), since Linux 5.12: a uid_map that maps uid 0 of the
-- parent namespace needs CAP_SETFCAP there, else a root-owned file with file
-- capabilities written inside would grant them outside. Dropping setfcap from
-- the bounding set (ns.clone{cap_drop=...}) takes it from every program the
-- child executes: an nsh started there cannot map 0 any more, other ids it can.
local function try_map(map)
  return string.format("local ok, e = pcall(ns.spawn, {'/bin/true', ns = 'user', uid_map = '%s', gid_map = '%s'})\n" ..
    "if ok then e:wait() print('mapped') else print(e) end", map, map)
end
local other = 65534
local hc = ns.clone({cap_drop = {"setfcap"}}, function(zero, nonzero)
  local bset = sys.prctl("capbset_read", "setfcap")
  local out0 = sys.run({"/proc/self/exe", "--no-userns", "-e", zero})
  local out1 = sys.run({"/proc/self/exe", "--no-userns", "-e", nonzero})
  return true, bset, out0, out1
end, try_map("0 0 1"), try_map("0 " .. other .. " 1"))
check(hc:wait() == 0, "the child with setfcap dropped from its bounding set ran")
local _, bset, out0, out1 = hc:result()
say("  a program it executes, mapping 0 to 0: %s", out0:gsub("\n.*", ""))
say("  the same, mapping 0 to %d: %s", other, out1:gsub("\n", ""))
check(bset == false, "sys.prctl(\"capbset_read\", \"setfcap\") is false after cap_drop")
check(out0:find("EPERM", 1, true), "without CAP_SETFCAP, writing a uid_map that maps uid 0 is refused (EPERM)", out0)
if in_userns then
  -- nsh -U maps only the user, as 0: 65534 does not exist there
  check(out1:find("EPERM", 1, true), "in nsh -U's namespace uid 65534 is not mapped (only the user, as 0), so that map is refused too (EPERM)", out1)
else
  check(out1:find("mapped", 1, true), "mapping another uid (65534) to 0 inside still works", out1)
end
finish()
