-- cpushares.lua: CPU time splits by cgroup weight when tasks compete.
-- nsh-test: root-only creating cgroups needs write access to /sys/fs/cgroup (root, or a delegated subtree); see docs/cgroups.md
-- nsh-test: timeout 60
--
-- Seed 003 ran two containers with cpu.shares 200 and 400, two CPU burners
-- in each, and read the split off htop. Here: two cgroups, weights 200 and
-- 400 (v1: cpu.shares 200 and 400, the seed's numbers; v2: cpu.weight 200
-- and 400), both confined to CPU 0 (cpuset.cpus = "0") so the four burners
-- compete for one CPU, and the CPU time read from the cgroups themselves
-- (v1 cpuacct.usage, v2 cpu.stat usage_usec) over a measured interval.

local RUN = 4         -- seconds of measurement
local TOLERANCE = 0.1 -- accepted |ratio - 2| (why: see docs/cpushares.md)

section("Layout: where the cpu controller lives")
local l = cgroup.layout()
print(l)
local cpu_v2 = l.v2 ~= nil and l.controllers.cpu == l.v2
say("cpu controller: %s (%s), so the weight is %s.", l.controllers.cpu or "?",
    cpu_v2 and "cgroup v2" or "cgroup v1", cpu_v2 and "cpu.weight" or "cpu.shares")

local ctrls = {"cpu", "cpuset"}
if l.controllers.cpuacct and not cpu_v2 then table.insert(ctrls, "cpuacct") end

-- Unprivileged: say what is refused and why, then stop (nothing else claimed).
local function make(name, w)
  local opts = {controllers = ctrls, cpuset_cpus = "0"}
  if cpu_v2 then opts.cpu_weight = w else opts.cpu_shares = w end
  return cgroup.create(name, opts)
end
local ok, low = pcall(make, "cpushares-low", 200)
if not ok then
  say("cgroup.create failed: %s", low)
  check(os.getenv("NSH_USERNS") == "1" and (low:find("EACCES") or low:find("EPERM")) ~= nil,
        "an ordinary user cannot create cgroups without a delegated subtree (EACCES/EPERM)")
  say("SKIPPED: the CPU-share measurement needs cgroups; run as root or in a delegated subtree (docs/cgroups.md).")
  finish()
  return
end
local high = make("cpushares-high", 400)

section("Two groups on one CPU")
print(low)
print(high)
local wname = cpu_v2 and "cpu.weight" or "cpu.shares"
say("%s: low=%s high=%s   cpuset.cpus: low=%s high=%s", wname, low:read(wname), high:read(wname),
    low:get("cpuset.cpus"), high:get("cpuset.cpus"))
check(low:get("cpuset.cpus") == "0" and high:get("cpuset.cpus") == "0", "both groups are confined to CPU 0, so their tasks compete")

local burners = {}
for _, cg in ipairs({low, high, low, high}) do
  table.insert(burners, ns.spawn{"/bin/sh", "-c", "while :; do :; done", cgroup = cg})
end
say("four burners started: %d, %d in low; %d, %d in high", burners[1].pid, burners[3].pid, burners[2].pid, burners[4].pid)
check(#low:procs() == 2 and #high:procs() == 2, "each group holds two burners", #low:procs(), #high:procs())

sys.sleep(0.5) -- let the scheduler settle before the interval starts
section("Live: the burner in the high group")
print(view.cgroup(burners[2].pid))

section(string.format("CPU time over %d s, read from the cgroups", RUN))
local a0, b0 = low:stats().cpu_usage_ns, high:stats().cpu_usage_ns
say("  %4s %12s %12s %8s", "t/s", "low (s)", "high (s)", "ratio")
local ratio
for i = 1, RUN do
  sys.sleep(1)
  local a, b = low:stats().cpu_usage_ns - a0, high:stats().cpu_usage_ns - b0
  ratio = b / a
  say("  %4d %12.3f %12.3f %8.3f", i, a / 1e9, b / 1e9, ratio)
end
local a, b = low:stats().cpu_usage_ns - a0, high:stats().cpu_usage_ns - b0
for _, h in ipairs(burners) do h:kill(9); h:wait() end

say("\nlow got %.3f s, high got %.3f s of CPU 0: together %.2f s in %d s", a / 1e9, b / 1e9, (a + b) / 1e9, RUN)
-- at most one CPU's worth (unconfined, four burners would take both CPUs);
-- less when other work on the machine also runs on CPU 0
check((a + b) / 1e9 <= RUN * 1.1 and (a + b) / 1e9 > RUN * 0.25,
      "the four burners together got at most one CPU (cpuset confines them to CPU 0)", string.format("%.2f s", (a + b) / 1e9))
check(math.abs(b / a - 2) <= TOLERANCE,
      string.format("CPU time splits 1:2 like the weights: high/low = %.3f (2 +- %.2f)", b / a, TOLERANCE))
check(#low:procs() == 0 and #high:procs() == 0, "the burners are gone")
low:remove(); high:remove()
finish()
