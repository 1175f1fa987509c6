package lua

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// expectErrors runs each source and wants an error containing its text.
func expectErrors(t *testing.T, s *Session, cases [][2]string) {
	t.Helper()
	for _, c := range cases {
		got := runErr(t, s, c[0])
		if got == "" || !strings.Contains(got, c[1]) {
			t.Errorf("%s\n  error %q\n  want  %q", c[0], got, c[1])
		}
	}
}

func TestNSArgumentErrors(t *testing.T) {
	s := newTestSession(t)
	expectErrors(t, s, [][2]string{
		{`ns.unshare(5)`, `bad argument #1 to 'ns.unshare' (types must be a string or a list of strings, got number (valid types: mnt, uts`},
		{`ns.unshare("pid,bogus")`, `unknown namespace type "bogus"`},
		{`ns.unshare({})`, `no namespace type given`},
		{`ns.setns(1)`, `bad argument #2 to 'ns.setns' (types expected with a pid`},
		{`ns.setns({})`, `bad argument #1 to 'ns.setns' (pid expected (a number or a process handle), got table)`},
		{`ns.setns("/proc/self/ns/net", "net,uts")`, `a namespace file has exactly one type`},
		{`ns.id(1, "pid,net")`, `bad argument #2 to 'ns.id' (one namespace type expected`},
		{`ns.id(0.5, "net")`, `pid must be a positive whole number, got 0.5`},
		{`ns.parent(1)`, `bad argument #2 to 'ns.parent'`},
		{`ns.type("")`, `bad argument #1 to 'ns.type' (path must be a non-empty string`},
		{`ns.pin(1, "net", "")`, `bad argument #3 to 'ns.pin' (name must be a non-empty string`},
		{`ns.pin(1, "net", "../x")`, `a name like "lab1" or an absolute path expected`},
		{`ns.pin(1, "net", "x", {kep = true})`, `unknown option kep: did you mean "keep"?`},
		{`ns.pin(1, "net", "x", {keep = 1})`, `option keep must be true or false, got number`},
		{`ns.close("/proc/1/fd/99")`, `not a namespace held by ns.open`},
		{`ns.open(1, "bogus")`, `bad argument #2 to 'ns.open'`},
		{`ns.clone(5, print)`, `bad argument #1 to 'ns.clone' (types ("pid,uts") or an options table`},
		{`ns.clone("pid", 5)`, `bad argument #2 to 'ns.clone' (function expected, got number)`},
		{`ns.clone({ns = "pid", hostnme = "x"}, print)`, `unknown option hostnme: did you mean "hostname"?`},
		{`ns.waitany(5)`, `bad argument #1 to 'ns.waitany' (a list of process handles expected, got number)`},
		{`ns.waitany({5})`, `element 1 is not a process handle (got number)`},
		{`ns.waitany({}, "soon")`, `bad argument #2 to 'ns.waitany' (timeout must be a number of seconds, got string)`},
	})
}

