-- setns.lua: joining an existing namespace of each type (seed 004: "can i
-- add an process to an already existing namespace? Yes via setns()").
--
-- A holder process sits in new namespaces of every type. The shell joins
-- them one type at a time with setns(2), looks around, and comes back. Two
-- types refuse a Go program, and the script shows why.

section("A holder in new namespaces of every type")
local h = ns.clone({ns = "user,mnt,uts,ipc,pid,net,cgroup,time", uid_map = "0 0 1", gid_map = "0 0 1",
                    hostname = "holder"}, function()
  sys.msgget(4242, true)          -- a System V queue in its IPC namespace
  sys.sleep(60)
end)
-- wait until the holder has made its queue (poll its IPC namespace)
for _ = 1, 200 do
  local ok = pcall(function()
    ns.setns(h, "ipc")
    local found = #sys.msgqueues() > 0
    ns.restore("ipc")
    assert(found)
  end)
  if ok then break end
  ns.restore("ipc")
  sys.sleep(0.01)
end
print(view.ns(h.pid))

-- As an ordinary user nsh runs in a user namespace of its own, with private
-- copies of the mount, UTS and IPC namespaces. It may leave the host's net,
-- cgroup and PID namespaces but never come back (setns needs CAP_SYS_ADMIN
-- over the namespace joined): for those it starts a child inside instead.
local in_userns = os.getenv("NSH_USERNS") ~= nil
local one_way = {net = true, cgroup = true, pid = true}

local function joined(types, look)
  if in_userns and one_way[types] then
    say("(%s: as an ordinary user the shell could not come back; a child joins instead)", types)
    return look(true)
  end
  ns.setns(h, types)
  local seen = look()
  local differ = table.concat(ns.differ(), ",")
  ns.restore(types)
  return seen, differ
end

section("Joining one type at a time")
local host_name = sys.hostname()
local name, d1 = joined("uts", function() return sys.hostname() end)
say("uts: hostname inside is %q (the shell's own is %q); the shell differs in: %s", name, host_name, d1)
check(name == "holder" and sys.hostname() == host_name, "setns(uts): the shell sees the holder's hostname, and is back after ns.restore")

local qs = joined("ipc", function() return #sys.msgqueues() end)
check(qs == 1 and #sys.msgqueues() == 0, "setns(ipc): the holder's message queue is visible only while joined")

local links = joined("net", function(by_child)
  if by_child then
    local c = ns.spawn{"/bin/sh", "-c", "exit $(ip -o link | wc -l)", join = h, join_ns = "net"}
    return (c:wait())
  end
  return #net.links()
end)
check(links == 1, "setns(net): the holder's network namespace holds only lo", links)

local cg = joined("cgroup", function(by_child)
  if by_child then
    local file = os.tmpname()
    ns.spawn{"/bin/cat", "/proc/self/cgroup", join = h, join_ns = "cgroup", stdout = file}:wait()
    local text = io.open(file):read("*a")
    os.remove(file)
    return text
  end
  return io.open("/proc/thread-self/cgroup"):read("*a")
end)
check(cg:find("0::/\n") ~= nil, "setns(cgroup): the shell's cgroup paths are read relative to the holder's cgroup namespace root")

local pid_seen = joined("pid", function(by_child)
  if by_child then
    local c = ns.spawn{"/bin/sh", "-c", "exit $$", join = h, join_ns = "pid"}
    return (c:wait())
  end
  local c = ns.clone({}, function() return ns.getpid() end)
  c:wait()
  return c:result()
end)
say("pid: a child started while joined has PID %d in the holder's namespace (the shell itself keeps its PID %d)", pid_seen, ns.getpid())
check(pid_seen > 1, "setns(pid) changes where the shell's children go, not the shell: the child joins as PID 2 or more")

local mnt_ok = joined("mnt", function() return io.open("/proc/self/mountinfo") ~= nil end)
check(mnt_ok, "setns(mnt): works on the shell's thread after unshare(CLONE_FS) (done by nsh)")

section("Two types a Go program cannot join")
local ok_user, err_user = pcall(ns.setns, h, "user")
say("user: %s", err_user)
check(not ok_user and tostring(err_user):find("EINVAL"), "setns(user) needs a single-threaded process: EINVAL")
local ok_time, err_time = pcall(ns.setns, h, "time")
say("time: %s", err_time)
check(not ok_time and tostring(err_time):find("EUSERS"), "setns(time) needs a single-threaded process: EUSERS")

check(#ns.differ() == 0, "the shell is back where it started in every type")
h:kill(9)
h:wait()
finish()
