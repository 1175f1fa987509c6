package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// scriptTags reads "-- nsh-test: TAG reason" lines from a script's header:
//
//	root-only REASON   do not run it as an ordinary user (say why)
//	timeout SECONDS    a longer limit than the default 120 s
func scriptTags(path string) map[string]string {
	tags := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return tags
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan() && n < 40; n++ {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "-- nsh-test:")
		if !ok {
			continue
		}
		tag, reason, _ := strings.Cut(strings.TrimSpace(rest), " ")
		tags[tag] = strings.TrimSpace(reason)
	}
	return tags
}

// TestScripts runs every bundled experiment as root and, where it can work,
// as an ordinary user (nobody, through nsh's automatic user namespace), each
// under leakcheck: a failed check, a non-zero exit or anything left behind
// fails the test.
func TestScripts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the bundled experiments are tested as root (and from root, as nobody); not root here")
	}
	leak := leakcheckPath()
	scripts, _ := filepath.Glob(filepath.Join(repoRoot, "scripts", "*.lua"))
	if len(scripts) == 0 {
		t.Fatal("no scripts found under scripts/")
	}
	// The scripts run a copy of nsh under another name: no script may
	// depend on the binary's name or path.
	bin := filepath.Join(filepath.Dir(nshBin), "labsh")
	if out, err := exec.Command("cp", "-p", nshBin, bin).CombinedOutput(); err != nil {
		t.Fatalf("copying nsh: %v: %s", err, out)
	}
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".lua")
		tags := scriptTags(script)
		timeout := 120 * time.Second
		if v, ok := tags["timeout"]; ok {
			if d, err := time.ParseDuration(v + "s"); err == nil {
				timeout = d
			}
		}
		t.Run("root/"+name, func(t *testing.T) {
			runScript(t, leak, timeout, nil, bin, script)
		})
		t.Run("user/"+name, func(t *testing.T) {
			if reason, ok := tags["root-only"]; ok {
				t.Skip("root only: " + reason)
			}
			runScript(t, leak, timeout, []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"}, bin, script)
		})
	}
}

func runScript(t *testing.T, leak string, timeout time.Duration, prefix []string, bin, script string) {
	if leak == "" {
		t.Skip("leakcheck (../shared/tools/leakcheck) not found: cannot check that the script leaves nothing behind")
	}
	dir := repoRoot
	if prefix != nil {
		// The ordinary user may not be able to read the checkout (CI may
		// clone it anywhere): give it a copy of the script it can read.
		dir = readableCopy(t, script)
		script = filepath.Join(dir, filepath.Base(script))
	}
	argv := append([]string{leak, "--"}, prefix...)
	argv = append(argv, bin, script)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME=/tmp")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s timed out after %v\n%s", filepath.Base(script), timeout, out)
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
		if leaks := ownLeaks(string(out)); len(leaks) == 0 {
			t.Logf("leakcheck saw only the machine's own per-command cgroups (process_api), not nsh's: ignored")
			err = nil
		}
	}
	if err != nil {
		t.Fatalf("%s failed (%v):\n%s", filepath.Base(script), err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}

// ownLeaks lists what leakcheck reported left behind, leaving out the
// cgroups this machine's own agent makes for every command it runs
// (.../process_api/<id>): they come and go on their own, not from nsh.
func ownLeaks(out string) []string {
	var leaks []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "leakcheck: processes still running"):
			leaks = append(leaks, line)
			in = false
		case strings.HasPrefix(line, "leakcheck: ") && strings.HasSuffix(line, "left behind:"):
			in = true
		case in && strings.HasPrefix(line, "  "):
			if !strings.Contains(line, "/process_api/") {
				leaks = append(leaks, strings.TrimSpace(line))
			}
		default:
			in = false
		}
	}
	return leaks
}

// TestInterruptedCleanup builds things with every kind of undo, stops nsh
// half-way with SIGINT (Ctrl-C) or SIGTERM, and checks it exits 128+signal
// leaving nothing behind: children, pinned namespaces, mounts in nsh's own
// mount namespace, a lab with bridges and pins, cgroups with processes, a
// container. (The experiments themselves are too quick to hit reliably.)
func TestInterruptedCleanup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: pins, mounts in the host's mount namespace, cgroups")
	}
	leak := leakcheckPath()
	cases := []struct {
		name, sig string
		code      int
		lua       string
	}{
		{"children", "INT", 130, `for i = 1, 3 do ns.spawn{"/bin/sleep", "100", ns = "pid,net"} end
			ns.clone("pid", function() sys.sleep(100) end)`},
		{"pin", "TERM", 143, `local h = ns.spawn{"/bin/sleep", "100", ns = "net"}
			ns.pin(h.pid, "net", "nsh-interrupt-test")`},
		{"mount", "INT", 130, `local d = rootfs.tmpdir("nsh-int")
			mount.tmpfs(d)`},
		{"lab", "TERM", 143, `local lab = net.lab{name = "nshint", pin = true}
			lab:bridge("br0", "10.53.57.11/24")
			for i = 21, 24 do lab:link(lab:node("n" .. i), "br0", {addr = "10.53.57." .. i .. "/24"}) end`},
		{"cgroup", "INT", 130, `local cg = cgroup.create("nsh-int-test", {pids_max = 50})
			ns.spawn{"/bin/sh", "-c", "while :; do :; done", cgroup = cg}`},
		{"container", "TERM", 143, `local img = rootfs.tmpdir("nsh-int-img")
			rootfs.build(img, {binaries = {"/bin/sleep"}})
			ns.spawn{"/bin/sleep", "100", ns = "user,pid,mnt,uts,ipc,net", uid_map = "0 0 1", gid_map = "0 0 1",
			         rootfs = img, proc = true, dev = "minimal"}`},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+c.sig, func(t *testing.T) {
			if leak == "" {
				t.Skip("leakcheck not found")
			}
			src := c.lua + "\nprint('ready'); io.stdout:flush(); sys.sleep(100)"
			f := filepath.Join(t.TempDir(), "x.lua")
			os.WriteFile(f, []byte(src), 0o644)
			sh := fmt.Sprintf(`%s %s > %s.out 2>&1 & p=$!
				for i in $(seq 200); do grep -q ready %s.out && break; sleep 0.05; done
				grep -q ready %s.out || { echo "never ready:"; cat %s.out; kill -9 $p; exit 1; }
				kill -%s $p; wait $p; rc=$?
				[ $rc = %d ] || { echo "exit $rc, want %d"; cat %s.out; exit 1; }`,
				nshBin, f, f, f, f, f, c.sig, c.code, c.code, f)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, leak, "--", "bash", "-c", sh)
			cmd.Dir = repoRoot
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 && len(ownLeaks(string(out))) == 0 {
				err = nil
			}
			if err != nil {
				t.Fatalf("%s stopped by SIG%s: %v\n%s", c.name, c.sig, err, out)
			}
		})
	}
}

// readableCopy copies a script into a new directory every user can read.
func readableCopy(t *testing.T, script string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nsh-script")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(script)), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
