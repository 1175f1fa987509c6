-- pidslimit.lua: pids.max stops a fork bomb inside the container; the host goes on.
-- nsh-test: root-only creating cgroups needs write access to /sys/fs/cgroup (root, or a delegated subtree); see docs/cgroups.md
--
-- A container (a new PID namespace, so everything in it dies with its init)
-- in a cgroup with pids.max = 20 runs a bounded bomb: a shell loop that
-- starts 100 sleepers. fork() fails with EAGAIN at the limit (dash then gives
-- up: "Cannot fork"); the refusals are counted in the cgroup's pids.events.
-- Meanwhile the host starts processes as usual.

local MAX = 20
local N = 100

section("A cgroup with pids.max = " .. MAX)
local ok, cg = pcall(cgroup.create, "pidslimit", {controllers = "pids", pids_max = MAX})
if not ok then
  say("cgroup.create failed: %s", cg)
  check(os.getenv("NSH_USERNS") == "1" and (cg:find("EACCES") or cg:find("EPERM")) ~= nil,
        "an ordinary user cannot create cgroups without a delegated subtree (EACCES/EPERM)")
  say("SKIPPED: the fork-bomb experiment needs a pids cgroup; run as root or in a delegated subtree (docs/cgroups.md).")
  finish()
  return
end
print(cg)
check(cg:get("pids.max") == MAX, "pids.max reads back as " .. MAX)

section("The bomb: a shell loop starting " .. N .. " sleepers, PID 1 of its own namespace")
-- PID 1 (an outer sh) runs the loop in a child shell, reports how it ended,
-- then becomes `sleep` (exec needs no fork) to hold the namespace open.
local loop = "i=0; while [ $i -lt " .. N .. " ]; do sleep 60 & i=$((i+1)); done; echo all $i started"
local h = ns.spawn{"/bin/sh", "-c",
  "sh -c '" .. loop .. "'; echo \"bomb shell ended with status $?\"; exec sleep 60",
  ns = "pid", cgroup = cg}
say("container init: pid %d on the host", h.pid)

-- wait until the bomb has hit the wall
local ev
for _ = 1, 100 do
  ev = cg:events()
  if (ev.pids_max or 0) > 0 and #cg:procs() >= MAX - 1 then break end
  sys.sleep(0.05)
end
sys.sleep(0.2)
local st = cg:stats()
print(st)
print(cg:events())
check((cg:events().pids_max or 0) > 0, "the kernel refused forks at the limit (pids.events max > 0)", tostring(cg:events().pids_max))
check(st.pids_current <= MAX, "the container never held more than pids.max tasks", st.pids_current)
check(st.pids_current >= MAX - 1, "the bomb filled the container up to the limit", st.pids_current)

section("Meanwhile, on the host")
local t = ns.spawn{"/bin/true"}
check(t:wait() == 0, "the host (outside the cgroup) still starts processes")
local out = sys.run("echo host is fine")
check(out:find("host is fine") ~= nil, "and runs commands", out)

section("The container's process tree, at its limit")
local tree = view.tree(h.pid)
say("%d processes under the container's init (first rows):", #tree.rows)
local lines = {}
for line in tostring(tree):gmatch("[^\n]+") do
  table.insert(lines, line)
  if #lines >= 6 then break end
end
print(table.concat(lines, "\n"))
print(view.cgroup(h.pid))

section("Killing the container's init ends everything in it")
h:kill(9)
local code, how, sig = h:wait()
say("init ended: %s %s", how, tostring(sig))
local left
for _ = 1, 100 do
  left = #cg:procs()
  if left == 0 then break end
  sys.sleep(0.02)
end
check(left == 0, "no process is left in the cgroup: the PID namespace died with its init", left)
check(ns.spawn{"/bin/true"}:wait() == 0, "the host can still spawn afterwards")
cg:remove()
finish()
