-- lwn.lua: Kerrisk's "Namespaces in operation" demos, replayed.
--
-- Each section runs what one of the LWN series' demo programs does and prints
-- the same labelled lines from live data, so they can be set beside the
-- article's (docs/lwn.md does, and explains every difference).
-- demo_uts_namespaces.c (part 1), ns_exec.c (part 2), pidns_init_sleep.c and
-- multi_pidns.c (part 3), orphan.c and ns_run.c -f (part 4), demo_userns.c
-- and userns_child_exec.c -M/-G (part 5).

local tmp = rootfs.tmpdir("lwn") -- the programs' output, read back (removed at the end)
local function slurp(path)
  local f = assert(io.open(path))
  local t = f:read("*a")
  f:close()
  return t
end
-- caps_hex_full is the full capability mask of this kernel as /proc prints
-- it (cap_last_cap + 1 bits), e.g. 000001ffffffffff for 41 capabilities.
local function caps_hex_full()
  local last = tonumber(slurp("/proc/sys/kernel/cap_last_cap"))
  local hi, lo = 0, 0
  local bits = last + 1
  lo = bits >= 32 and 0xffffffff or (2 ^ bits - 1)
  hi = bits > 32 and (2 ^ (bits - 32) - 1) or 0
  return string.format("%08x%08x", hi, lo)
end

section("Part 1: demo_uts_namespaces (clone with CLONE_NEWUTS)")
local host = sys.hostname()
local h = ns.clone("uts", function(name)
  sys.hostname(name)
  sys.sleep(0.2) -- the C child sleeps so the parent can look at it
  return sys.uname().nodename
end, "bizarro")
print(string.format("PID of child created by clone() is %d", h.pid))
h:wait()
local child_name = h:result()
print(string.format("uts.nodename in child:  %s", child_name))
print(string.format("uts.nodename in parent: %s", sys.uname().nodename))
check(child_name == "bizarro", "the child's nodename is the one it set in its new UTS namespace")
check(sys.uname().nodename == host, "the parent's nodename is unchanged")

section("Part 2: ns_exec (join a namespace by its /proc/PID/ns file, then exec)")
-- demo_uts_namespaces left a child in a UTS namespace named bizarro; ns_exec
-- opens /proc/PID/ns/uts, calls setns(fd, 0) and executes a shell there. The
-- holder is a sleep in a new UTS namespace; the joiner a shell started on a
-- thread that called setns(2) with that file (join=).
local holder = ns.spawn{"/bin/sleep", "30", ns = "uts", hostname = "bizarro"}
local nsfile = "/proc/" .. holder.pid .. "/ns/uts"
-- the holder names its namespace before it executes sleep: wait for that,
-- as demo_uts_namespaces's parent sleeps while its child sets the name
for _ = 1, 250 do
  if slurp("/proc/" .. holder.pid .. "/comm"):match("^sleep") then break end
  sys.sleep(0.02)
end
print(string.format("PID of child created by clone() is %d", holder.pid))
print(string.format("# readlink %s", nsfile))
local link = sys.readlink(nsfile)
print(link)
print(string.format("# ./ns_exec %s /bin/sh     (then, in that shell:)", nsfile))
local joined = ns.spawn{"/bin/sh", "-c", "echo \"# hostname\"; hostname; echo \"# readlink /proc/\\$\\$/ns/uts\"; readlink /proc/$$/ns/uts",
  join = {uts = nsfile}, stdout = tmp .. "/ns_exec"}
joined:wait()
local ns_exec_out = slurp(tmp .. "/ns_exec")
io.write(ns_exec_out)
holder:kill(9); holder:wait()
check(ns_exec_out:match("# hostname\nbizarro\n"), "the shell that joined the UTS namespace sees its hostname (bizarro)")
check(ns_exec_out:find(link, 1, true), "and its /proc/$$/ns/uts is the same namespace file (same inode) as the holder's")
check(sys.hostname() ~= "bizarro", "nsh's own UTS namespace is unchanged: setns moved only the thread that forked the shell")

section("Part 3: pidns_init_sleep (clone with CLONE_NEWPID)")
h = ns.clone("pid", function()
  local lines = {string.format("childFunc(): PID  = %d", ns.getpid()), string.format("childFunc(): PPID = %d", ns.getppid())}
  return table.concat(lines, "\n"), ns.getpid(), ns.getppid()
end)
print(string.format("PID returned by clone(): %d", h.pid))
h:wait()
local text, pid1, ppid0 = h:result()
print(text)
check(pid1 == 1, "the first process of a new PID namespace is PID 1 there")
check(ppid0 == 0, "its parent has no PID in the child's namespace: getppid() is 0")