func TestSpawnArgumentErrors(t *testing.T) {
	s := newTestSession(t)
	expectErrors(t, s, [][2]string{
		{`ns.spawn("/bin/true")`, `bad argument #1 to 'ns.spawn' (table expected`},
		{`ns.spawn{}`, `no program: put the program and its arguments first`},
		{`ns.spawn{"/bin/true", {}}`, `argv[2] must be a string, got table`},
		{`ns.spawn{"/bin/true", hostnme = "x"}`, `unknown option hostnme: did you mean "hostname"?`},
		{`ns.spawn{"/bin/true", [true] = 1}`, `unknown option true`},
		{`ns.spawn{"/bin/true", ns = 5}`, `option ns must be a string or a list of strings, got number`},
		{`ns.spawn{"/bin/true", ns = "pid,nett"}`, `option ns: unknown namespace type "nett"`},
		{`ns.spawn{"/bin/true", uid_map = "0 0 1"}`, "uid_map/gid_map: id maps are written into a new user namespace, and the spec creates none)\n  hint: add \"user\" to ns"},
		{`ns.spawn{"/bin/true", ns = "user", uid_map = "0 0"}`, `option uid_map: id map line "0 0": want three numbers`},
		{`ns.spawn{"/bin/true", hostname = "box"}`, `add "uts" to ns`},
		{`ns.spawn{"/bin/true", ns = "uts", hostname = string.rep("x", 65)}`, `hostname: at most 64 bytes (the kernel's __NEW_UTS_LEN), got 65`},
		{`ns.spawn{"/bin/true", setgroups = "maybe"}`, `option setgroups must be one of "allow" or "deny", got "maybe"`},
		{`ns.spawn{"/bin/true", hold = "yes"}`, `option hold must be true or false, got string`},
		{`ns.spawn{"/bin/true", uid = -1}`, `option uid must be a whole number from 0 to 4294967294, got -1`},
		{`ns.spawn{"/bin/true", env = "A=1"}`, `option env must be a table, got string`},
		{`ns.spawn{"/bin/true", env = {1}}`, `option env: list entries must be "NAME=value" strings, got number`},
		{`ns.spawn{"/bin/true", stdin = "/nonexistent/in"}`, `option stdin: open /nonexistent/in: no such file or directory`},
		{`ns.spawn{"/bin/true", join = 0}`, `option join must be a whole number from 1 to`},
		{`ns.spawn{"/bin/true", join = {nett = "/x"}}`, `option join: unknown namespace type "nett"`},
		{`ns.spawn{"/bin/true", join = {net = 5}}`, `option join: net must be the path of a namespace file, got number`},
		{`ns.spawn{"/bin/true", join = true}`, `option join must be a pid, a process handle or a table`},
		{`ns.spawn{"/bin/true", join_ns = "net"}`, `option join_ns needs join=`},
		{`ns.spawn{"/bin/true", join = {user = "/proc/1/ns/user"}}`, `ns.spawn: setns(user): EINVAL: setns(2) of a user namespace needs a single-threaded caller`},
		{`ns.spawn{"/bin/true", join = {user = "/proc/1/ns/user"}}`, `nsenter --user=/proc/1/ns/user --preserve-credentials -- /bin/true`},
		{`ns.spawn{"/bin/true", rootfs = "/tmp"}`, `add "mnt" to ns`},
		{`ns.spawn{"/nonexistent/prog"}`, `ns.spawn: fork + exec(["/nonexistent/prog"]): ENOENT`},
	})
}

// Every key the options reader accepts is documented in help(ns.spawn), and
// every documented one is accepted (none is refused as unknown).
func TestEverySpawnOptionDocumented(t *testing.T) {
	s := newTestSession(t)
	var out strings.Builder
	s.Stdout = &out
	run(t, s, `help(ns.spawn)`)
	help := out.String()
	if len(spawnOptions) < 26 {
		t.Fatalf("only %d spawn options", len(spawnOptions))
	}
	seen := map[string]bool{}
	for _, o := range spawnOptions {
		if seen[o.Name] {
			t.Errorf("option %s listed twice", o.Name)
		}
		seen[o.Name] = true
		if !strings.Contains(help, "- "+o.Name+"=: ") || o.Doc == "" {
			t.Errorf("help(ns.spawn) does not document %s", o.Name)
		}
		// a value of the wrong kind for every option: whatever the
		// complaint, it is not "unknown option"
		err := runErr(t, s, `ns.spawn{"/bin/true", `+o.Name+` = function() end}`)
		if err == "" || strings.Contains(err, "unknown option") {
			t.Errorf("option %s: %q", o.Name, err)
		}
	}
	for _, want := range []string{"join", "join_ns", "cgroup", "rootfs", "proc", "sys", "dev", "mqueue", "mask", "readonly", "domainname", "pgroup"} {
		if !seen[want] {
			t.Errorf("option %s missing from the table", want)
		}
	}
	if err := runErr(t, s, `ns.spawn{"/bin/true", nonsense = 1}`); !strings.Contains(err, "unknown option nonsense") {
		t.Errorf("an undocumented key is refused: %q", err)
	}
}

// userNS is an ns.spawn/ns.clone options fragment that works as root and
// as an ordinary user: a new user namespace mapping the caller to root.
const userNS = `ns = "user,%s", uid_map = "0 " .. sys.geteuid() .. " 1", gid_map = "0 " .. sys.getegid() .. " 1"`

func needUserNS(t *testing.T) {
	t.Helper()
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		t.Skip("user namespaces are disabled (max_user_namespaces = 0)")
	}
}

