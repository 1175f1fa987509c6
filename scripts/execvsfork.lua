-- execvsfork.lua: the exec-vs-fork bug.
--
-- A container's init that forks a shell and waits leaves the shell at PID 2
-- or more: PID 1 stays the init. An init that execs the shell (execve(2)
-- replaces the program, keeping the process and its PID) makes the shell
-- PID 1, the reaper. Seed: 003 ("Yikes, there's a bug. We really want to be
-- using syscall.Exec rather Go's exec.Command").

section("exec vs fork in a container's init")

say("1. init forks the shell (exec.Command style):")
local hf = ns.clone("pid", function()
  local out = sys.run("echo $$")
  return tonumber(out)
end)
hf:wait()
local forked = hf:result()
say("   the shell says its PID is %d", forked)
check(forked >= 2, "a forked shell is not PID 1 of the namespace (PID 1 is the init that forked it)", forked)

say("2. init execs the shell (syscall.Exec style):")
local file = os.tmpname()
local he = ns.clone({ns = "pid", stdout = file}, function()
  sys.exec("/bin/sh", "-c", "echo $$")
end)
check(he:wait() == 0, "the exec'd shell ran")
local f = io.open(file)
local execd = tonumber(f:read("*a"))
f:close()
os.remove(file)
say("   the shell says its PID is %d", execd or -1)
check(execd == 1, "an exec'd shell is PID 1: the process is the same, only the program changed", execd)

section("The init's session and process group")
-- pid_namespaces(7): the first process of a new PID namespace is still in
-- its parent's session and group, whose leaders have no number inside, so
-- both read as 0 until it calls setsid(2); then it leads both, as 1. A shell
-- an init execs needs that to get a controlling terminal (job control).
-- (pgroup=false: on a terminal nsh would make the child a group leader, and
-- a group leader may not setsid: EPERM.)
local hs = ns.clone({ns = "pid", pgroup = false}, function()
  local sid0, pg0 = sys.getsid(), sys.getpgid()
  local sid = sys.setsid()
  local ok, again = pcall(sys.setsid)
  return sid0, pg0, sid, sys.getpgid(), again
end)
check(hs:wait() == 0, "the init ran")
local sid0, pg0, sid1, pg1, again = hs:result()
say("   before setsid: session %d, group %d; after: session %d, group %d", sid0, pg0, sid1, pg1)
check(sid0 == 0 and pg0 == 0, "before setsid, session and group are 0: their leaders are outside the namespace")
check(sid1 == 1 and pg1 == 1, "after setsid, PID 1 leads its own session and group (both 1)")
check(tostring(again):find("EPERM", 1, true), "a second setsid fails with EPERM: a session leader leads a group already", again)
local l = ns.spawn{"/bin/sleep", "30", setsid = true}
check(sys.getsid(l) == l.pid and sys.getpgid(l) == l.pid, "ns.spawn{..., setsid=true} starts a program as leader of a session of its own")
l:kill(9); l:wait()
finish()
