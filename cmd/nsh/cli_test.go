package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nsh runs the binary with args and returns stdout, stderr and exit code.
func nsh(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runNsh(t, stdin, nil, args...)
}

// runNsh runs nsh with stdin and env added; it returns stdout, stderr and
// the exit code.
func runNsh(t *testing.T, stdin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(nshBin, args...)
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (namespaces other than user need CAP_SYS_ADMIN)")
	}
}

// The acceptance examples, exactly as written.
func TestAcceptanceExamples(t *testing.T) {
	needRoot(t)
	src := `
local h = ns.spawn{"/bin/true", ns = "pid,mnt,uts,ipc,net"}
assert(h:wait() == 0)                       -- wait() returns the exit code

local h2 = ns.clone("pid,uts", function(name)
  sys.hostname(name)
  return ns.getpid()                        -- a number returned becomes the exit code
end, "box")
assert(h2:wait() == 1)                      -- first process of a new PID namespace

local h3 = ns.spawn{"/bin/sleep", "5", ns = "user,uts",
                    uid_map = "0 65534 1", gid_map = "0 65534 1"}
local m = view.uidmap(h3.pid)               -- m.uid_map[1] = {inside=0, outside=65534, count=1}
local l = ns.list(h3.pid)                   -- l.user, l.uts, ... are inode numbers
assert(m.uid_map[1].inside == 0 and m.uid_map[1].outside == 65534 and m.uid_map[1].count == 1)
assert(type(l.user) == "number" and type(l.uts) == "number" and l.user ~= ns.id("user"))
h3:kill(9); h3:wait()

local pid = ns.getpid()
local u = view.upid(pid)                    -- u.level: 0 in the initial PID namespace
assert(u.level == 0 and u.numbers[1].nr == pid and u.numbers[u.level+1].ns == ns.id("pid"))

local host = sys.hostname()
ns.unshare("uts"); sys.hostname("inside")   -- the shell itself moves; the host keeps its name
assert(sys.hostname() == "inside")
assert(io.open("/proc/1/root/etc/hostname") or true)
local ok, err = pcall(ns.unshare, "bogus")  -- err names "bogus" and lists the valid types
assert(not ok and err:find("bogus") and err:find("mnt, uts, ipc, pid, net, user, cgroup, time"))
print("accepted", host)
`
	out, errOut, code := nsh(t, "", "-e", src)
	if code != 0 || !strings.HasPrefix(out, "accepted") {
		t.Fatalf("acceptance examples failed (exit %d):\n%s%s", code, out, errOut)
	}
	host, _ := os.Hostname()
	if host == "inside" || !strings.Contains(out, host) {
		t.Fatalf("the host's name changed: now %q", host)
	}
}

func TestScriptErrorExitsWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.lua")
	os.WriteFile(f, []byte("print('one')\nlocal x = nil\nx.y = 1\n"), 0o644)
	out, errOut, code := nsh(t, "", "--no-userns", f)
	if code == 0 {
		t.Fatalf("a failing script exited 0")
	}
	if out != "one\n" || !strings.Contains(errOut, f+":3:") {
		t.Fatalf("want stdout \"one\" and a %s:3: error, got %q / %q", f, out, errOut)
	}
}

func TestOsExitAndArgs(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "args.lua")
	os.WriteFile(f, []byte("#!/usr/bin/env nsh\nprint(arg[0] == ..., arg[1], select('#', ...))\nos.exit(tonumber(arg[2]))\n"), 0o644)
	out, _, code := nsh(t, "", "--no-userns", f, "a", "7")
	if code != 7 || out != "false\ta\t2\n" {
		t.Fatalf("got %q exit %d; want arg table, varargs and exit code 7", out, code)
	}
}

func TestDashEAndStdin(t *testing.T) {
	out, _, code := nsh(t, "", "--no-userns", "-e", "x = 41", "-e", "print(x + 1)")
	if code != 0 || out != "42\n" {
		t.Fatalf("-e twice: got %q exit %d", out, code)
	}
	out, _, code = nsh(t, "print('from stdin')", "--no-userns", "-")
	if code != 0 || out != "from stdin\n" {
		t.Fatalf("nsh -: got %q exit %d", out, code)
	}
}

func TestHelpVersionUnknownOption(t *testing.T) {
	out, _, code := nsh(t, "", "--help")
	if code != 0 || !strings.Contains(out, "usage:") || !strings.Contains(out, "-U") {
		t.Fatalf("--help: %q", out)
	}
	out, _, code = nsh(t, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "nsh ") {
		t.Fatalf("--version: %q", out)
	}
	_, errOut, code := nsh(t, "", "--bogus")
	if code != 2 || !strings.Contains(errOut, "--bogus") {
		t.Fatalf("unknown option: exit %d %q", code, errOut)
	}
}

func TestHelpTexts(t *testing.T) {
	out, _, code := nsh(t, "", "--no-userns", "-e", `help(); help(ns); help(ns.clone); help("view.upid"); help("h:wait")`)
	for _, want := range []string{"Modules:", "ns.clone(types|options, fn, ...)", "Example:", "struct pid", "h:wait([timeout])"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("help output lacks %q:\n%s", want, out)
		}
	}
	_, errOut, code := nsh(t, "", "--no-userns", "-e", `help("nothing.here")`)
	if code == 0 || !strings.Contains(errOut, "nothing called") {
		t.Fatalf("help of an unknown name: %q", errOut)
	}
}

