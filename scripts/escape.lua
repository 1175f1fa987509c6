-- escape.lua: what keeps a container's root inside, one protection at a time.
--
-- A container made with nsh's container options (rootfs=, proc=, mask=, ...)
-- gets the protections production runtimes give: Docker's 14 capabilities
-- (no CAP_SYS_ADMIN), no_new_privs, a seccomp filter, and no descriptor
-- above 2 reaching its program. For each one the script turns it off by name
-- (unsafe = {...}) and shows the escape that then works, inside a throwaway
-- set-up: the sysctl written is one of the container's own network namespace,
-- the "host file" reached is a temporary file the script made. With the
-- protection on, the kernel's refusal is shown.
--
-- Issue 11, item 2 (the trust issue); runc CVE-2024-21626 for descriptors.

local function readfile(p) local f = io.open(p) if not f then return nil end local s = f:read("*a") f:close() return s end
local root_user = sys.getuid() == 0 and (readfile("/proc/self/uid_map") or ""):match("^%s*0%s+0%s+4294967295") ~= nil

local dir = rootfs.tmpdir("escape")
local root = dir .. "/rootfs"
rootfs.build(root, {binaries = {"/bin/sh", "/bin/cat", "/bin/ls", "/bin/echo", "/usr/bin/grep", "/usr/bin/mkdir",
  "/usr/bin/mount", "/usr/bin/umount", "/usr/bin/unshare", "/usr/bin/wc", "/usr/bin/hostname", "/usr/bin/id"},
  files = {["/secret"] = "only root may read this\n", ["/tmp/.keep"] = ""}})
say("rootfs %s: sh, cat, ls, grep, mount, umount, unshare, hostname, ... (throwaway)", root)