func TestSpawnResults(t *testing.T) {
	needUserNS(t)
	s := newTestSession(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	run(t, s, `
		local out = `+strconv.Quote(out)+`
		local h = ns.spawn{"/bin/sh", "-c", "hostname; echo $GREETING; id -u; exit 3",
			`+strings.Replace(userNS, "%s", "uts,pid", 1)+`,
			hostname = "box", env = {GREETING = "hi", PATH = os.getenv("PATH")}, stdout = out}
		assert(tostring(h):find("in new pid,user,uts"), tostring(h))
		assert(h.pid > 0 and h.argv[1] == "/bin/sh")
		local code, how = h:wait()
		assert(code == 3 and how == "exit", "exit code " .. tostring(code))
		assert(not h:alive())
		local f = io.open(out); local text = f:read("*a"); f:close()
		assert(text == "box\nhi\n0\n", "child output: " .. text)
	`)
}

func TestCloneAndHandleResults(t *testing.T) {
	needUserNS(t)
	s := newTestSession(t)
	run(t, s, `
		local h = ns.clone({`+strings.Replace(userNS, "%s", "pid", 1)+`}, function(x) return ns.getpid(), x * 2 end, 21)
		assert(h:wait() == 1, "PID 1 of the new namespace")
		local pid, twice = h:result()
		assert(pid == 1 and twice == 42)

		-- a held child: maps written by the parent, then released
		local held = ns.spawn{"/bin/sh", "-c", "exit $(id -u)", ns = "user", hold = true}
		assert(tostring(held):find("%[held%]"), tostring(held))
		assert(held:ns().user ~= ns.id("user"), "a new user namespace")
		held:setgroups("deny")
		held:uid_map("7 " .. sys.geteuid() .. " 1")
		held:gid_map("0 " .. sys.getegid() .. " 1")
		held:release()
		assert(held:wait() == 7, "the child is uid 7 inside")

		-- waitany reports the first to end; a timeout gives nil, "timeout"
		local slow = ns.spawn{"sleep", "30"}
		local quick = ns.spawn{"/bin/true"}
		local first, code = ns.waitany({slow, quick})
		assert(first == quick and code == 0)
		local none, why = ns.waitany({slow}, 0.05)
		assert(none == nil and why == "timeout")
		local a, b = slow:wait(0.01)
		assert(a == nil and b == "timeout")
		slow:kill("KILL")
		local c, how, sig = slow:wait()
		assert(c == 128 + 9 and how == "signal" and sig == "SIGKILL", tostring(c) .. " " .. tostring(sig))
		assert(ns.waitany({slow, quick}) == nil, "nothing left to wait for")
	`)
	expectErrors(t, s, [][2]string{
		{`local h = ns.spawn{"/bin/true"}; h:wait(); h:kill("BOGUS")`, `unknown signal "BOGUS"`},
		{`local h = ns.spawn{"/bin/true"}; h:wait(-1)`, `bad argument #2 to 'h:wait' (timeout must be a number of seconds from 0`},
		{`local h = ns.spawn{"/bin/true", ns = "user", hold = true}; h:setgroups("maybe")`, `bad argument #2 to 'h:setgroups' (setgroups must be one of "allow" or "deny"`},
		{`local h = ns.spawn{"/bin/true", ns = "user", hold = true}; h:uid_map("x")`, `bad argument #2 to 'h:uid_map' (id map line "x"`},
		{`local h = ns.spawn{"sleep", "5"}; h:result()`, `h:result: process`},
		{`local h = ns.spawn{"/bin/true"}; h.wait()`, `process handle expected (call methods with a colon: h:wait())`},
	})
}

func TestNSInspect(t *testing.T) {
	s := newTestSession(t)
	run(t, s, `
		assert(#ns.types() == 8 and ns.types()[1].name == "mnt")
		local l = ns.list()
		assert(l.net == ns.id("net") and l.net == ns.id(ns.getpid(), "net"))
		assert(ns.id("pid_for_children") == l.pid_for_children)
		assert(ns.type("/proc/self/ns/uts") == "uts")
		assert(#ns.differ() == 0, "the session starts where nsh started")
		local p = ns.open(ns.getpid(), "net")
		assert(p:find("^/proc/%d+/fd/%d+$") and ns.type(p) == "net")
		ns.close(p)
	`)
	expectErrors(t, s, [][2]string{
		{`ns.list(4194300)`, `ns.list: stat("/proc/4194300"): ENOENT: no process 4194300`},
		{`ns.type("/etc/hostname")`, `ns.type:`},
		{`ns.unshare("user")`, `use ns.clone or ns.spawn with "user"`},
	})
}

// TestRulesOfRefusals: refusals name the kernel's rule for their cause (item
// 7 of issue 9): a second unshare of "pid", an id map the kernel judges
// (h:uid_map with raw=true), a NUL in argv.
func TestRulesOfRefusals(t *testing.T) {
	s := newTestSession(t)
	cases := [][2]string{
		{`ns.spawn{"/bin/echo", "a\0b"}`, `bad argument #1 to 'ns.spawn' (argv: item 2 ("a\x00b") holds a NUL byte`},
		{`local h = ns.spawn{"/bin/true", ns = "user", hold = true}
		  local ok, err = pcall(h.uid_map, h, "0 0 1\n0 1 1", {raw = true})
		  h:kill(); h:wait(); error(err)`, `h:uid_map: write("/proc/`},
		{`local h = ns.spawn{"/bin/true", ns = "user", hold = true}
		  local ok, err = pcall(h.uid_map, h, "0 0 1\n0 1 1", {raw = true})
		  h:kill(); h:wait(); error(err)`, `EINVAL: the map is malformed for the kernel`},
		{`local h = ns.spawn{"/bin/true", ns = "user", hold = true}
		  local ok, err = pcall(h.uid_map, h, "0 0 1\n0 1 1")
		  h:kill(); h:wait(); error(err)`, `bad argument #2 to 'h:uid_map' (id map lines "0 0 1" and "0 1 1" overlap inside`},
	}
	if os.Geteuid() == 0 {
		cases = append(cases, [2]string{`local h = ns.clone("mnt", function() ns.unshare("pid"); local ok, e = pcall(ns.unshare, "pid"); return e end)
		  h:wait(); error(h:result())`,
			`hint: ns.restore("pid") first`})
	}
	expectErrors(t, s, cases)
}

// TestCloneInitIsAnInit: a cloned nsh as PID 1 behaves like an init without
// handlers (pid_namespaces(7)): its members' SIGTERM, SIGINT, SIGHUP, SIGQUIT
// are dropped (kill succeeds, the init lives on); it reaps the orphans it
// adopts, while h:wait of its own children still gets their status.
func TestCloneInitIsAnInit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: new PID and mount namespaces")
	}
	s := newTestSession(t)
	run(t, s, `
	local h = ns.clone("pid,mnt", function()
	  mount.make("/", "private", true); mount.mount("proc", "/proc", "proc")
	  local m = ns.spawn{"/bin/sh", "-c", "for s in TERM INT HUP QUIT; do kill -$s 1 || exit 9; done; exit 3"}
	  assert(m:wait() == 3, "a member's kill of its init succeeds")
	  local o = ns.spawn{"/bin/sh", "-c", "sleep 0.1 & echo $! > /tmp/.nsh-orphan-$$; exit 4"}
	  assert(o:wait() == 4, "h:wait gets its own child's status")
	  sys.sleep(1.5)
	  local zombies = {}
	  for pid, st in io.popen("cat /proc/[0-9]*/stat 2>/dev/null"):read("*a"):gmatch("(%d+) %([^)]*%) (%a)") do
	    if st == "Z" then zombies[#zombies+1] = pid end
	  end
	  os.execute("rm -f /tmp/.nsh-orphan-*")
	  assert(#zombies == 0, "the adopted orphan was reaped, zombies: " .. table.concat(zombies, " "))
	  return 7
	end)
	local code, how = h:wait()
	assert(code == 7 and how == "exit", "the init lived on: " .. tostring(code) .. " " .. tostring(how))
	`)
}

