package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The net bindings: each case runs the binary and checks its output. Every
// namespace the snippets touch is made by the snippet (ns.unshare("net")
// first, or a lab): nothing happens in the machine's namespace.
func TestNetBindings(t *testing.T) {
	needRoot(t)
	src := `
ns.unshare("net")
net.up("lo")
net.bridge("br0", {addr = "10.53.57.11/24"})
net.veth("v0", "v1", {up = true})
net.master("v0", "br0")
net.mtu("v1", 1400)
net.addr("v1", "fd00::1/64", {nodad = true})
local l = net.link("v0")
assert(l.master == "br0" and l.type == "veth" and l.peer == "v1", "master/peer")
assert(net.link("v1").mtu == 1400, "mtu")
local got6 = false
for _, a in ipairs(net.link("v1").addrs) do if a == "fd00::1/64" then got6 = true end end
assert(got6, "ipv6 addr")
net.deladdr("v1", "fd00::1/64")
net.nomaster("v0")
assert(net.link("v0").master == nil, "nomaster")
net.route_add("10.99.0.0/16", {via = "10.53.57.1"})
local found = false
for _, r in ipairs(net.routes()) do if r.dst == "10.99.0.0/16" and r.via == "10.53.57.1" then found = true end end
assert(found, "route listed")
net.route_del("10.99.0.0/16", {via = "10.53.57.1"})
local rt = net.ping("127.0.0.1", {count = 2})
assert(#rt == 2, "ping lo")
-- a namespace named by a process handle, without moving the shell
local h = ns.spawn{"sleep", "30", ns = "net"}
net.setns("v1", h)
assert(net.link("v1", h).type == "veth", "moved by handle")
assert(not pcall(net.link, "v1"), "gone here")
net.delete("v0")
assert(#net.links(h) == 1, "peer deleted with v0")
print("bindings ok")
`
	out, errOut, code := nsh(t, "", "--no-userns", "-e", src)
	if code != 0 || !strings.Contains(out, "bindings ok") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// Wrong input is an argument error naming the argument and the choices;
// kernel failures name the call, the errno and the rule. Never a panic.
func TestNetErrors(t *testing.T) {
	needRoot(t)
	cases := []struct{ src, want string }{
		{`net.up(42)`, "bad argument #1 to 'net.up' (link name (a string like \"veth0\") must be a non-empty string, got number)"},
		{`net.up("a-name-far-too-long-for-linux")`, "at most 15 bytes"},
		{`net.addr("lo", "10.1.2.3")`, "want CIDR form"},
		{`net.links({})`, "is not a namespace"},
		{`net.ping("nohost")`, "IPv4 or IPv6 literal"},
		{`net.bridge("b0", {colour = "red"})`, `unknown option colour (valid: addr, up, forward_delay, ns)`},
		{`net.bridge("b0", {adr = "10.1.2.3/24"})`, `unknown option adr: did you mean "addr"?`},
		{`net.lab{pin = "maybe"}`, `option pin must be true, false or "auto"`},
		{`local l = net.lab{name = "gterr", pin = false}; l:node("h1"); l:link("h2", "br0")`, `lab gterr has no node "h2" (nodes: h1)`},
		{`ns.unshare("net"); net.bridge("br0"); net.bridge("br0")`, "EEXIST"},
		{`ns.unshare("net"); net.up("lo"); net.route_add("default", {via = "10.53.57.63"})`, "ENETUNREACH"},
		{`ns.unshare("net"); net.up("nosuch")`, "ENODEV"},
		{`net.link("lo", "/run/netns/nsh-no-such-ns")`, "ENOENT"},
		{`net.dns_hub{addr = "10.53.57.64", records = {a = "not-an-ip"}}`, `"not-an-ip" is not an IP address`},
	}
	for _, c := range cases {
		_, errOut, code := nsh(t, "", "--no-userns", "-e", c.src)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s\n  want error containing %q, got exit %d: %s", c.src, c.want, code, errOut)
		}
		if strings.Contains(errOut, "internal error") || strings.Contains(errOut, "goroutine ") {
			t.Errorf("%s: Go panic: %s", c.src, errOut)
		}
	}
}

