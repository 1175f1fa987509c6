package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nsh --lab FILE and --topo SPEC build the lab before the chunks, the
// script or the prompt, bound to the global lab, and tear it down at exit.
func TestLabAndTopoFlags(t *testing.T) {
	needRoot(t)
	name := fmt.Sprintf("lf%d", os.Getpid()%100000)
	f := filepath.Join(t.TempDir(), name+".lua")
	os.WriteFile(f, []byte(`return {
  bridges = {"lan1", "lan2"},
  nodes = {
    {"h1", links = {{"lan1", addr = "10.0.1.10/24"}}, routes = {{"default", via = "10.0.1.1"}}},
    {"r1", router = true, links = {{"lan1", addr = "10.0.1.1/24", ifname = "eth0", brname = "r1-eth0"},
                                   {"lan2", addr = "10.0.2.1/24", ifname = "eth1", brname = "r1-eth1"}}},
    {"h2", links = {{"lan2", addr = "10.0.2.10/24"}}, routes = {{"default", via = "10.0.2.1"}}},
  },
}
`), 0o644)
	// the lab is named after the file, pinned as root: ip(8) sees it while nsh runs
	check := `print(lab.name, #lab.h1:ping("h2"), lab.r1:run("cat /proc/sys/net/ipv4/ip_forward"))`
	if _, err := exec.LookPath("ip"); err == nil {
		check += `; io.write(sys.run{"ip", "-n", lab.name .. "-h1", "route", "get", "10.0.2.10"})`
	}
	out, errOut, code := nsh(t, "", "--lab", f, "-e", check)
	if code != 0 || !strings.HasPrefix(out, name+"\t1\t1\n") || !strings.Contains(errOut, "nsh: lab "+name+" (3 nodes, 2 bridges) is the global lab") {
		t.Fatalf("--lab: exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(check, "route get") && !strings.Contains(out, "10.0.2.10 via 10.0.1.1 dev eth0") {
		t.Fatalf("--lab: h1's route to h2: %s", out)
	}
	if m, _ := filepath.Glob("/run/netns/" + name + "*"); len(m) > 0 {
		t.Fatalf("pins left after nsh ended: %v", m)
	}
	// the prompt gets it too (commands read from stdin)
	out, _, code = nsh(t, "print(lab.h3.ip)\n", "--topo", "single,3")
	if code != 0 || strings.TrimSpace(out) != "10.0.0.3" {
		t.Fatalf("--topo at the prompt: exit %d %q", code, out)
	}
	// and a script
	s := filepath.Join(t.TempDir(), "s.lua")
	os.WriteFile(s, []byte(`assert(#lab:pingall().failed == 0); print(#lab:nodes())`), 0o644)
	out, _, code = nsh(t, "", "--topo", "tree,depth=2,fanout=2", s)
	if code != 0 || out != "4\n" {
		t.Fatalf("--topo with a script: exit %d %q", code, out)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--lab"}, 2, "--lab needs a file describing the lab"},
		{[]string{"--topo"}, 2, "--topo needs a topology (tree,2,3)"},
		{[]string{"--lab", f, "--topo", "single"}, 2, "one lab at a time"},
		{[]string{"--topo", "ring", "-e", "print(1)"}, 1, `--topo:1: bad argument #1 to 'net.topo' (unknown topology "ring"`},
		{[]string{"--lab", "/nonexistent/x.lua", "-e", "print(1)"}, 1, "net.lab_from: open /nonexistent/x.lua: no such file or directory"},
	} {
		out, errOut, code := nsh(t, "", c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
	out, _, _ = nsh(t, "", "--help")
	if !strings.Contains(out, "--lab FILE") || !strings.Contains(out, "--topo KIND[,SIZES]") {
		t.Fatalf("--help does not name --lab and --topo:\n%s", out)
	}
}
