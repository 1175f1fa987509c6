-- procfs.lua: /proc shows the PID namespace it was mounted for.
--
-- A new PID namespace does not change what /proc shows: procfs lists the
-- processes of the PID namespace that mounted it. Until a new proc is
-- mounted (in a new mount namespace, so the host's /proc is untouched),
-- `ps` inside still lists the host's processes with the host's numbers.
-- Seeds: 004 ("you should ... mount a new /proc instance"), 003.

section("ps in a new PID namespace, before and after mounting proc")
local function pids(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    local pid, comm = line:match("^%s*(%d+)%s+(.-)%s*$")
    if pid then out[#out + 1] = {pid = tonumber(pid), comm = comm} end
  end
  return out
end

local function pid1_name()
  local f = io.open("/proc/1/comm")
  local name = f and f:read("*l")
  if f then f:close() end
  return name
end
local host_pid1 = pid1_name()

-- What ps does, without its sanity checks: list the numbered directories of
-- /proc with each process's name. (procps' own ps sometimes refuses to run
-- with a /proc from another PID namespace: "fatal library error, lookup
-- self", because /proc/self names a PID that is not ps's own number.)
local LIST = [[for p in /proc/[0-9]*; do printf '%s %s\n' "${p#/proc/}" "$(cat $p/comm 2>/dev/null)"; done | sort -n]]

local h = ns.clone("pid,mnt", function()
  local before = sys.run(LIST)
  -- private first, so the new proc mount cannot propagate to the host
  local _, c1, e1 = sys.run("mount --make-rprivate /")
  local _, c2, e2 = sys.run("mount -t proc proc /proc")
  local after = sys.run(LIST)
  local comm = io.open("/proc/self/comm"):read("*l")
  return {before = before, after = after, mount = c1 + c2, err = e1 .. e2, me = ns.getpid(), comm = comm}
end)
check(h:wait() == 0, "the child ran")
local r = h:result()
local before, after = pids(r.before), pids(r.after)

say("Before: /proc inside the new namespace lists %d processes, e.g.:", #before)
for i = 1, math.min(4, #before) do say("    %6d %s", before[i].pid, before[i].comm) end
local host_numbers = false
for _, p in ipairs(before) do if p.pid > 1000 then host_numbers = true end end
check(#before > 3 and host_numbers, "without a new /proc, a listing of /proc (what ps reads) inside still shows the host's processes with host PIDs")
check(r.mount == 0, "mounting a new proc in the child's own mount namespace works", r.err)

say("After mounting proc: /proc lists %d processes:", #after)
for _, p in ipairs(after) do say("    %6d %s", p.pid, p.comm) end
-- (compared with the child's own name, whatever the binary is called)
check(#after >= 1 and after[1].pid == 1 and after[1].comm == r.comm and r.me == 1,
      "now PID 1 is the namespace's init (the cloned nsh, named " .. tostring(r.comm) .. ")")
local host_only = false
for _, p in ipairs(after) do if p.comm == "kthreadd" then host_only = true end end
check(#after < 10 and not host_only and #after < #before,
      "now only the namespace's own few processes are listed (no host process such as kthreadd)", #after .. " listed")

local me = io.open("/proc/" .. ns.getpid() .. "/status")
if me then me:close() end
check(me ~= nil and pid1_name() == host_pid1,
      "the host's /proc is untouched: it still shows nsh itself and the host's PID 1 (" .. tostring(host_pid1) .. ")")
finish()
