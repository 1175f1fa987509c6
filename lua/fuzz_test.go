package lua

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// argPool is what the fuzzer may pass to a binding: every Lua type, edge
// numbers, namespace words, paths, maps and option tables.
var argPool = []string{
	"nil", "true", "false", "0", "1", "-1", "65536", "2^53", "1e309", "-1e309", "0/0", "0.5", "4294967296",
	`""`, `"pid"`, `"mnt,uts"`, `"user"`, `"bogus"`, `"pid,,net"`, `"net"`, `"time"`, `"cgroup"`,
	`"/proc/self/ns/net"`, `"/proc/1/ns/pid"`, `"/nonexistent/x"`, `"/"`, `"\0"`, `string.rep("x", 5000)`,
	`"0 0 1"`, `"0 65534 1"`, `"a b c"`, `"0 0 0"`, `"1 2"`, `"deny"`, `"allow"`, `"KILL"`, `"SIGTERM"`, `"NOPE"`, `"USR1"`, `"ignore"`, `"default"`, `"TERM,USR2"`,
	`{}`, `{1, 2}`, `{"a", "b"}`, `{"/bin/true"}`, `{ns = "bogus"}`, `{ns = 5}`, `{"/bin/true", ns = "pid"}`,
	`{"/bin/true", uid_map = "x"}`, `{"/bin/true", ns = "user", uid_map = "0 0 1", gid_map = "0 0 1"}`,
	`{"/bin/true", hostname = string.rep("h", 100), ns = "uts"}`, `{"/bin/true", env = {A = 1}}`,
	`{"/bin/true", stdout = "/nonexistent/x"}`, `{"/bin/true", join = 999999}`, `{"/bin/true", join = {bogus = "x"}}`,
	`{"/bin/true", cgroup = {}}`, `{"/bin/true", rootfs = 3}`, `{ns = "pid", hold = 1}`,
	`{"/bin/true", set_tid = 1}`, `{"/bin/true", ns = "pid", set_tid = {1, -5, 2^40}}`, `{"/bin/true", set_tid = {}}`,
	`{"/bin/true", set_tid = {[3] = 1}}`, `{"/bin/true", set_tid = 0.5}`, `{"/nonexistent", set_tid = {7}, cwd = "/nonexistent"}`,
	`{"/bin/true", set_tid = {9}, join = 1, stdout = "null"}`, `{ns = "pid", set_tid = 1}`,
	`function() end`, `function() return 1 end`, `print`, `coroutine.create(function() end)`, `io.stdout`,
	`setmetatable({}, {__index = function() error("boom") end})`, `h`, `{h}`, `h.pid`,
	`"0755"`, `"fifo"`, `"char"`, `"rdonly,creat"`, `fd`, `(function() sys.close(fd) return fd end)()`,
	`n`, `"b"`, `"eth0"`, `lab`, `{rate = "10mbit"}`, `{rate = 1e15, burst = 1, qdisc = "htb"}`, `{delay = "1ms", loss = "1%"}`,
	`{count = 1, timeout = 0.01}`, `{filter = "arp or"}`, `{run = function() error("x") end}`, `{seconds = 0.01}`, `{bytes = 1}`,
	// labs, topologies, lab descriptions, link types
	`lab`, `node`, `"n1"`, `"fz0"`, `"tree,1,2"`, `"single"`, `"star,1"`, `"linear,0"`, `{n = 1}`, `{depth = 1, fanout = 1}`,
	`{depth = 99, fanout = 99}`, `{nodes = {{"a", links = {{"fz9"}}}}}`, `{nodes = {a = {}}}`, `{nodes = {{}}}`, `{nodes = {{1, 2, 3}}}`,
	`{bridges = {"b1"}, nodes = {{"a", router = true, links = {{"b1", addr = "10.9.0.1/24", type = "macvlan"}}, routes = {{"default", via = "10.9.0.254"}}}}}`,
	`{topo = "tree", n = 2}`, `{patches = {{"x", "x"}}}`, `{bridges = {{"b1", 5}}}`, `{vni = 42, remote = "10.9.0.2"}`, `{vni = 0}`,
	`{vni = 1, group = "10.0.0.1"}`, `{mode = "vepa"}`, `{ns = lab, netns = node}`, `{type = "ipvlan", mode = "l3"}`,
	`{tun = true, owner = 65534}`, `{max_hops = 0}`, `{names = {"a"}}`,
}

// bindings lists every module function and handle method by Lua name.
func bindings(t testing.TB) []string {
	s, err := NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var names []string
	for _, m := range s.Modules() {
		for _, f := range m.Funcs {
			names = append(names, m.Name+"."+f.Name)
		}
	}
	for _, f := range handleMethods {
		if f.Name == "wait" {
			continue // waits for a child that may never end
		}
		names = append(names, "h:"+f.Name)
	}
	for _, f := range labMethods() { // labBaseMethods and the capture methods
		names = append(names, "lab:"+f.Name)
	}
	for _, f := range nodeMethods() {
		if f.Name == "shell" {
			continue // waits for an interactive shell
		}
		names = append(names, "node:"+f.Name)
	}
	for _, f := range captureHandleMethods {
		names = append(names, "c:"+f.Name)
	}
	sort.Strings(names)
	return names
}

