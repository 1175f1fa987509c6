-- pidns.lua: one process, one PID per level.
--
-- Builds three nested PID namespaces (each made by clone(2) with
-- CLONE_NEWPID from the one above) with a sleeping process at the bottom,
-- then reads that process's struct pid from the kernel: level = 3 and a
-- numbers[] entry (struct upid: nr + namespace) for every level.
-- Then it chooses PIDs, with ns_last_pid and with clone3's set_tid.
-- Seeds: 004 (struct pid / struct upid, the nested-tree diagram), 003.

section("Nested PID namespaces: one process, one PID per level")
say("nsh (this script) is PID %d in the initial PID namespace.", ns.getpid())
say("It clones a child into a new PID namespace (level 1), which clones one into")
say("level 2, which starts `sleep` in level 3. Each prints nothing; we look from outside.")

local outer = ns.getpid()

-- Level 2: start sleep as the first process of a third namespace, wait for it.
local function level2()
  local h3 = ns.spawn{"/bin/sleep", "60", ns = "pid"}
  h3:wait()
  return {me = ns.getpid(), ppid = ns.getppid(), sleep_pid_here = h3.pid}
end

-- Level 1: clone level 2, report what this namespace can and cannot see.
local function level1(outer_pid)
  local h2 = ns.clone("pid", level2)
  -- the parent's PID means nothing here: the kernel finds no such process
  local sees_outer = pcall(sys.kill, outer_pid, 0)
  -- but this namespace sees its child (signal 0 only checks existence)
  local sees_child = pcall(sys.kill, h2.pid, 0)
  h2:wait()
  return {me = ns.getpid(), ppid = ns.getppid(), child_pid_here = h2.pid,
          sees_outer = sees_outer, sees_child = sees_child, level2 = h2:result()}
end

local h1 = ns.clone("pid", level1, outer)

-- Wait until the process three levels down exists (no sleeping: poll the tree).
local deepest
for _ = 1, 500 do
  for _, row in ipairs(view.tree(h1.pid).rows) do
    if #row.nspid == 4 then deepest = row end
  end
  if deepest then break end
  sys.sleep(0.01)
end
check(deepest ~= nil, "a process three PID namespaces down appeared")
if not deepest then h1:kill(9); finish() end

section("The process tree, one PID column per level (L0 = initial namespace)")
local tree = view.tree(h1.pid)
local tree_rows = tree.rows
print(tree)

section("struct pid of the sleeping process, read from the kernel")
local u = view.upid(deepest.pid)
print(u)

-- The live version of the diagram in seed 004: the same process, a different
-- number in each namespace it belongs to.
section("The same process seen from each level")
for i, n in ipairs(u.numbers) do
  local lvl = i - 1
  local note = (lvl == u.level) and "its own namespace: it is PID 1 here" or "an ancestor namespace"
  print(string.format("  %s level %d  pid:[%d]  sees it as PID %-6d (%s)",
    string.rep("  ", lvl), lvl, n.ns, n.nr, note))
end

