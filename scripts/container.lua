-- container.lua: a container from scratch, the whole go-container log.
--
-- Own PID, mount, UTS, IPC, network and user namespaces; a root filesystem
-- built from the host and pivot_root'ed into; proc, a minimal /dev, runc's
-- masked and read-only paths; the hostname equal to the container's id. The
-- entry `/bin/echo 1` prints 1 and the container "exited ok". With --shell,
-- an interactive shell runs inside instead:
--
--   nsh scripts/container.lua --shell
--
-- Seed: 003.

local want_shell = false
for _, a in ipairs(arg or {}) do if a == "--shell" then want_shell = true end end

local function readfile(p) local f = io.open(p) if not f then return nil end local s = f:read("*a") f:close() return s end
local id = (readfile("/proc/sys/kernel/random/uuid") or "c0ffee00-0000-4000-8000-000000000000"):gsub("%s", "")
local dir = rootfs.tmpdir("containers")
local root = dir .. "/" .. id .. "/rootfs"

section("Image")
local r = rootfs.build(root, {binaries = {"/bin/sh", "/bin/echo", "/bin/ls", "/bin/cat", "/bin/hostname", "/bin/ps", "/bin/mount", "/usr/bin/tr", "/usr/bin/tail", "/usr/bin/cut", "/usr/bin/wc"}, nsh = true,
  files = {["/etc/profile"] = "PS1='root@$(hostname)$ '\n"}})
say("  containers/%s/rootfs: %d files, %.1f MiB (sh, echo, ls, cat, hostname, ps, mount, tr, tail, cut, wc + libraries, and /bin/nsh)", id, r.files, r.size / 1048576)

local uid, gid = sys.getuid(), sys.getgid()
local function spec(argv, extra)
  local s = {ns = "user,pid,mnt,uts,ipc,net", uid_map = "0 " .. uid .. " 1", gid_map = "0 " .. gid .. " 1",
    hostname = id, rootfs = root, proc = true, dev = "minimal", sys = true, mask = true, readonly = true,
    env = {PATH = "/bin:/usr/bin:/sbin:/usr/sbin", HOME = "/root", TERM = os.getenv("TERM") or "dumb", ENV = "/etc/profile"}}
  for i, a in ipairs(argv) do s[i] = a end
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

if want_shell then
  section("Interactive shell")
  say("Hello, I am main with pid %d", ns.getpid())
  say("Starting /bin/sh in container %s (exit to leave; try: hostname, ps, ls /dev, mount, cat /proc/self/uid_map)", id)
  local h = ns.spawn(spec({"/bin/sh", "-i"}))
  local code = h:wait()
  say("%s exited %s", id, code == 0 and "ok" or ("with " .. tostring(code)))
  finish()
  return
end

local function run(argv)
  local out = dir .. "/out"
  local h = ns.spawn(spec(argv, {stdout = out}))
  local code = h:wait()
  local text = readfile(out) or ""
  os.remove(out)
  return code, text, h
end

section("Entry command: /bin/echo 1")
say("Hello, I am main with pid %d", ns.getpid())
local code, out = run({"/bin/echo", "1"})
io.write(out)
say("%s exited %s", id, code == 0 and "ok" or ("with " .. tostring(code)))
check(code == 0 and out == "1\n", "the entry /bin/echo 1 printed 1 and exited 0")

section("Inside the container")
local probe = [[
echo "pid=$$"
echo "hostname=$(hostname)"
echo "uidmap=$(cat /proc/self/uid_map | tr -s ' ')"
echo "ps=$(ps -e -o pid= 2>/dev/null | tr -d ' ' | tr '\n' ,)"
echo "links=$(cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | tr '\n' ,)"
echo "dev=$(ls /dev | tr '\n' ,)"
echo "root=$(ls / | tr '\n' ,)"
echo "keys=$(cat /proc/keys 2>&1 | wc -c)"
echo "procsys=$( (echo x >/proc/sys/kernel/hostname) 2>/dev/null && echo writable || echo refused)"
echo "mounts:"; cat /proc/self/mounts
]]
local code2, out2 = run({"/bin/sh", "-c", probe})
print(out2)
local kv = {}
for k, v in out2:gmatch("(%w+)=([^\n]*)") do kv[k] = kv[k] or v end
check(code2 == 0, "the probe ran")
check(kv.pid == "1", "the shell is PID 1 of its own PID namespace (it was exec'd, not forked)", kv.pid)
check(kv.hostname == id, "the hostname is the container's id (own UTS namespace)", kv.hostname)
check((kv.uidmap or ""):match("^%s*(.-)%s*$") == "0 " .. uid .. " 1", "it is root inside, uid " .. uid .. " outside (own user namespace)", kv.uidmap)
check(kv.links == "lo,", "its network namespace has only lo", kv.links)
check(kv.dev == "fd,full,null,ptmx,pts,random,shm,stderr,stdin,stdout,tty,urandom,zero,", "/dev is the minimal one", kv.dev)
check(kv.root:find("bin,", 1, true) and not kv.root:find("work", 1, true), "/ is the built rootfs", kv.root)
check(kv.keys == "0", "/proc/keys is masked (/dev/null bound over it, as runc does)", kv.keys)
check(kv.procsys == "refused", "/proc/sys is read-only (the container cannot set kernel parameters through it)")
local host_name = sys.hostname()
check(host_name ~= id, "the host's hostname is untouched", host_name)
finish()
