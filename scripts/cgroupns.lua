-- cgroupns.lua: a cgroup namespace makes /proc/self/cgroup read "/" inside.
--
-- A cgroup namespace virtualises the paths in /proc/PID/cgroup (and what a
-- cgroup mount shows): its root is the cgroup the creating process was in
-- at that moment, in every hierarchy. Inside, that cgroup reads "/"; outside,
-- the same process shows its real path. Making one needs CAP_SYS_ADMIN in the
-- owning user namespace only, and no cgroup write: it works for an ordinary
-- user too (nsh's automatic user namespace). Creating a cgroup to start in
-- (part 2) needs root or a delegated subtree.
-- Seed 004 (namespace types); seed 003 (/proc/self/cgroup in a container).

local function parse(text)
  local rows = {}
  for line in text:gmatch("[^\n]+") do
    local id, ctrls, path = line:match("^(%d+):([^:]*):(.*)$")
    if id then table.insert(rows, {id = tonumber(id), ctrls = ctrls, path = path, line = line}) end
  end
  return rows
end
local function read(p) local f = assert(io.open(p)); local s = f:read("*a"); f:close(); return s end
local function label(r) return r.id == 0 and "v2 (0::)" or r.ctrls end
local function all_root(rows)
  for _, r in ipairs(rows) do if r.path ~= "/" then return false, label(r) .. " " .. r.path end end
  return #rows > 0, "no lines"
end
local function by_id(rows) local m = {}; for _, r in ipairs(rows) do m[r.id] = r end; return m end

local l = cgroup.layout()
local unpriv = os.getenv("NSH_USERNS") == "1"
say("cgroup layout: %s; running as %s", l.mode, unpriv and "an ordinary user (nsh's own user namespace)" or "root")

section("1. A new cgroup namespace, rooted where nsh already is")
-- hold=true: the child exists (so does its namespace) but waits, so we can
-- read its real cgroups from outside first.
local h = ns.clone({ns = "cgroup", hold = true}, function()
  return read("/proc/self/cgroup"), read("/proc/1/cgroup")
end)
local outside = read("/proc/" .. h.pid .. "/cgroup")
h:release()
check(h:wait() == 0, "the child in a new cgroup namespace ran")
local inside, init_inside = h:result()
say("outside, /proc/%d/cgroup (the real paths):", h.pid)
print(outside)
say("inside, /proc/self/cgroup:")
print(inside)
local ok, bad = all_root(parse(inside))
check(ok, "inside, every line of /proc/self/cgroup reads \"/\" (v1 lines and 0::/)", bad)
check(#parse(inside) == #parse(outside), "the same hierarchies are listed inside and outside")
local ob, ib = by_id(parse(outside)), by_id(parse(init_inside))
local shown = 0
for id, r in pairs(ob) do
  if r.path ~= "/" and ib[id] then
    if shown == 0 then say("host init (pid 1) seen from inside, where the namespace root is below its cgroup:") end
    say("  %s", ib[id].line)
    shown = shown + 1
  end
end
if shown > 0 then
  local fine = true
  for id, r in pairs(ob) do
    if r.path ~= "/" and ib[id] and not ib[id].path:find("^/%.%.") then fine = false end
  end
  check(fine, "a cgroup outside the namespace root shows as /.. from inside")
else
  say("(nsh sits in the root cgroup of every hierarchy here, so there is nothing above the namespace root to show)")
end

section("2. In a cgroup nsh made: join first, then unshare")
local okc, cg = pcall(cgroup.create, "cgroupns", {controllers = "cpu,memory,pids"})
if not okc then
  say("cgroup.create failed: %s", cg)
  check(unpriv and (cg:find("EACCES") or cg:find("EPERM")) ~= nil,
        "an ordinary user cannot create a cgroup without a delegated subtree (EACCES/EPERM)")
  say("SKIPPED part 2: it needs a cgroup of its own (root, or a delegated subtree: docs/cgroups.md).")
  say("Part 1 needed no cgroup write: the namespace root is simply the cgroup nsh was in.")
  finish()
  return
end
print(cg)
local target = "/nsh/cgroupns"
-- (a) the child is put in the group (held), then unshares the cgroup namespace itself
local a = ns.clone({cgroup = cg, hold = true}, function()
  ns.unshare("cgroup")
  return read("/proc/thread-self/cgroup")
end)
local a_out = read("/proc/" .. a.pid .. "/cgroup")
a:release()
check(a:wait() == 0, "child (a) joined the group, then made its cgroup namespace")
local a_in = a:result()
say("outside:"); print(a_out)
say("inside:"); print(a_in)
local moved = 0
for _, r in ipairs(parse(a_out)) do if r.path == target then moved = moved + 1 end end
check(moved >= 3, "outside, the child's real path is " .. target .. " in the cpu, memory and pids hierarchies", moved)
ok, bad = all_root(parse(a_in))
check(ok, "inside, the namespace root is nsh/cgroupns: every line reads \"/\"", bad)

-- (b) the namespace is made by clone itself, together with cgroup=
section("2b. Namespace made at clone time, cgroup= given too")
local b = ns.clone({ns = "cgroup", cgroup = cg}, function() return read("/proc/self/cgroup") end)
check(b:wait() == 0, "child (b) ran")
local b_in = b:result()
print(b_in)
local v2_in, v1_rel = nil, {}
for _, r in ipairs(parse(b_in)) do
  if r.id == 0 then v2_in = r.path elseif r.path ~= "/" then table.insert(v1_rel, label(r) .. ":" .. r.path) end
end
if l.v2 and (l.mode == "v2" or l.mode == "hybrid") then
  check(v2_in == "/", "v2: CLONE_INTO_CGROUP puts the child in the group before its namespace is made, so 0:: reads /", tostring(v2_in))
end
if l.mode == "v1" or l.mode == "hybrid" then
  say("v1 hierarchies have no CLONE_INTO_CGROUP: nsh adds the held child after clone(2), when the")
  say("namespace already exists, rooted at the old cgroup. Those lines show the group below that root:")
  say("  %s", table.concat(v1_rel, "  "))
  check(#v1_rel >= 3, "v1: a namespace made before the move shows the group as a path (join first, then unshare, as in 2a)", #v1_rel)
end
cg:remove()
finish()
