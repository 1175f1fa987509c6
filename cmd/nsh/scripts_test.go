package main

import (
	"bufio"
	"context"
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
			runScript(t, leak, timeout, nil, script)
		})
		t.Run("user/"+name, func(t *testing.T) {
			if reason, ok := tags["root-only"]; ok {
				t.Skip("root only: " + reason)
			}
			runScript(t, leak, timeout, []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"}, script)
		})
	}
}

func runScript(t *testing.T, leak string, timeout time.Duration, prefix []string, script string) {
	if leak == "" {
		t.Skip("leakcheck (../shared/tools/leakcheck) not found: cannot check that the script leaves nothing behind")
	}
	argv := append([]string{leak, "--"}, prefix...)
	argv = append(argv, nshBin, script)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = repoRoot
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