// TestHeldUserCloneHasCaps: the function of a held clone in a new user
// namespace runs with every capability there, whatever its maps (LWN
// "Namespaces in operation" part 5); an execve then keeps them only as uid 0.
func TestHeldUserCloneHasCaps(t *testing.T) {
	s := newTestSession(t)
	run(t, s, `
	local function try(map)
	  local h = ns.clone({ns = "user,uts", hold = true}, function()
	    local st = io.open("/proc/self/status"):read("*a")
	    sys.hostname("box")  -- EPERM without CAP_SYS_ADMIN in the namespace
	    local out = sys.run("grep CapEff /proc/self/status")
	    return st:match("CapEff:%s*(%x+)"), st:match("CapAmb:%s*(%x+)"), out:match("CapEff:%s*(%x+)")
	  end)
	  if map then h:uid_map(map) end
	  h:release()
	  assert(h:wait() == 0, "the function failed: " .. tostring(select(2, h:result())))
	  return h:result()
	end
	local full, amb, exec0 = try("0 " .. sys.getuid() .. " 1")
	assert(full:match("^0*1?f+$") and full ~= "0000000000000000", "fn's CapEff: " .. full)
	assert(amb == "0000000000000000", "no ambient capabilities left: " .. amb)
	assert(exec0 == full, "execve as uid 0 keeps them: " .. exec0)
	local full2, _, exec1 = try(nil)
	assert(full2 == full, "unmapped, fn still has every capability: " .. full2)
	assert(exec1 == "0000000000000000", "execve as an unmapped uid drops them: " .. exec1)
	`)
}

