-- reaper.lua: PID 1 adopts orphans, and takes its namespace with it.
--
-- Inside a PID namespace, the first process (PID 1) is the reaper: an orphan
-- is re-parented to it, not to the host's init. When PID 1 dies, the kernel
-- kills every other process of the namespace (SIGKILL) and lets no new
-- process in: fork into it fails with ENOMEM. An adopted orphan's SIGCHLD
-- goes to its new parent. Seed: 004.

section("PID 1 of a namespace is its reaper")
local h = ns.clone("pid", function()
  -- a shell starts a sleeper in the background and exits: the sleeper is orphaned
  local out = sys.run("sleep 60 >/dev/null 2>&1 & echo $!")
  sys.sleep(60)  -- the init waits to be killed from outside
end)
local held = ns.open(h.pid, "pid")  -- keep the namespace itself to test it after its init dies
say("init of the new namespace: pid %d outside; the namespace is held at %s", h.pid, held)

-- wait until the sleeper exists and its shell has gone (poll the tree)
local orphan
for _ = 1, 500 do
  orphan = nil
  local only_sleeper = true
  for _, row in ipairs(view.tree(h.pid).rows) do
    if row.cmd:match("^sleep 60") then orphan = row
    elseif row.depth > 0 then only_sleeper = false end
  end
  if orphan and only_sleeper then break end
  sys.sleep(0.01)
end
print(view.tree(h.pid))
check(orphan ~= nil, "the orphaned sleeper exists")
if not orphan then h:kill(9); finish() end
check(orphan.ppid == h.pid, "the orphan was re-parented to the namespace's PID 1, not to the host's init",
      "ppid=" .. orphan.ppid)
check(orphan.nspid[#orphan.nspid] > 1, "inside, the orphan has a PID of its own", orphan.nspid[#orphan.nspid])

section("When PID 1 dies, the namespace dies")
h:kill("KILL")
local code, how, sig = h:wait()
say("init ended: %s %s", how, sig or code)
local alive = pcall(sys.kill, orphan.pid, 0)
check(not alive, "every other process of the namespace was killed with it (the orphan is gone)")

local ok, err = pcall(ns.spawn, {"/bin/true", join = {pid = held}})
say("starting a process in the dead namespace: %s", ok and "it worked?!" or err)
check(not ok and tostring(err):find("ENOMEM"), "no new process can enter a PID namespace whose init died (fork gives ENOMEM)")
ns.close(held)

section("A child subreaper adopts instead of PID 1")
-- prctl(2) PR_SET_CHILD_SUBREAPER: orphans among a process's descendants go
-- to it, not to the namespace's init (what systemd --user and container
-- shims do). Each child here starts a shell that backgrounds a sleeper and
-- exits, then reads who the orphan's parent became.
local function orphan_parent(subreaper)
  if subreaper then sys.prctl("child_subreaper", true) end
  local pid = tonumber(sys.run("sleep 30 >/dev/null 2>&1 & echo $!"))
  local ppid
  for _ = 1, 200 do
    local f = io.open("/proc/" .. pid .. "/stat")
    ppid = f and tonumber(f:read("*a"):match("^%d+ %b() %S+ (%d+)"))
    if f then f:close() end
    if ppid ~= nil then break end
    sys.sleep(0.01)
  end
  sys.kill(pid, "KILL")
  return true, ns.getpid(), ppid, sys.prctl("child_subreaper")
end
local hs = ns.clone({}, orphan_parent, true)
check(hs:wait() == 0, "the subreaper ran")
local _, self, ppid, flag = hs:result()
say("  subreaper pid %d; the orphan's parent: %d", self, ppid or -1)
check(flag == true, "sys.prctl(\"child_subreaper\") reads true after it was set")
check(ppid == self, "the orphan was re-parented to the subreaper, its nearest ancestor marked so")
local hn = ns.clone({}, orphan_parent, false)
hn:wait()
local _, self2, ppid2 = hn:result()
check(ppid2 ~= self2, "without the mark, the orphan goes past it (to a subreaper or init higher up)", ppid2)

section("The reaper hears of an adopted orphan's end: SIGCHLD")
-- When an orphan that PID 1 adopted exits, the kernel sends PID 1 the
-- SIGCHLD (do_notify_parent: to the parent it has now, not the one that
-- forked it). The init blocks SIGCHLD and takes it with sigtimedwait(2):
-- si_pid is the orphan, si_code CLD_EXITED.
local hc = ns.clone("pid", function()
  sys.sigblock("CHLD")
  local orphan = tonumber(sys.run("sleep 0.5 >/dev/null 2>&1 & echo $!"))
  local si
  repeat si = sys.sigwait("CHLD", 3) until si == nil or si.pid == orphan  -- the shell's own SIGCHLD comes first
  return {orphan = orphan, pid = si and si.pid, code = si and si.code_name}
end)
hc:wait()
local rc = hc:result()
say("  the orphan was PID %s inside; PID 1 got SIGCHLD with si_pid = %s, si_code = %s", tostring(rc.orphan), tostring(rc.pid), tostring(rc.code))
check(rc.pid == rc.orphan, "the SIGCHLD of the adopted orphan went to PID 1, naming the orphan", rc.pid)
check(rc.code == "CLD_EXITED", "si_code says it exited (not killed)", rc.code)
finish()
