-- timens.lua: a clock of one's own (time namespaces, Linux 5.6).
--
-- A time namespace shifts CLOCK_MONOTONIC and CLOCK_BOOTTIME by offsets
-- written to /proc/PID/timens_offsets, once, before any process enters it.
-- CLOCK_REALTIME is not virtualized. unshare(CLONE_NEWTIME) does not move
-- the caller: it applies to the children it starts next (time_for_children),
-- like a PID namespace. (An extra experiment: EXPERIMENTS.md invites one.)

section("Time namespaces: shifting the monotonic and boot clocks")
local DAY = 86400

local function uptime(text) return tonumber(text:match("^(%S+)")) end

local host_before = uptime(io.open("/proc/uptime"):read("*l"))
say("nsh's boot clock: up %.1f s (/proc/uptime)", host_before)

ns.unshare("time")
local mine, kids = ns.id("time"), ns.id("time_for_children")
check(mine ~= kids, "unshare(CLONE_NEWTIME) leaves the shell's own time namespace alone and changes time_for_children",
      "time:[" .. mine .. "] time_for_children:[" .. kids .. "]")

-- the offsets belong to the namespace the shell's children will get; the file
-- is per process (/proc/self is the main thread, which is nsh's interpreter)
local f = assert(io.open("/proc/self/timens_offsets", "w"))
f:write(string.format("monotonic %d 0\nboottime %d 0\n", DAY, DAY))
f:close()
say("wrote timens_offsets: monotonic +%d s, boottime +%d s (one day)", DAY, DAY)

local out = sys.run("cat /proc/uptime; cat /proc/self/timens_offsets; date +%s")
local child_up = uptime(out)
local host_now = uptime(io.open("/proc/uptime"):read("*l"))
say("a child started now reads:\n%s", out)
check(child_up - host_now > DAY - 5 and child_up - host_now < DAY + 5,
      "its boot clock runs one day ahead of nsh's", string.format("%.1f vs %.1f", child_up, host_now))
check(out:find("monotonic%s+" .. DAY) ~= nil and out:find("boottime%s+" .. DAY) ~= nil,
      "the child's timens_offsets shows the offsets (its namespace is the one written)")
local child_real = tonumber(out:match("(%d+)%s*$"))
check(child_real and math.abs(child_real - os.time()) < 5, "CLOCK_REALTIME is not shifted: date agrees with nsh's")

local f2 = io.open("/proc/self/timens_offsets", "w")
local ok = f2 and f2:write("monotonic 1 0\n") and f2:close()
check(not ok, "the offsets cannot be changed once a process has entered the namespace (EACCES)")

local ok2, err2 = pcall(ns.restore, "time")
say("going back with setns(): %s", ok2 and "done?!" or err2)
check(not ok2 and tostring(err2):find("EUSERS"),
      "a multithreaded process (any Go program) cannot setns() into a time namespace: EUSERS")

-- a fresh time namespace copies the offsets of the one it was made from
ns.unshare("time")
local inherited = uptime(sys.run("cat /proc/uptime")) - uptime(io.open("/proc/uptime"):read("*l"))
check(inherited > DAY - 5, "a new time namespace starts with the offsets of the one it was created from",
      string.format("%.0f s ahead", inherited))
ns.unshare("time")
local z = assert(io.open("/proc/self/timens_offsets", "w"))
z:write("monotonic 0 0\nboottime 0 0\n")
z:close()
local back = uptime(sys.run("cat /proc/uptime"))
check(math.abs(back - uptime(io.open("/proc/uptime"):read("*l"))) < 5,
      "offsets of zero, written before any process enters, give children nsh's own clocks again")
finish()
