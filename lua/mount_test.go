package lua

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// Wrong input to the mount bindings is a bad argument naming what is
// valid, raised before any mount is made (so this needs no privilege).
func TestMountArgumentErrors(t *testing.T) {
	s := newTestSession(t)
	for _, c := range []struct{ src, want string }{
		{`mount.mount()`, `bad argument #2 to 'mount.mount' (target must be a non-empty string, got no value)`},
		{`mount.mount("x", "/tmp", "tmpfs", "nosuid,frobnicate")`, `bad argument #4 to 'mount.mount' (mount flags: unknown flag "frobnicate"`},
		{`mount.mount("x", "/tmp", "tmpfs", 42)`, `bad argument #4 to 'mount.mount' (flags must be a string, got number)`},
		{`mount.umount("/tmp", "sideways")`, `bad argument #2 to 'mount.umount' (unknown umount option "sideways" (valid: "detach" or "force"))`},
		{`mount.umount("/tmp", {detatch=true})`, `bad argument #2 to 'mount.umount' (unknown option detatch: did you mean "detach"?`},
		{`mount.umount("/tmp", 3)`, `"detach", "force" or {detach=true, force=true} expected, got number`},
		{`mount.bind("/a", "/b", {recursiv=true})`, `bad argument #3 to 'mount.bind' (unknown option recursiv: did you mean "recursive"?`},
		{`mount.bind("/a", "/b", {readonly="yes"})`, `option readonly must be true or false, got string`},
		{`mount.make("/", "sharde")`, `bad argument #2 to 'mount.make' (kind must be one of "private", "shared"`},
		{`mount.make("/", "private", 5)`, `bad argument #3 to 'mount.make' (recursive must be true or false, got number)`},
		{`mount.move("/a")`, `bad argument #2 to 'mount.move' (target must be a non-empty string`},
		{`mount.tmpfs("/tmp", {size="lots"})`, `bad argument #2 to 'mount.tmpfs' (tmpfs: size "lots" is not valid`},
		{`mount.tmpfs("/tmp", {mode="999"})`, `tmpfs: mode "999" is not valid`},
		{`mount.tmpfs("/tmp", {sise="1m"})`, `did you mean "size"?`},
		{`mount.overlay("x")`, `bad argument #1 to 'mount.overlay' (table expected`},
		{`mount.overlay{lower={}, target="/tmp"}`, `bad argument #1 to 'mount.overlay' (overlay: lower is empty`},
		{`mount.overlay{lower="/a", upper="/b", target="/tmp"}`, `upper and work go together`},
		{`mount.overlay{lower="/a"}`, `overlay: target missing`},
		{`mount.overlay{lower={1, true}, target="/t"}`, `lower`},
		{`mount.container(5)`, `bad argument #1 to 'mount.container' (table expected`},
		{`mount.container{rootfs="rel"}`, `bad argument #1 to 'mount.container' (rootfs must be an absolute directory path, got "rel")`},
		{`mount.container{dev="udev"}`, `dev must be "minimal" or "devtmpfs", got udev`},
		{`mount.container{prc=true}`, `unknown option prc: did you mean "proc"?`},
		{`mount.container{mask={"rel"}}`, `mask: "rel" is not an absolute path`},
		{`mount.container{readonly=5}`, `readonly must be true or a list of absolute paths, got number`},
		{`mount.container{sys="yes"}`, `sys must be true or false, got string`},
		{`mount.find()`, `bad argument #1 to 'mount.find' (target must be a non-empty string`},
		{`mount.find("/", {5})`, `rows[1] is not a mount row`},
		{`mount.diff(1)`, `two mount tables expected`},
		{`mount.list(-1)`, `bad argument #1 to 'mount.list'`},
		{`ns.spawn{"/bin/true", rootfs="/tmp"}`, `add "mnt" to ns`},
		{`ns.spawn{"/bin/true", ns="mnt", proc="yes"}`, `option proc must be true or false, got string`},
		{`ns.spawn{"/bin/true", ns="mnt", mask={"x"}}`, `option mask: "x" is not an absolute path`},
		{`ns.spawn{"/bin/true", ns="mnt", rootfs="x"}`, `option rootfs must be an absolute directory path, got "x"`},
		{`ns.spawn{"/bin/true", ns="mnt", dev="udev"}`, `option dev must be "minimal" or "devtmpfs"`},
		{`ns.spawn{"/bin/true", ns="mnt", proc=true, unsafe={"capabilities"}}`, `option unsafe: "capabilities" is not a protection (valid: fds, caps, no_new_privs, seccomp)`},
		{`ns.spawn{"/bin/true", ns="mnt", proc=true, unsafe=5}`, `option unsafe must be a list of protections ("fds", "caps", "no_new_privs" or "seccomp"), got number`},
		{`ns.spawn{"/bin/true", ns="mnt", unsafe={"caps"}}`, `option unsafe turns protections of a container off: it needs rootfs=, proc=`},
		{`mount.container{unsafe={"fd"}}`, `bad argument #1 to 'mount.container' (unsafe: "fd" is not a protection`},
		// a root change in the namespace nsh started in is refused, with advice
		{`mount.pivot_root("/a", "/b")`, "mount.pivot_root: refused in the mount namespace nsh started in (it would change the root of every process there)\n  hint: do it in a mount namespace of your own"},
		{`mount.pivot("/a")`, `mount.pivot: refused in the mount namespace nsh started in`},
		{`mount.container{proc=true}`, `mount.container: refused in the mount namespace nsh started in`},
	} {
		if err := runErr(t, s, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s:\n  error %q\n  want  %q", c.src, err, c.want)
		}
	}
}

