-- lwn.lua: Kerrisk's "Namespaces in operation" demos, replayed.
--
-- Each section runs what one of the LWN series' demo programs does and prints
-- the same labelled lines from live data, so they can be set beside the
-- article's (docs/lwn.md does, and explains every difference).
-- demo_uts_namespaces.c (part 1), pidns_init_sleep.c (part 3), orphan.c
-- (part 4), demo_userns.c (part 5).

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
finish()
