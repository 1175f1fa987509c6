package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exampleFixture defines the objects the method examples are written
// against (h:, cg:, lab:, node:, hub:), as their prefixes name them. Module
// examples need none of it but may use h.
const exampleFixture = `
h = ns.spawn{"/bin/sleep", "60"}
cg = cgroup.create("example")
lab = net.lab{name = "ex"}
lab:bridge("ex0", "10.53.57.1/24")
for name, ip in pairs{h1 = "10.53.57.11", h2 = "10.53.57.12", dns_hub = "10.53.57.64"} do
  lab:link(lab:node(name), "ex0", {addr = ip .. "/24"})
end
lab:wait()
node = lab.h1
hub = net.dns_hub{addr = "10.53.57.64", ns = lab.dns_hub, records = {["dc1.samba.example.com"] = "10.53.57.21"}}
`

// Every example of docs/api.md (the same records help() prints, so every
// help() example too) runs as written and raises no error. Each runs in a
// fresh nsh, as root, inside throwaway namespaces made by unshare(1): new
// mount (private propagation, its own /proc), PID, network, UTS, IPC and
// cgroup namespaces, so what an example changes (a hostname, a mount over
// /etc/resolv.conf, links, pins) never reaches the machine, and the
// objects it creates outside namespaces (cgroups) are removed by nsh's own
// cleanup at exit. Examples run as root because most of nsh's subject
// (pivot_root, devtmpfs, cgroups, veth into the host) is root's; as an
// ordinary user nsh re-executes in a user namespace, which FuzzBindings
// covers.
func TestEveryAPIExampleRuns(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1) (util-linux) for the throwaway namespaces")
	}
	md, err := os.ReadFile(filepath.Join(repoRoot, "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?ms)^### `([^`]*)`\n.*?^```lua\n(.*?)^```\n")
	matches := block.FindAllStringSubmatch(string(md), -1)
	if len(matches) < 100 {
		t.Fatalf("only %d examples found in docs/api.md", len(matches))
	}
	for _, m := range matches {
		title, code := m[1], m[2]
		t.Run(title, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			src := exampleFixture + "\ndo\n" + code + "\nend\n"
			cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc",
				"--net", "--uts", "--ipc", "--cgroup", "--", nshBin, "--no-userns", "-e", src)
			cmd.Dir = t.TempDir()
			// the example's TMPDIR (a plain name: examples put its paths in
			// shell commands and overlay options): empty again at its end
			tmp, err := os.MkdirTemp("", "nsh-example-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(tmp)
			cmd.Env = append(os.Environ(), "HOME="+cmd.Dir, "XDG_STATE_HOME="+cmd.Dir, "TMPDIR="+tmp)
			defer removeNamedTmp(code, tmpEntries())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("example of %s fails (%v):\n%s\noutput:\n%s", title, err, code, out)
			}
			if strings.Contains(string(out), "nsh internal error") {
				t.Errorf("example of %s: %s", title, out)
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("example of %s left %d entries in TMPDIR (first: %s)", title, len(left), left[0].Name())
			}
			// nothing left behind: the fixture's cgroup is removed at exit
			dirs, _ := filepath.Glob("/sys/fs/cgroup/*/nsh/example")
			dirs2, _ := filepath.Glob("/sys/fs/cgroup/nsh/example")
			for _, d := range append(dirs, dirs2...) {
				t.Errorf("example of %s left %s behind:\n%s", title, d, out)
				os.Remove(d)
			}
		})
	}
}

// tmpEntries lists /tmp.
func tmpEntries() map[string]bool {
	m := map[string]bool{}
	ents, _ := os.ReadDir("/tmp")
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

// removeNamedTmp removes what an example wrote in /tmp under a name its
// code spells out ("/tmp/nstree.dot"): the help shows such paths to the
// reader, and the test suite leaves nothing behind. Entries that were
// there before, or that the code does not name, are not touched.
func removeNamedTmp(code string, before map[string]bool) {
	for name := range tmpEntries() {
		if !before[name] && strings.Contains(code, "/tmp/"+name) {
			os.RemoveAll(filepath.Join("/tmp", name))
		}
	}
}