check(u.level == 3, "the process's struct pid has level 3 (three namespaces below the initial one)", "level=" .. u.level)
check(#u.numbers == 4, "numbers[] has one struct upid per level (level + 1 entries)")
check(u.numbers[4].nr == 1, "the first process of a new PID namespace is PID 1 there")
local distinct, seen_ns = true, {}
for _, n in ipairs(u.numbers) do
  if seen_ns[n.ns] then distinct = false end
  seen_ns[n.ns] = true
end
check(distinct, "each level is a different PID namespace (different inodes)")
check(u.numbers[1].nr == deepest.pid, "numbers[0].nr is the PID the initial namespace uses")
check(u.numbers[2].nr ~= u.numbers[3].nr and u.numbers[3].nr ~= u.numbers[4].nr,
      "the numbers differ from level to level")
local anc = ns.parent(deepest.pid, "pid")
check(anc.inode == u.numbers[3].ns, "NS_GET_PARENT of its namespace is the level-2 namespace")

-- Let the chain finish: kill the sleeper from outside, by its level-0 PID.
sys.kill(deepest.pid, "KILL")
check(h1:wait() == 0, "the level-1 child exited normally")
local r = h1:result()

section("What the children reported from inside")
say("level 1: getpid() = %d, getppid() = %d, its child is PID %d there", r.me, r.ppid, r.child_pid_here)
say("level 2: getpid() = %d, getppid() = %d, sleep was PID %d there", r.level2.me, r.level2.ppid, r.level2.sleep_pid_here)
check(r.me == 1 and r.level2.me == 1, "each cloned child is PID 1 of its own namespace")
check(r.ppid == 0 and r.level2.ppid == 0, "PID 1 has PPID 0 inside: its parent lives outside the namespace")
local l2row
for _, row in ipairs(tree_rows) do
  if #row.nspid == 3 then l2row = row end
end
check(l2row and l2row.nspid[2] == r.child_pid_here,
      "level 1 knows its child by the child's level-1 PID (the tree's L1 column)",
      l2row and ("tree says " .. l2row.nspid[2]) or "", "child said " .. r.child_pid_here)
if r.child_pid_here > 2 then
  say("(The level-2 child is PID %d, not 2, in level 1: the Go runtime's threads of the level-1", r.child_pid_here)
  say(" nsh (the tree marks them) and Go's one test fork took the numbers before it: a thread id is a PID too.)")
end
check(r.sees_child, "a namespace can see (signal) the processes of its child namespaces")
check(not r.sees_outer, "the child cannot see its parent's PID: it does not exist in the child's namespace")

section("Choosing a PID: ns_last_pid, and clone3's set_tid")
say("Checkpoint/restore must give a restored process its old PID. Two ways, both the kernel's:")
say("write N-1 to /proc/sys/kernel/ns_last_pid and start a process (the next number is N),")
say("or clone3(2) with set_tid = {N, ...}: one PID per namespace level, the child's own first.")
local hc = ns.clone("pid,mnt", function()
  mount.make("/", "private", true); mount.mount("proc", "/proc", "proc")
  local f = assert(io.open("/proc/sys/kernel/ns_last_pid", "w")); f:write("299"); f:close()
  local a = ns.spawn{"/bin/true"}; a:wait()
  local b = ns.spawn{"/bin/sleep", "5", set_tid = 400}
  local c = ns.spawn{"/bin/sleep", "5", ns = "pid", set_tid = {1, 500}}
  local nspid = io.open("/proc/" .. c.pid .. "/status"):read("*a"):match("NSpid:%s*([^\n]*)"):gsub("%s+", " ")
  local _, inuse = pcall(ns.spawn, {"/bin/true", set_tid = 400})
  local _, first = pcall(ns.spawn, {"/bin/true", ns = "pid", set_tid = {2, 600}})
  b:kill(9); b:wait(); c:kill(9); c:wait()
  return {last = a.pid, tid = b.pid, nspid = nspid, inuse = tostring(inuse), first = tostring(first)}
end)
hc:wait()
local pc = hc:result()
say("ns_last_pid = 299, then a start:        PID %d", pc.last)
say("set_tid = 400:                          PID %d", pc.tid)
say("set_tid = {1, 500} with a new PID ns:   NSpid %s (its own namespace's number is last)", pc.nspid)
say("set_tid = 400 again, while 400 lives:   %s", pc.inuse:match("EEXIST.*") or pc.inuse)
say("set_tid = {2, 600} with a new PID ns:   %s", pc.first:match("EINVAL.*") or pc.first)
check(pc.last == 300, "after ns_last_pid = 299 the next process is PID 300 (nsh made no thread in between)")
check(pc.tid == 400, "set_tid = 400 gives PID 400")
check(pc.nspid == "500 1", "set_tid {1, 500}: PID 1 in the new namespace, 500 in its parent (NSpid, outermost first)")
check(pc.inuse:find("EEXIST", 1, true), "a PID in use is EEXIST")
check(pc.first:find("EINVAL", 1, true), "a new PID namespace has no init yet: its entry must be 1 (EINVAL)")
finish()
