-- ipcns.lua: message queues that exist only inside.
--
-- System V IPC objects and POSIX message queues have no path in the
-- filesystem: they live in an IPC namespace, and a new one starts empty.
-- The shell joins a new IPC namespace with setns(2), makes a queue there,
-- and looks for it from both sides. Seed: 004.

section("IPC namespaces: System V queues, semaphores, shared memory; POSIX queues")
local KEY = 0x6e7368  -- "nsh"
local MQ = "/nsh-ipcns-demo"

-- a process that holds a new IPC namespace for us to enter
local holder = ns.spawn{"/bin/sleep", "60", ns = "ipc"}
say("A sleeping child holds a new IPC namespace ipc:[%d]; the shell is in ipc:[%d].",
    ns.id(holder.pid, "ipc"), ns.id("ipc"))

check(not pcall(sys.msgget, KEY), "outside, before anything: no queue with key 0x6e7368")

ns.setns(holder, "ipc")
say("\nThe shell joins it (setns(fd, CLONE_NEWIPC)) and creates a System V queue and a POSIX queue:")
check(#sys.msgqueues() == 0, "a new IPC namespace starts with no System V queues")
local q = sys.msgget(KEY, true)
sys.msgsnd(q, "hello from inside")
local inside = sys.msgqueues()
for _, e in ipairs(inside) do say("  inside: key 0x%x id %d, %d message(s)", e.key, e.id, e.messages) end
check(#inside == 1 and inside[1].key == KEY and inside[1].messages == 1, "inside, the queue is listed with its message")
local mq_ok, mq_err = sys.mq_open(MQ, true)
check(mq_ok, "inside, a POSIX queue " .. MQ .. " can be created", mq_err)
check(sys.mq_open(MQ), "inside, the POSIX queue opens again by name")
local sem = sys.semget(KEY, 1, true)
sys.semop(sem, 0, 3)
local shm = sys.shmget(KEY, 4096, true)
sys.shmat(shm, 0, "shared inside")
say("  a semaphore set (value %d) and a shared memory segment (%q) with the same key:",
    sys.semval(sem, 0), sys.shmat(shm, 0, 13))
for _, o in ipairs(sys.ipcs()) do say("  ipcs: %s key 0x%x id %d perms %s size %d", o.kind, o.key, o.id, o.perms, o.size) end
check(#sys.ipcs() == 3, "inside, ipcs lists exactly the three objects: a queue, a semaphore set, a segment")

-- a second process in the same namespace sees the same bytes and value
local peer = ns.clone({join = {ipc = "/proc/" .. holder.pid .. "/ns/ipc"}}, function(key)
  local m = sys.shmget(key)
  sys.shmat(m, 0, "SHARED")
  sys.semop(sys.semget(key), 0, -1)
  return true
end, KEY)
check(peer:wait() == 0, "another process joins the namespace, writes the segment and takes the semaphore")
check(sys.shmat(shm, 0, 13) == "SHARED inside" and sys.semval(sem, 0) == 2, "the shell sees its write and the semaphore at 2: one object, shared by key within the namespace")

ns.restore("ipc")
say("\nBack in nsh's own IPC namespace:")
local ok, err = pcall(sys.msgget, KEY)
say("  msgget(0x%x) -> %s", KEY, ok and "found" or err)
check(not ok and tostring(err):find("ENOENT"), "outside, msgget finds no queue with that key (ENOENT)")
local listed = false
for _, e in ipairs(sys.msgqueues()) do if e.key == KEY then listed = true end end
check(not listed, "outside, /proc/sysvipc/msg does not list it")
local mok, merr = sys.mq_open(MQ)
say("  mq_open(%q) -> %s", MQ, mok and "found" or merr)
check(not mok and merr == "ENOENT", "outside, the POSIX queue does not exist (ENOENT)")
local sok, serr = pcall(sys.semget, KEY)
local hok, herr = pcall(sys.shmget, KEY)
check(not sok and serr:find("ENOENT", 1, true) and not hok and herr:find("ENOENT", 1, true),
      "outside, neither the semaphore set nor the segment exists (ENOENT)")

holder:kill(9)
holder:wait()
say("\nThe holder is gone, so is its IPC namespace and everything in it: nothing to clean up.")
finish()
