-- reexec.lua: the re-exec pattern.
--
-- A Go program cannot fork and keep running Go code in the child, so Go
-- containers re-execute their own binary (/proc/self/exe) in the new
-- namespaces: "main" starts, the "container" is the same program again.
-- ns.clone is exactly that. Seed: 003 ("Hello, I am main with pid ...").

section("The re-exec pattern: main and container")
local main_pid = ns.getpid()
say("Hello, I am main with pid %d", main_pid)

local h = ns.clone("pid,uts,mnt", function()
  print(string.format("Hello, I am container with pid %d (ppid %d inside)", ns.getpid(), ns.getppid()))
  return {pid = ns.getpid(), ppid = ns.getppid(), exe = sys.readlink("/proc/self/exe")}
end)
local exe_outside = sys.readlink("/proc/" .. h.pid .. "/exe")
check(h:wait() == 0, "the container ran and exited 0")
local r = h:result()
say("Outside, the container is pid %d; it runs %s", h.pid, exe_outside or "?")

check(r.pid == 1, "inside, the container is PID 1 of its new PID namespace")
check(r.ppid == 0, "inside, its parent (main) is not visible: PPID 0")
check(h.pid ~= 1 and h.pid ~= main_pid, "outside, the container has an ordinary PID of its own", h.pid)
check(exe_outside == sys.readlink("/proc/self/exe"), "the container is the same binary as main, re-executed through /proc/self/exe")
finish()