// onOwnThread runs fn in a new session on a new OS thread that is never
// unlocked: the session may move the thread into new namespaces (the way the
// REPL moves nsh's main thread), and they end with the thread. fn reports
// with t.Error (it does not run on the test's goroutine).
func onOwnThread(t *testing.T, fn func(s *Session)) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		s, err := NewSession()
		if err != nil {
			t.Error(err)
			return
		}
		fn(s)
		for _, err := range s.Close() {
			t.Error(err)
		}
	}()
	<-done
}

// The mount bindings through a Session, in a mount namespace of the
// session thread's own: each call's result as the kernel's mount table shows it.
func TestMountSession(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts in a mount namespace without a user namespace")
	}
	onOwnThread(t, func(s *Session) {
		if err := runErr(t, s, mountSessionLua); err != "" {
			t.Errorf("%s\nin:\n%s", err, mountSessionLua)
		}
		// Nothing was registered for undo: the mounts live in the
		// thread's own namespace and vanish with it.
		for _, it := range s.Reg.Pending() {
			if strings.HasPrefix(it.What, "mount ") {
				t.Errorf("registered %q in a mount namespace of the script's own", it.What)
			}
		}
	})
}

const mountSessionLua = `
ns.unshare("mnt")
mount.make("/", "rprivate")
d = rootfs.tmpdir("mounttest")
local before = mount.list()
mount.tmpfs(d, {size = "1m", mode = "700"})
local r = mount.find(d)
assert(r and r.fstype == "tmpfs", "tmpfs at d")
assert(r.super_options:find("size=1024k") and r.super_options:find("mode=700"), r.super_options)
assert(r.kind == "private", r.kind)

mount.make(d, "shared")
assert(mount.find(d).kind == "shared", "make shared")
mount.make(d, "private")

for _, n in ipairs{"a", "b", "c", "e"} do sys.run{"mkdir", d .. "/" .. n} end
local f = io.open(d .. "/a/file", "w"); f:write("x"); f:close()
mount.bind(d .. "/a", d .. "/b", {readonly = true})
assert(mount.find(d .. "/b").options:match("^ro"), mount.find(d .. "/b").options)
local bf = io.open(d .. "/b/file"); assert(bf:read("*a") == "x", "the bind shows a's file"); bf:close()
local w, err = io.open(d .. "/b/new", "w")
assert(w == nil and err:find("read%-only"), "a read-only bind refuses writes: " .. tostring(err))

mount.move(d .. "/b", d .. "/c")
assert(mount.find(d .. "/b") == nil and mount.find(d .. "/c"), "moved")

mount.mount("tmpfs", d .. "/e", "tmpfs", "nosuid,nodev,size=2m")
local e = mount.find(d .. "/e")
assert(e.options:find("nosuid") and e.options:find("nodev") and e.super_options:find("size=2048k"), e.options .. " " .. e.super_options)
mount.mount(nil, d .. "/e", nil, "remount,ro,nosuid,nodev")
assert(mount.find(d .. "/e").options:match("^ro"), "remounted read-only")

mount.umount(d .. "/c")
assert(mount.find(d .. "/c") == nil, "umounted")
local ok, uerr = pcall(mount.umount, d .. "/c")
assert(not ok and uerr:find("EINVAL"), "umount of a plain directory: " .. tostring(uerr))

sys.run{"mkdir", d .. "/dev"}
mount.mkdev(d .. "/dev")
assert(mount.find(d .. "/dev/pts").fstype == "devpts" and mount.find(d .. "/dev/shm").fstype == "tmpfs")
local null = io.open(d .. "/dev/null", "w"); assert(null:write("gone")); null:close()

local diff = mount.diff(before, mount.list())
local added = {}
for _, row in ipairs(diff.added) do added[row.target] = row.fstype end
assert(added[d] == "tmpfs" and added[d .. "/e"] == "tmpfs" and added[d .. "/dev"] == "tmpfs", "diff names the new mounts")
assert(tostring(diff):find("+ " .. d, 1, true), tostring(diff))
assert(tostring(mount.list()):find("PROPAGATION"), "a mount list prints as a table")
`

