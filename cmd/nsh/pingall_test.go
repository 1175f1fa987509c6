package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lab:pingall's options: a sample reports its seed, the same seed gives the
// same pairs, no progress line when stderr is not a terminal, wrong options
// are argument errors.
func TestLabPingallOptions(t *testing.T) {
	needRoot(t)
	out, errOut, code := nsh(t, "", "--no-userns", "-e", `
local lab = net.lab{name = "gtping", pin = false, helpers = false}
lab:bridge("br0", "10.53.57.11/24")
for i = 1, 6 do lab:link(lab:node("n" .. i), "br0", {addr = "10.53.57." .. (20 + i) .. "/24"}) end
lab:wait()
local r = lab:pingall{timeout = 2}
assert(r.sent == 30 and r.ok == 30 and #r.failed == 0 and r.seed == nil, tostring(r))
local a = lab:pingall{sample = 2}
assert(a.sent == 12 and a.ok == 12 and type(a.seed) == "number", tostring(a))
local b = lab:pingall{sample = 2, seed = a.seed, neigh = "kernel"}
assert(b.ok == 12 and b.seed == a.seed and tostring(b):find("seed=" .. a.seed, 1, true), tostring(b))
print(tostring(b))`)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q (no progress line off a terminal), stdout:\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "6 nodes, each pings 2 others chosen at random") || !strings.Contains(out, "12 of 12 pings answered") {
		t.Fatalf("sampled summary:\n%s", out)
	}
	cases := []struct{ src, want string }{
		{`lab:pingall{seed = 3}`, "option seed chooses a sample: give sample= too"},
		{`lab:pingall{neigh = "arp"}`, `"kernel"`},
		{`lab:pingall{sample = 0}`, "sample"},
		{`lab:pingall{timeot = 1}`, "timeout"},
	}
	for _, c := range cases {
		_, errOut, code := nsh(t, "", "--no-userns", "-e", `local lab = net.lab{name = "gtpingerr", pin = false, helpers = false}; `+c.src)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s\n  want error containing %q, got exit %d: %s", c.src, c.want, code, errOut)
		}
	}
}

// SIGTERM stops a long pingall at once (the binding waits on the session's
// context), and nsh cleans up the lab as it exits.
func TestLabPingallInterrupted(t *testing.T) {
	needRoot(t)
	cmd := exec.Command(nshBin, "--no-userns", "-e", `
local lab = net.lab{name = "gtpingstop", pin = false, helpers = false}
lab:bridge("br0", "10.53.57.11/24")
for i = 1, 40 do lab:link(lab:node("n" .. i), "br0", {addr = "10.53.57." .. (20 + i) .. "/24"}) end
lab:wait()
print("pinging"); io.stdout:flush()
for i = 1, 1000 do lab:pingall() end
print("not interrupted")`)
	stdout, _ := cmd.StdoutPipe()
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := stdout.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "pinging") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("nsh said %q, stderr %s", buf[:n], errb.String())
	}
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("nsh did not stop within 5 s of SIGTERM during lab:pingall")
	}
	if took := time.Since(t0); took > 2*time.Second || !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("stopped after %v, stderr: %s", took, errb.String())
	}
}