// TestNsLastPid: after a write of N to /proc/sys/kernel/ns_last_pid, the
// next process a cloned nsh starts is PID N+1, the first one too (Go's own
// test fork before a process's first start is done before the script runs).
func TestNsLastPid(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: new PID and mount namespaces, and ns_last_pid needs CAP_SYS_ADMIN over the PID namespace")
	}
	s := newTestSession(t)
	run(t, s, `
	local h = ns.clone("pid,mnt", function()
	  mount.make("/", "private", true); mount.mount("proc", "/proc", "proc")
	  local got = {}
	  for _, n in ipairs({99, 199, 299}) do
	    local f = assert(io.open("/proc/sys/kernel/ns_last_pid", "w")); f:write(tostring(n)); f:close()
	    local c = ns.spawn{"/bin/true"}; c:wait()
	    got[#got+1] = c.pid
	  end
	  return table.concat(got, " ")
	end)
	h:wait()
	assert(h:result() == "100 200 300", "pids after ns_last_pid 99, 199, 299: " .. tostring(h:result()))
	`)
}

// TestCloneInitThreads: view.tree shows the PIDs nsh's own threads take in
// a new PID namespace, marked as nsh's; a cloned nsh runs with one P
// (GOMAXPROCS=1, so its runtime starts one thread fewer), which neither its
// function nor the programs it runs see. (How many threads Go starts varies
// with load, so the first child's PID is measured in docs/pidns.md, not here.)
func TestCloneInitThreads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a new PID namespace")
	}
	s := newTestSession(t)
	run(t, s, `
	local h = ns.clone("pid", function()
	  sys.sleep(0.5)
	  return os.getenv("GOMAXPROCS") or "unset", (sys.run("env"):find("GOMAXPROCS") and "seen" or "unseen")
	end)
	sys.sleep(0.25)
	local tree = view.tree(h.pid)
	local row = tree.rows[1]
	local environ = io.open("/proc/" .. h.pid .. "/environ"):read("*a")
	h:wait()
	assert(row.nsh == true and type(row.threads) == "table" and row.threads[1] == 2, "the init's threads are shown as nsh's: " .. tostring(row.threads))
	assert(tostring(tree):find("nsh's Go runtime]", 1, true), tostring(tree))
	assert(environ:find("GOMAXPROCS=1", 1, true), "the child nsh's runtime starts with one P")
	local env, prog = h:result()
	assert(env == "unset" and prog == "unseen", "GOMAXPROCS is nsh's, not the lesson's: " .. env .. " " .. prog)
	`)
}

// TestExecKeepsChildMounts: a mount a cloned child makes in the mount
// namespace its clone created is not undone by sys.exec (the kernel keeps
// it): the program sees the new proc (LWN part 3's nested procfs).
func TestExecKeepsChildMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: new PID and mount namespaces")
	}
	out := filepath.Join(t.TempDir(), "out")
	s := newTestSession(t)
	run(t, s, `
	local h = ns.clone({ns = "pid,mnt", stdout = "`+out+`"}, function()
	  mount.make("/", "private", true); mount.mount("proc", "/proc", "proc")
	  sys.exec("/bin/sh", "-c", "readlink /proc/self; grep -c ' /proc .* - proc ' /proc/self/mountinfo")
	end)
	assert(h:wait() == 0)
	local got = io.open("`+out+`"):read("*a")
	local self, count = got:match("^(%d+)\n(%d+)\n$")
	-- readlink is sh's child: a PID of the new namespace, not the host's; the new proc is stacked on the old one
	assert(self and tonumber(self) < 20 and count == "2", "after exec: /proc/self and the count of proc mounts at /proc: " .. got)
	`)
}
