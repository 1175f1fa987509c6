-- memlimit.lua: a memory limit, and the OOM killer seen from the cgroup's own counters.
-- nsh-test: root-only creating cgroups needs write access to /sys/fs/cgroup (root, or a delegated subtree); see docs/cgroups.md
--
-- Seed 003 ran `yes | tr \\n x | grep n` in a container with a memory limit,
-- saw "Killed", and read the reason from dmesg. Here a child allocates 4 MiB
-- at a time in a 64 MiB cgroup; its memory use is sampled from the cgroup as
-- it climbs; the kill is read from the cgroup's event counters (v2
-- memory.events oom_kill, v1 memory.oom_control oom_kill), never the kernel log.

local LIMIT = "64M"
local STEP = 4 * 1024 * 1024
local STEPS = 64  -- 256 MiB wanted: four times the limit

section("A cgroup with memory.max = " .. LIMIT)
local l = cgroup.layout()
say("layout %s; memory controller at %s", l.mode, tostring(l.controllers.memory))
-- no swap escape hatch: swap limited to 0 where the host accounts swap
local opts = {controllers = "memory", memory_max = LIMIT}
local swaps = io.open("/proc/swaps"):read("*a")
local has_swap = select(2, swaps:gsub("\n", "")) > 1
if has_swap then opts.memory_swap_max = 0 end
local ok, cg = pcall(cgroup.create, "memlimit", opts)
if not ok then
  say("cgroup.create failed: %s", cg)
  check(os.getenv("NSH_USERNS") == "1" and (cg:find("EACCES") or cg:find("EPERM")) ~= nil,
        "an ordinary user cannot create cgroups without a delegated subtree (EACCES/EPERM)")
  say("SKIPPED: the OOM experiment needs a memory cgroup; run as root or in a delegated subtree (docs/cgroups.md).")
  finish()
  return
end
print(cg)
say("memory.max = %d bytes (portable name; v1 file memory.limit_in_bytes)%s", cg:get("memory.max"),
    has_swap and ", swap limited to 0" or " (no swap on this host)")
check(cg:get("memory.max") == 64 * 1024 * 1024, "the limit reads back as 64 MiB")
local before = cg:events()
print(before)

section("A child allocating past the limit, watched from the cgroup")
local h = ns.clone({cgroup = cg}, function(step, steps)
  local keep = {}
  for i = 1, steps do
    -- a fresh 4 MiB string each time, every byte written
    keep[i] = string.rep("x", step - 8) .. string.format("%8d", i)
    sys.sleep(0.02)
  end
  return #keep -- reached only if the limit did not hold
end, STEP, STEPS)
say("child %d allocates %d x 4 MiB = %d MiB", h.pid, STEPS, math.floor(STEPS * STEP / 1048576))
local shown = false
say("  %6s %12s %12s", "t/s", "current", "peak")
for i = 1, 100 do
  local st = cg:stats()
  say("  %6.1f %10.1f M %10.1f M", i * 0.1 - 0.1, st.memory_current / 1048576, st.memory_peak / 1048576)
  if not shown and st.memory_current > 32 * 1048576 and h:alive() then
    print(view.cgroup(h.pid)); shown = true
  end
  if not h:alive() then break end
  sys.sleep(0.1)
end
local code, how, sig = h:wait()
say("child ended: code %d, %s %s", code, how, sig or "")
check(how == "signal" and sig == "SIGKILL", "the child died of SIGKILL (the OOM killer's signal)", how, tostring(sig))

section("The cgroup's own counters")
local ev = cg:events()
print(ev)
local st = cg:stats()
print(st)
check(ev.oom_kill ~= nil and ev.oom_kill - (before.oom_kill or 0) >= 1,
      "the cgroup counted an OOM kill (" .. (l.controllers.memory == l.v2 and "memory.events" or "memory.oom_control") .. " oom_kill)",
      tostring(ev.oom_kill))
check(st.memory_peak <= 64 * 1024 * 1024, "peak usage never exceeded the limit", st.memory_peak)
check(st.memory_peak >= 60 * 1024 * 1024, "the child did reach the limit before it was killed", st.memory_peak)
cg:remove()
finish()