local uid, gid = sys.getuid(), sys.getgid()
-- inside runs sh -c cmd in a container (own user, pid, mnt, uts, ipc, net
-- namespaces; proc, sysfs, minimal /dev, runc's masks and read-only paths)
-- and returns its exit code and output (stdout and stderr together).
local function inside(cmd, extra)
  local out = dir .. "/out"
  os.remove(out)
  local s = {"/bin/sh", "-c", "exec 2>&1; " .. cmd,
    ns = "user,pid,mnt,uts,ipc,net", uid_map = "0 " .. uid .. " 1", gid_map = "0 " .. gid .. " 1",
    rootfs = root, proc = true, sys = true, dev = "minimal", mask = true, readonly = true,
    env = {PATH = "/bin:/usr/bin"}, stdout = out}
  for k, v in pairs(extra or {}) do s[k] = v end
  local code = ns.spawn(s):wait()
  local text = readfile(out) or ""
  os.remove(out)
  return code, text
end
local function show(text) for l in text:gmatch("[^\n]+") do say("    | %s", l) end end
local function field(text, key) return text:match(key .. ":%s*([^\n]*)") end
-- has says whether a capability mask (hex, as /proc/PID/status shows it) has bit n
local function has(mask, n) local v = tonumber(mask or "", 16) return v ~= nil and math.floor(v / 2 ^ n) % 2 == 1 end
local CAP_SYS_ADMIN, CAP_SYS_MODULE = 21, 16

section("The defaults")
local probe = "grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status"
local code, out = inside(probe)
show(out)
check(field(out, "CapEff") == "00000000a80425fb", "CapEff is Docker's 14 capabilities (no CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_NET_ADMIN, ...)", field(out, "CapEff"))
check(field(out, "CapBnd") == "00000000a80425fb", "the bounding set is the same: no execve brings the others back", field(out, "CapBnd"))
check(field(out, "CapAmb") == "0000000000000000", "the ambient set is empty")
check(field(out, "NoNewPrivs") == "1", "no_new_privs is set")
check(field(out, "Seccomp") == "2", "a seccomp filter is installed (mode 2)")

section("Masks: umount, a fresh proc, /sys/firmware")
local tries = {
  {"umount /proc/sys", "umount /proc/sys && echo UNDONE"},
  {"umount /sys/firmware", "umount /sys/firmware && echo UNDONE"},
  {"mount -t proc (a fresh, unmasked proc)", "mkdir -p /tmp/p && mount -t proc proc /tmp/p && echo UNDONE"},
}
for _, t in ipairs(tries) do
  local c, o = inside(t[2])
  say("  %s:", t[1]); show(o)
  check(c ~= 0 and not o:find("UNDONE") and (o:find("must be superuser") or o:find("not permitted") or o:find("permission denied")),
    t[1] .. " is refused: EPERM (no CAP_SYS_ADMIN, and the filter refuses the call)", o)
end

section("caps and seccomp off: the masks come undone")
local sysctl = "/proc/sys/net/ipv4/ip_unprivileged_port_start"
local undo = table.concat({
  "umount /proc/sys && echo 'umount /proc/sys: done'",
  "old=$(cat " .. sysctl .. "); echo $((old - 1)) > " .. sysctl .. " && echo \"sysctl written: $old -> $(cat " .. sysctl .. ") (the container's own network namespace)\"",
  "umount /sys/firmware && echo \"/sys/firmware: $(ls /sys/firmware | wc -l) entries of the host's firmware tables\"",
  "mkdir -p /tmp/p && mount -t proc proc /tmp/p && a=$(ls -l /tmp/p/timer_list) && b=$(ls -l /proc/timer_list) && echo \"fresh proc: timer_list is ${a%% *} (the kernel's file), under the mask ${b%% *} (/dev/null)\"",
}, "; ")
code, out = inside(undo, {unsafe = {"caps", "seccomp"}})
show(out)
check(out:find("umount /proc/sys: done", 1, true), "with CAP_SYS_ADMIN and no filter, umount /proc/sys works (the mask was made in the container's own mount namespace: the kernel does not lock it)")
check(out:find("sysctl written", 1, true), "then /proc/sys is writable: a write reaches the kernel (here the container's own net namespace; with a uid_map \"0 0 1\" a kernel.* sysctl would be the host's)")
check(out:find("/sys/firmware: [1-9]") ~= nil, "umount /sys/firmware exposes the host's firmware tables", out:match("/sys/firmware: [^\n]*"))
local fresh, masked = out:match("timer_list is (%S+) .-under the mask (%S+)")
check(fresh and fresh:sub(1, 1) == "-" and masked and masked:sub(1, 1) == "c",
  "a fresh proc mount is unmasked (timer_list is the kernel's file there, /dev/null under the mask)", fresh, masked)

section("Only one of them off: the other still refuses")
code, out = inside("grep CapEff /proc/self/status; umount /proc/sys && echo UNDONE", {unsafe = {"caps"}})
say("  unsafe={\"caps\"} (CAP_SYS_ADMIN back, filter on):"); show(out)
check(has(field(out, "CapEff"), CAP_SYS_ADMIN) and not out:find("UNDONE") and out:find("must be superuser") ~= nil,
  "the seccomp filter refuses umount2 with EPERM (umount(8): \"must be superuser\") although CAP_SYS_ADMIN is there", out)
code, out = inside("grep -E '^(CapEff|Seccomp)' /proc/self/status; umount /proc/sys && echo UNDONE", {unsafe = {"seccomp"}})
say("  unsafe={\"seccomp\"} (no filter, capabilities dropped):"); show(out)
check(field(out, "Seccomp") == "0" and not out:find("UNDONE") and out:find("must be superuser") ~= nil, "the kernel refuses umount: no CAP_SYS_ADMIN (EPERM)", out)

section("seccomp off: a new user namespace gives every capability back")
local nested = "unshare -Ur grep CapEff /proc/self/status; unshare -Urm sh -c 'umount /proc/sys && echo UNDONE || echo umount refused in the nested namespace'"
code, out = inside(nested, {unsafe = {"seccomp"}})
show(out)
check(has(field(out, "CapEff"), CAP_SYS_ADMIN), "without the filter, unshare(CLONE_NEWUSER) needs no capability and gives a full set (CAP_SYS_ADMIN too) in the new namespace", field(out, "CapEff"))
check(out:find("not mounted", 1, true) and out:find("umount refused", 1, true) and not out:find("UNDONE"),
  "but there the masks are locked: copied into a less privileged mount namespace, the kernel refuses to unmount them (EINVAL, which umount(8) words \"not mounted\")")
code, out = inside("unshare -Ur true && echo UNSHARED", {})
show(out)
check(not out:find("UNSHARED") and out:find("not permitted") ~= nil, "with the filter, unshare is EPERM", out)

section("fds off: a descriptor nsh inherited leads out of the rootfs")
-- An nsh started with descriptor 7 open on a host directory (as a careless
-- parent would leave it) runs the container; the directory is a throwaway
-- one outside the rootfs.
local hostdir = dir .. "/host"
os.execute("mkdir -p " .. hostdir)
local f = io.open(hostdir .. "/secret", "w") f:write("a host file outside the rootfs\n") f:close()
local inner = dir .. "/fds.lua"
f = io.open(inner, "w")
f:write([[
local root, out, unsafe = arg[1], arg[2], arg[3]
local s = {"/bin/sh", "-c", "ls /proc/self/fd | grep -x 7 >/dev/null && echo 'fd 7 is open' ; cat /proc/self/fd/7/secret 2>&1",
  ns = "user,pid,mnt,uts,ipc,net", uid_map = "0 " .. sys.getuid() .. " 1", gid_map = "0 " .. sys.getgid() .. " 1",
  rootfs = root, proc = true, dev = "minimal", env = {PATH = "/bin:/usr/bin"}, stdout = out}
if unsafe ~= "" then s.unsafe = {unsafe} end
ns.spawn(s):wait()
]])
f:close()
local function via_fd(unsafe)
  local out = dir .. "/fdout"
  os.remove(out)
  local nsh = "/proc/" .. ns.getpid() .. "/exe"
  sys.run({"/bin/sh", "-c", "exec 7<\"$1\"; exec \"$2\" \"$3\" \"$4\" \"$5\" \"$6\"", "sh", hostdir, nsh, inner, root, out, unsafe})
  local text = readfile(out) or ""
  os.remove(out)
  return text
end
out = via_fd("fds")
say("  unsafe={\"fds\"}:"); show(out)
check(out:find("fd 7 is open", 1, true) and out:find("a host file outside the rootfs", 1, true), "the descriptor reaches the program: /proc/self/fd/7/secret is a host file", out)
out = via_fd("")
say("  default:"); show(out)
check(not out:find("fd 7 is open", 1, true) and out:find("No such file", 1, true), "by default it is closed on execve (close_range CLOEXEC): nothing to follow", out)

if root_user then
  section("no_new_privs off: a setuid program gives root's powers back")
  -- a second uid inside (1, a spare host uid outside), a setuid-root cat
  -- and a file only root may read, all in the throwaway rootfs
  sys.run({"/bin/sh", "-c", "cp \"$1/bin/cat\" \"$1/bin/suidcat\" && chmod 4755 \"$1/bin/suidcat\" && chmod 600 \"$1/secret\"", "sh", root})
  local two = {uid_map = "0 0 1\n1 64999 1", gid_map = "0 0 1\n1 64999 1", uid = 1, gid = 1}
  local cmd = "id -u; suidcat /secret"
  two.unsafe = {"no_new_privs"}
  code, out = inside(cmd, two)
  say("  unsafe={\"no_new_privs\"}, running as uid 1:"); show(out)
  check(out:find("only root may read this", 1, true), "a setuid-root program run by uid 1 reads root's file (execve made it euid 0 with the 14 capabilities)", out)
  two.unsafe = nil
  code, out = inside(cmd, two)
  say("  default:"); show(out)
  check(not out:find("only root may read this", 1, true) and out:find("Permission denied", 1, true), "with no_new_privs the setuid bit is ignored: Permission denied", out)

  section("No user namespace: root of the container is root of the machine")
  local flat = {"/bin/sh", "-c", "exec 2>&1; " .. probe, ns = "pid,mnt,uts,ipc", rootfs = root, proc = true, dev = "minimal",
    env = {PATH = "/bin:/usr/bin"}, stdout = dir .. "/out"}
  ns.spawn(flat):wait()
  out = readfile(dir .. "/out") or ""
  say("  default (ns=\"pid,mnt,uts,ipc\"):"); show(out)
  check(field(out, "CapEff") == "00000000a80425fb", "the dropped capabilities are the protection: CAP_SYS_ADMIN, CAP_SYS_MODULE, ... are gone for the host's root too")
  os.remove(dir .. "/out")
  flat.unsafe = {"caps"}
  ns.spawn(flat):wait()
  out = readfile(dir .. "/out") or ""
  say("  unsafe={\"caps\"} (nsh warns once, on stderr):"); show(out)
  check(has(field(out, "CapEff"), CAP_SYS_ADMIN) and has(field(out, "CapEff"), CAP_SYS_MODULE),
    "with caps kept, it has root's capabilities over the machine (CAP_SYS_ADMIN, CAP_SYS_MODULE, ...)", field(out, "CapEff"))
  os.remove(dir .. "/out")

  section("The host's hostname")
  local before = sys.hostname()
  local ok, err = pcall(sys.hostname, "escape-test")
  say("  sys.hostname(\"escape-test\"): %s", tostring(err))
  check(not ok and tostring(err):find("host=true", 1, true) and sys.hostname() == before,
    "at nsh's own prompt, renaming the machine needs {host=true} (and is undone at exit)")
else
  section("no_new_privs and the host's root")
  say("  (as an ordinary user the container has one uid and no host root to become: the setuid and")
  say("   no-user-namespace parts run as root only)")
end

finish()
