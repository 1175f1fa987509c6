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
finish()