section("Part 3: multi_pidns (five nested PID namespaces, a procfs for each)")
-- multi_pidns 5 recurses: each child is the first process of a new PID
-- namespace, mounts a procfs for it at /procN (N = 4 down to 0) and clones the
-- next; the last one executes sleep. Another shell (same mount namespace)
-- then lists each procfs. Here "main" is a cloned nsh in a mount namespace
-- of its own (so /procN lands on a tmpfs at /mnt, not in the host's /), the
-- levels 4..1 are cloned nsh, and level 0 is one too: it mounts its procfs
-- and executes sleep, as the article's tail child does.
local function childFunc(level)
  local mp = "/mnt/proc" .. level
  sys.mkdir(mp, "0555")
  mount.mount("proc", mp, "proc")
  print("Mounting procfs at " .. mp)
  if level > 1 then
    ns.clone("pid", childFunc, level - 1):wait()
  else
    ns.clone("pid", function()
      sys.mkdir("/mnt/proc0", "0555")
      mount.mount("proc", "/mnt/proc0", "proc")
      print("Mounting procfs at /mnt/proc0")
      print("Final child sleeping")
      sys.exec("sleep", "1000") -- keeps the procfs it mounted: exec undoes nothing
    end):wait()
  end
end
local mp = ns.clone("mnt", function()
  mount.make("/", "private", true)
  mount.mount("tmpfs", "/mnt", "tmpfs")
  local top = ns.clone("pid", childFunc, 4)
  local sleeper
  for _ = 1, 500 do
    for _, row in ipairs(view.tree(top.pid).rows) do
      -- after the exec: the shell's own command line names sleep too
      if #row.nspid == 6 and row.cmd == "sleep 1000" then sleeper = row end
    end
    if sleeper then break end
    sys.sleep(0.02)
  end
  local lists, seen = {}, {}
  for level = 4, 0, -1 do
    local d = "/mnt/proc" .. level
    local pids = {}
    for _, e in ipairs(sys.readdir(d)) do
      if e.name:match("^%d+$") then pids[#pids + 1] = tonumber(e.name) end
    end
    table.sort(pids)
    local names = {}
    for _, n in ipairs(pids) do
      names[#names + 1] = d .. "/" .. n
      local st = io.open(d .. "/" .. n .. "/status")
      if st and st:read("*a"):match("Name:%s*sleep") then seen[level] = n end
      if st then st:close() end
    end
    lists[#lists + 1] = {level = level, pids = pids, line = table.concat(names, "  ")}
  end
  if sleeper then sys.kill(sleeper.pid, "KILL") end
  top:wait()
  return lists, seen, sleeper and sleeper.nspid
end)
mp:wait()
local lists, sleep_at, nspid = mp:result()
for _, l in ipairs(lists) do
  print(string.format("# ls -d /proc%d/[1-9]*%s", l.level, l.level == 4 and "        # Topmost PID namespace created by program" or l.level == 0 and "        # Bottommost PID namespace" or ""))
  print(l.line)
end
print("# grep -H 'Name:.*sleep' /proc?/[1-9]*/status")
for level = 0, 4 do
  if sleep_at[level] then print(string.format("/mnt/proc%d/%d/status:Name:\tsleep", level, sleep_at[level])) end
end
local counts_ok, counts = true, {}
for i, l in ipairs(lists) do
  counts[i] = #l.pids
  if #l.pids ~= 6 - i then counts_ok = false end
end
check(counts_ok, "each procfs lists only its own namespace and those below: 5, 4, 3, 2, 1 processes from /proc4 to /proc0",
  "counted " .. table.concat(counts, ", "))
check(sleep_at[0] == 1, "in the bottommost namespace sleep is PID 1 (/proc0/1)")
local distinct = true
for level = 1, 4 do
  if not sleep_at[level] or sleep_at[level] <= sleep_at[level - 1] then distinct = false end
end
check(distinct, "the same sleep has one PID per namespace, larger higher up (one procfs each)",
  string.format("sleep at %s %s %s %s %s", tostring(sleep_at[0]), tostring(sleep_at[1]), tostring(sleep_at[2]), tostring(sleep_at[3]), tostring(sleep_at[4])))
check(nspid and #nspid == 6 and nspid[6] == 1, "its NSpid has six numbers: the initial namespace and the five new ones")

section("Part 4: orphan (a parent exits; init adopts its child)")
-- The article runs orphan inside simple_init, a C init; here the init is the
-- cloned nsh. orphan forks a child and exits; the child sleeps, then reports
-- its new parent. A shell plays orphan, and proc is mounted so $$ and
-- /proc/PID/stat give the namespace's own numbers; both write to a file on a
-- tmpfs of the child's own, as the orphan outlives the shell's pipe.
local orphan = [[
exec > /mnt/out
sh -c 'sleep 0.3; read -r _ _ _ ppid _ < /proc/$$/stat
       echo "Child  (PID=$$) now an orphan (parent PID=$ppid)"' &
child=$!
read -r _ _ _ ppid _ < /proc/$$/stat
echo "Parent (PID=$$) created child with PID $child"
echo "Parent (PID=$$; PPID=$ppid) terminating"
]]
h = ns.clone("pid,mnt", function(script)
  mount.make("/", "private", true)
  mount.mount("proc", "/proc", "proc")
  mount.mount("tmpfs", "/mnt", "tmpfs")
  sys.run(script)
  sys.sleep(1.5) -- the child reports after its parent has gone, then the init reaps it
  local out = io.open("/mnt/out"):read("*a")
  local zombies = 0
  for st in io.popen("cat /proc/[0-9]*/stat 2>/dev/null"):read("*a"):gmatch("%) (%a)") do
    if st == "Z" then zombies = zombies + 1 end
  end
  return out, zombies
end, orphan)
h:wait()
local out, zombies = h:result()
io.write(out)
local parent, child = out:match("Parent %(PID=(%d+)%) created child with PID (%d+)")
local adopted = out:match("now an orphan %(parent PID=(%d+)%)")
check(parent and tonumber(child) > tonumber(parent), "the child gets a later PID of the same namespace (the next free one: a thread nsh's runtime starts meanwhile can take one between)")
check(out:match("Parent %(PID=%d+; PPID=1%) terminating"), "the parent is a child of the namespace's init (PPID 1)")
check(adopted == "1", "the orphan is adopted by the namespace's init (parent PID 1), not by the host's init")
check(zombies == 0, "the init reaped the orphan when it ended (no zombie left)")

section("Part 4: ns_run -f (setns into a PID namespace affects children only)")
-- The article starts simple_init in a new PID namespace (ns_child_exec -p),
-- then from outside runs ns_run -f -n /proc/PID/ns/pid ./orphan: ns_run calls
-- setns(2) on the PID namespace file, which changes only the namespace of the
-- children it makes next, so it forks (-f) and the child executes orphan.
-- Here the init is a sleep (a single-threaded C program like simple_init,
-- which does not reap, unlike simple_init), and nsh starts the shell that
-- plays orphan from a thread that called setns(2) on that file. keep=true:
-- like ns_run's child it gets no parent-death signal (nsh would otherwise
-- re-execute itself in the namespace to set one, and its threads would take
-- the namespace's PIDs 2, 3, ...).
local init = ns.spawn{"/bin/sleep", "30", ns = "pid"}
local init_nspid = view.upid(init.pid).numbers
print(string.format("        init: my PID is %d", init_nspid[#init_nspid].nr))
local orphan_run = [[
sh -c 'sleep 0.3; exec sh -c "echo \"Child  (PID=\$\$) now an orphan (parent PID=\$PPID)\""' &
echo "Parent (PID=$$) created child with PID $!"
echo "Parent (PID=$$; PPID=$PPID) terminating"
]]
print(string.format("# ./ns_run -f -n /proc/%d/ns/pid ./orphan", init.pid))
local run = ns.spawn{"/bin/sh", "-c", orphan_run, join = {pid = "/proc/" .. init.pid .. "/ns/pid"}, keep = true, stdout = tmp .. "/ns_run"}
run:wait()
local got
for _ = 1, 150 do
  got = slurp(tmp .. "/ns_run")
  if got:find("now an orphan") then break end
  sys.sleep(0.02)
end
io.write(got)
local zombie = sys.run("cat /proc/[0-9]*/stat 2>/dev/null | grep -c '^[0-9]* (sh) Z " .. init.pid .. " '")
init:kill(9); init:wait()
local p, c = got:match("Parent %(PID=(%d+)%) created child with PID (%d+)")
check(p == "2" and c == "3", "in the joined namespace the shell is PID 2 (after the init) and its child PID 3, as in the article")
check(got:match("Parent %(PID=2; PPID=0%) terminating"), "its parent, nsh, is outside the namespace: PPID 0 (setns did not move nsh itself)")
check(got:match("now an orphan %(parent PID=1%)"), "the orphan is adopted by the namespace's init (PID 1)")
check(tonumber(zombie) == 1, "the init (sleep) does not reap it: it stays a zombie until the namespace ends (simple_init reaps)")

section("Part 5: demo_userns (clone with CLONE_NEWUSER, no maps)")
h = ns.clone("user", function()
  local st = io.open("/proc/self/status"):read("*a")
  local eff = st:match("CapEff:%s*(%x+)")
  local caps = sys.caps()
  return string.format("eUID = %d;  eGID = %d;  capabilities: %s", sys.getuid(), sys.getgid(), caps.all and "=ep" or ("CapEff " .. eff)), caps.all
end)
h:wait()
local line, all = h:result()
print(line)
check(line:match("^eUID = 65534;  eGID = 65534;"), "with no maps the child's ids are the overflow uid and gid")
check(all, "and it has every capability in its new user namespace (=ep)")
section("Part 5: userns_child_exec -p -m -U -M '0 UID 1' -G '0 GID 1' (maps written by the parent)")
-- The child is cloned into new user, PID and mount namespaces and waits
-- until the parent has written its uid_map and gid_map (after "deny" to
-- setgroups); then it executes a shell as uid 0 of the new namespace, which
-- keeps its capabilities across execve. The article maps its own uid 1000
-- to 0; here the map is nsh's own uid and gid, whatever they are.
-- As the host's root nsh may map any id, so it maps the article's 1000.
local uid, gid = sys.geteuid(), sys.getegid()
if uid == 0 and slurp("/proc/self/uid_map"):match("^%s*0%s+0%s+4294967295") then
  uid, gid = 1000, 1000
else
  print(string.format("$ id -u\n%d\n$ id -g\n%d", uid, gid))
end
print(string.format("$ ./userns_child_exec -p -m -U -M '0 %d 1' -G '0 %d 1' sh", uid, gid))
local inside = [[
echo 'sh$ echo $$'; echo $$
mount -t proc proc /proc
echo 'sh$ id'; id
echo "sh$ cat /proc/\$\$/status | egrep '^[UG]id'"; grep -E '^[UG]id' /proc/$$/status
echo "sh$ cat /proc/\$\$/status | egrep '^Cap(Prm|Inh|Eff)'"; grep -E '^Cap(Inh|Prm|Eff)' /proc/$$/status
sleep 0.3 # alive while nsh reads its uid_map and status from outside
]]
local uce = ns.spawn{"/bin/sh", "-c", inside, ns = "user,pid,mnt", uid_map = "0 " .. uid .. " 1", gid_map = "0 " .. gid .. " 1",
  stdout = tmp .. "/userns_child_exec"}
local outside_uid = slurp("/proc/" .. uce.pid .. "/status"):match("Uid:%s*(%d+)")
local map = slurp("/proc/" .. uce.pid .. "/uid_map")
uce:wait()
local uce_out = slurp(tmp .. "/userns_child_exec")
io.write(uce_out)
print(string.format("(outside: /proc/%d/uid_map is \"%s\", and its Uid is %s)", uce.pid, map:gsub("%s+", " "):match("^%s*(.-)%s*$"), outside_uid))
local full = caps_hex_full()
check(uce_out:match("sh%$ echo %$%$\n1\n"), "the shell is PID 1 of its new PID namespace")
check(uce_out:match("uid=0%(root%) gid=0%(root%)"), "id inside shows the mapped ids: uid 0 and gid 0")
check(uce_out:match("Uid:%s+0%s+0%s+0%s+0") and uce_out:match("Gid:%s+0%s+0%s+0%s+0"), "real, effective, saved and filesystem ids are all 0 inside")
check(uce_out:match("CapInh:%s+0+\n") and uce_out:match("CapPrm:%s+" .. full) and uce_out:match("CapEff:%s+" .. full),
  "and it has a full permitted and effective set (uid 0 of its namespace keeps them across execve)")
check(tonumber(outside_uid) == uid, "outside, the same process is uid " .. uid .. " (what the map says)")

finish()