// mount.container and mount.pivot in a child (ns.clone with "mnt"): the
// child's root is the directory given, with what the options ask for.
func TestMountContainerChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a mount namespace without a user namespace")
	}
	s := newTestSession(t)
	run(t, s, `
local root = rootfs.tmpdir("containertest")
local f = io.open(root .. "/marker", "w"); f:write("inside"); f:close()
local h = ns.clone("mnt,pid,ipc", function(r)
  mount.container{rootfs = r, proc = true, dev = "minimal", mqueue = true, mask = true, readonly = true}
  local types = {}
  for _, row in ipairs(mount.list()) do types[row.target] = row.fstype end
  local w = io.open("/proc/sys/kernel/hostname", "w")
  return io.open("/marker"):read("*a"), types["/proc"], types["/dev"], types["/dev/mqueue"], w == nil, ns.getpid()
end, root)
assert(h:wait() == 0, "the container child failed")
local marker, proc, dev, mq, ro, pid = h:result()
assert(marker == "inside", "/ is the rootfs: " .. tostring(marker))
assert(proc == "proc" and dev == "tmpfs" and mq == "mqueue", ("mounts %s %s %s"):format(proc, dev, mq))
assert(ro, "/proc/sys is read-only")
assert(pid == 1, "the child is PID 1 of its pid namespace")

local p = ns.clone("mnt", function(r)
  mount.pivot(r)
  return io.open("/marker"):read("*a")
end, root)
assert(p:wait() == 0 and p:result() == "inside", "mount.pivot")
`)
}

// In the mount namespace the session started in, a mount outlives the
// session unless it is undone: the session unmounts it when it closes, but
// not one unmounted by hand, and a propagation change or a remount is no
// mount to undo.
func TestMountUndoAtClose(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts in the namespace the test started in")
	}
	var dir string
	onOwnThread(t, func(s *Session) {
		vals, err := s.Run(`
local d = rootfs.tmpdir("undotest")
mount.tmpfs(d, {size = "1m"})
mount.mount(nil, d, nil, "private")
mount.mount(nil, d, nil, "remount,nosuid")
sys.run{"mkdir", d .. "/x"}
mount.tmpfs(d .. "/x")
mount.umount(d .. "/x")
return d`, t.Name())
		if err != nil {
			t.Error(err)
			return
		}
		dir = vals[0].String()
		var what []string
		for _, it := range s.Reg.Pending() {
			what = append(what, it.What)
		}
		if want := "directory " + dir + ",mount " + dir; strings.Join(what, ",") != want {
			t.Errorf("registered %q, want %q", strings.Join(what, ","), want)
		}
	})
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if dir == "" || strings.Contains(string(mi), dir) {
		t.Errorf("the tmpfs at %q is still mounted after the session closed", dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the tmpdir %s survived the session: %v", dir, err)
	}
}

// TestContainerProtections: a container's program gets no descriptor nsh
// inherited (runc CVE-2024-21626) unless unsafe "fds", and a Lua function
// in a container cannot undo its mounts: EPERM, with the hint naming the
// protections.
func TestContainerProtections(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a mount namespace without a user namespace")
	}
	// a descriptor as a careless parent leaves it: a host directory, not close-on-exec
	fd, err := unix.Open(t.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	s := newTestSession(t)
	vals, err := s.Run(fmt.Sprintf(`
local out = os.tmpname()
local function fds(extra)
  os.remove(out)
  local spec = {"/bin/ls", "/proc/self/fd", ns = "mnt,pid", proc = true, stdout = out}
  for k, v in pairs(extra) do spec[k] = v end
  assert(ns.spawn(spec):wait() == 0)
  local l = {}
  for n in io.open(out):read("*a"):gmatch("%%d+") do l[#l + 1] = n end
  os.remove(out)
  return table.concat(l, " ")
end
local default, unsafe = fds({}), fds({unsafe = {"fds"}})
local h = ns.clone({ns = "mnt,pid", proc = true}, function() return pcall(mount.umount, "/proc") end)
h:wait()
local ok, err = h:result()
return default, unsafe, ok, err, %d`, fd), "t")
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.Itoa(fd)
	has := func(list string) bool { return strings.Contains(" "+list+" ", " "+want+" ") }
	t.Logf("inherited fd %s; the program's fds: %s by default, %s with unsafe fds", want, vals[0], vals[1])
	if want == "3" {
		t.Fatal("the inherited descriptor is 3, the one ls opens for /proc/self/fd itself: the test cannot tell them apart")
	}
	if has(vals[0].String()) {
		t.Errorf("inherited descriptor %s reached the container's program: its fds are %s", want, vals[0])
	}
	if !has(vals[1].String()) {
		t.Errorf("with unsafe fds, descriptor %s should reach the program (the lesson): fds %s", want, vals[1])
	}
	if vals[2] != glua.LFalse || !strings.Contains(vals[3].String(), "EPERM") || !strings.Contains(vals[3].String(), "container's protections") {
		t.Errorf("umount /proc in a container: %v %v, want EPERM with the protections' hint", vals[2], vals[3])
	}
}