// blocked are calls that would stop the sandbox from going on (not bugs).
var blocked = map[string]bool{"sys.exec": true, "sys.sleep": true, "os.exit": true, "node:shell": true}

// program turns fuzz bytes into Lua: each pair of bytes picks a binding and
// an argument list from the pool; every call is protected by pcall so one
// error does not end the program.
func program(names []string, data []byte) string {
	var b strings.Builder
	b.WriteString("local h = ns.spawn{\"/bin/sleep\", \"30\", ns = \"pid\"}\n")
	b.WriteString("local fd = sys.open(\"/proc/self/ns/uts\")\n")
	b.WriteString("local lab = net.lab{name = \"fz\", pin = false, helpers = false}\nlab:bridge(\"fz0\")\n")
	b.WriteString("local node = lab:node(\"n1\")\nlab:link(node, \"fz0\", {addr = \"10.53.64.1/24\"})\nlab:link(lab:node(\"b\"), \"fz0\", {addr = \"10.53.64.2/24\"})\nlocal n = node\nlocal c = lab.b:capture_start(\"eth0\")\n")
	for i := 0; i+1 < len(data) && i < 64; i += 2 {
		name := names[int(data[i])%len(names)]
		if blocked[name] {
			continue
		}
		nargs := int(data[i+1]) % 4
		var args []string
		for j := 0; j < nargs; j++ {
			k := (int(data[i+1])*31 + j*7 + i) % len(argPool)
			args = append(args, argPool[k])
		}
		if name == "sys.kill" && len(args) > 0 && args[0] == "0" {
			continue // signals nsh's own process group: a SIGTERM ends the sandbox (as asked), not a bug
		}
		if obj, method, ok := strings.Cut(name, ":"); ok {
			fmt.Fprintf(&b, "pcall(function() return %s:%s(%s) end)\n", obj, method, strings.Join(args, ", "))
		} else {
			fmt.Fprintf(&b, "pcall(function() return %s(%s) end)\n", name, strings.Join(args, ", "))
		}
	}
	b.WriteString("print(\"fuzz-done\")\n")
	return b.String()
}

// runSandboxed runs Lua in a fresh nsh inside new user (root mapped to
// nobody), PID, mount, network, UTS, IPC and cgroup namespaces: whatever
// the generated calls do, they cannot touch the host.
func runSandboxed(t testing.TB, src string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nshBin, "--no-userns", "-e", src)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET |
			syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWCGROUP,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		Credential:  &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		Pdeathsig:   syscall.SIGKILL,
	}
	// a state directory of its own: sandboxes running side by side are
	// all PID 1 and nobody, and would share journals and lab directories
	tmp, err := os.MkdirTemp("", "nshfuzz")
	if err == nil {
		defer os.RemoveAll(tmp)
		err = os.Chmod(tmp, 0o1777)
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ctx.Err() != nil {
		return out.String(), true, nil // a call that blocks is not a crash
	}
	return out.String(), false, err
}

// crashed recognises a Go panic in nsh's output.
func crashed(out string) bool {
	return strings.Contains(out, "nsh internal error") || strings.Contains(out, "panic: ") ||
		strings.Contains(out, "goroutine ") && strings.Contains(out, "[running]")
}

// FuzzBindings feeds generated Lua calls (every binding, arguments of every
// type and shape) to nsh and fails on any Go panic.
func FuzzBindings(f *testing.F) {
	if syscall.Geteuid() != 0 {
		f.Skip("the fuzz sandbox needs root to map the sandbox's root to nobody")
	}
	names := bindings(f)
	// seeds: each binding with each small argument count
	for i := range names {
		for n := 0; n < 4; n++ {
			f.Add([]byte{byte(i), byte(n), byte(i), byte(n*5 + 1)})
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src := program(names, data)
		out, timedOut, err := runSandboxed(t, src)
		if crashed(out) {
			t.Fatalf("nsh crashed with a Go panic on:\n%s\noutput:\n%s", src, out)
		}
		// every call is protected: the program must reach its end
		if !timedOut && !strings.Contains(out, "fuzz-done") {
			t.Fatalf("nsh stopped before the end (%v) on:\n%s\noutput:\n%s", err, src, out)
		}
	})
}

// TestSandbox checks the fuzz sandbox itself: nsh runs there as PID 1 of
// its own PID namespace, root in a user namespace that is nobody outside.
func TestSandbox(t *testing.T) {
	if syscall.Geteuid() != 0 {
		t.Skip("the fuzz sandbox needs root")
	}
	out, timedOut, err := runSandboxed(t, `print(ns.getpid(), sys.getuid(), view.uidmap().uid)`)
	if err != nil || timedOut {
		t.Fatalf("sandbox run failed: %v (timed out: %v)\n%s", err, timedOut, out)
	}
	if strings.TrimSpace(out) != "1\t0\t65534" {
		t.Fatalf("sandbox: got %q, want PID 1, uid 0 inside, 65534 outside", out)
	}
}