// EXFULL: a bridge takes at most 1023 ports (port numbers are 10 bits, 0
// reserved). Building 1024 ports is the only way to see it.
func TestNetBridgeFull(t *testing.T) {
	needRoot(t)
	if testing.Short() {
		t.Skip("1024 veth pairs: skipped with -short")
	}
	src := `
ns.unshare("net")
net.bridge("br0", {up = false})
for i = 1, 1023 do net.veth("p" .. i, "q" .. i); net.master("p" .. i, "br0") end
net.veth("p1024", "q1024")
local ok, err = pcall(net.master, "p1024", "br0")
assert(not ok)
print(err)`
	out, errOut, code := nsh(t, "", "--no-userns", "-e", src)
	if code != 0 || !strings.Contains(out, "EXFULL") || !strings.Contains(out, "maximum of ports") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// A pinned lab node works with ip netns exec and nsenter --net, and
// nsh --enter reaches it with its variables, while the lab lives.
func TestLabPinnedEnter(t *testing.T) {
	needRoot(t)
	cmd := exec.Command(nshBin, "--no-userns", "-e", `
local lab = net.lab{name = "gtpin"}
lab:bridge("br0", "10.53.57.11/24")
local a = lab:node("ad_dc", {env = {REALM = "GT.EXAMPLE"}})
lab:link(a, "br0", {ifname = "veth21", brname = "veth21-br", addr = "10.53.57.21/24"})
lab:wait()
print("ready " .. tostring(lab.pinned)); io.stdout:flush()
io.read("*l")`)
	line, end := startUntilLine(t, cmd)
	defer end()
	if strings.TrimSpace(line) != "ready true" {
		t.Fatalf("lab did not come up pinned: %q", line)
	}
	out, err := exec.Command("ip", "netns", "exec", "gtpin-ad_dc", "ip", "-br", "-4", "addr", "show", "veth21").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "10.53.57.21/24") {
		t.Errorf("ip netns exec gtpin-ad_dc: %v: %s", err, out)
	}
	out, err = exec.Command("nsenter", "--net=/run/netns/gtpin", "ip", "-br", "link", "show", "veth21-br").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "master br0") && !strings.Contains(string(out), "veth21-br") {
		t.Errorf("nsenter --net=/run/netns/gtpin: %v: %s", err, out)
	}
	out, err = exec.Command(nshBin, "--enter", "gtpin/ad_dc", "sh", "-c", "echo $SERVER $REALM $SERVER_IP; ip -br -4 addr show veth21").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ad_dc GT.EXAMPLE 10.53.57.21") || !strings.Contains(string(out), "10.53.57.21/24") {
		t.Errorf("nsh --enter gtpin/ad_dc: %v: %s", err, out)
	}
	end()
	if _, err := os.Stat("/run/netns/gtpin-ad_dc"); err == nil {
		t.Error("/run/netns/gtpin-ad_dc still exists after the lab ended")
	}
	out, _ = exec.Command(nshBin, "--enter", "gtpin/ad_dc", "true").CombinedOutput()
	if !strings.Contains(string(out), "none of your running labs") {
		t.Errorf("nsh --enter after the lab ended: %s", out)
	}
}

// startUntilLine starts a long-lived nsh (one that ends when its standard
// input closes) and returns the first line it prints, and end: close its
// input and wait for it to end, failing the test after 20 s. end may be
// called more than once.
func startUntilLine(t *testing.T, cmd *exec.Cmd) (string, func()) {
	t.Helper()
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ended := false
	end := func() {
		if ended {
			return
		}
		ended = true
		stdin.Close()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatal("nsh did not end")
		}
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	return line, end
}