// Every module function has a doc text and an example.
func TestEveryFunctionDocumented(t *testing.T) {
	out, _, code := nsh(t, "", "--api-doc")
	if code != 0 {
		t.Fatal("--api-doc failed")
	}
	sections := strings.Split(out, "\n### ")
	for _, sec := range sections[1:] {
		title := strings.SplitN(sec, "\n", 2)[0]
		body := strings.SplitN(sec, "\n", 2)[1]
		if len(strings.TrimSpace(body)) < 20 {
			t.Errorf("%s has no real doc text", title)
		}
		if !strings.Contains(body, "```lua") {
			t.Errorf("%s has no example", title)
		}
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "api.md"))
	if err != nil || string(doc) != out {
		t.Errorf("docs/api.md is not what nsh --api-doc prints: run make docs")
	}
}

func TestArgumentErrorsNameTheArgument(t *testing.T) {
	cases := map[string]string{
		`ns.unshare("bogus")`:                         `bad argument #1 to 'ns.unshare' (unknown namespace type "bogus" (valid types: mnt, uts, ipc, pid, net, user, cgroup, time))`,
		`ns.spawn{"/bin/true", uid_map = "1 2"}`:      `want three numbers`,
		`ns.spawn{"/bin/true", ns = "pid", nope = 1}`: `unknown option nope (valid: ns, uid_map,`,
		`ns.clone("pid", 42)`:                         `bad argument #2 to 'ns.clone' (function expected, got number)`,
		`ns.id(-3, "net")`:                            `pid must be a positive whole number`,
		`sys.kill(1, "NOPE")`:                         `unknown signal "NOPE"`,
		`ns.spawn{}`:                                  `no program`,
	}
	for src, want := range cases {
		_, errOut, code := nsh(t, "", "--no-userns", "-e", src)
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("%s: want an error containing %q, got exit %d %q", src, want, code, errOut)
		}
		if strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "panic") {
			t.Errorf("%s: Go panic: %s", src, errOut)
		}
	}
}

func TestUserNamespaceInPlaceExplains(t *testing.T) {
	_, errOut, _ := nsh(t, "", "--no-userns", "-e", `ns.unshare("user")`)
	if !strings.Contains(errOut, "EINVAL") || !strings.Contains(errOut, "single-threaded") || !strings.Contains(errOut, "nsh -U") {
		t.Fatalf("unshare(user) in place: %q", errOut)
	}
}

// An ordinary user gets a shell in a user namespace where other namespaces work.
func TestOrdinaryUserGetsUserNamespace(t *testing.T) {
	needRoot(t)
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", nshBin, "-e", `
		ns.unshare("net,uts"); sys.hostname("mine")
		local h = ns.clone("pid", function() return ns.getpid() end)
		print(sys.getuid(), view.uidmap().uid, sys.hostname(), h:wait(), #ns.differ())`)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "0\t65534\tmine\t1\t2" {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}

// Things made by a script are undone when it fails half-way.
func TestCleanupOnError(t *testing.T) {
	needRoot(t)
	out, errOut, code := nsh(t, "", "-e", `
		local h = ns.spawn{"/bin/sleep", "100", ns = "pid"}
		print(h.pid)
		error("stop here")`)
	if code == 0 || !strings.Contains(errOut, "stop here") {
		t.Fatalf("want the error, got %q", errOut)
	}
	pid := strings.TrimSpace(out)
	if _, err := os.Stat("/proc/" + pid); err == nil {
		t.Fatalf("child %s survived the script's error", pid)
	}
}

// SIGTERM ends a script through its cleanup: children die, exit 143.
func TestSIGTERMCleansUp(t *testing.T) {
	needRoot(t)
	cmd := exec.Command(nshBin, "-e", `
		local h = ns.spawn{"/bin/sleep", "100", ns = "pid"}
		io.write(h.pid, "\n"); io.stdout:flush()
		sys.sleep(100)`)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid string
	buf := make([]byte, 32)
	n, _ := out.Read(buf)
	pid = strings.TrimSpace(string(buf[:n]))
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 143 {
		t.Fatalf("want exit 143 after SIGTERM, got %v", err)
	}
	if _, err := os.Stat("/proc/" + pid); err == nil {
		t.Fatalf("child %s survived SIGTERM of nsh", pid)
	}
}

// After ns.unshare("pid") the shell's first child is PID 1 there and the
// next ones join it. (Go's runtime forks a test child before its first
// process start; nsh makes it do so before the unshare, or that child would
// be the namespace's init and take the namespace with it.)
func TestUnsharePidThenSeveralChildren(t *testing.T) {
	needRoot(t)
	out, errOut, code := nsh(t, "", "-e", `
		ns.unshare("pid")
		local init = ns.spawn{"/bin/sleep", "30"}
		local a = ns.spawn{"/bin/sh", "-c", "exit $$"}
		local b = ns.clone({}, function() return ns.getpid() end)
		print(a:wait(), b:wait())
		init:kill(9); init:wait()`)
	f := strings.Fields(out)
	if code != 0 || len(f) < 2 || f[0] == "1" || f[0] == "0" || f[1] == "1" {
		t.Fatalf("want two children with PIDs > 1 in the new namespace, got %q %q (exit %d)", out, errOut, code)
	}
}
