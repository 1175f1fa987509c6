package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFaultInjection ends bundled experiments at a random moment: SIGINT,
// SIGTERM, SIGPIPE (sent; a real broken pipe is TestSignalsEndWithCleanup's),
// SIGKILL followed by `nsh --cleanup`, and a double SIGINT (the second
// during cleanup). Each run is under leakcheck, with a TMPDIR of its own,
// and fails on anything left behind: links, pins, mounts, cgroups,
// namespaces, processes, directories, journals.
//
// To stay within make test's time it runs a random subset, NSH_FAULT_RUNS
// pairs (default 10) of a script and a signal; the seed is printed, and
// NSH_FAULT_SEED=N repeats a run, NSH_FAULT_ONLY=SCRIPT:SIG runs one pair. The scripts are taken in a random order
// that a run continues from where the seed puts it, so every script is
// covered over a few runs; NSH_FAULT_RUNS=all runs every pair.
func TestFaultInjection(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the experiments are ended as root (pins, mounts, cgroups of the host)")
	}
	leak := leakcheckPath()
	if leak == "" {
		t.Skip("leakcheck (../shared/tools/leakcheck) not found: cannot check what is left behind")
	}
	scripts, _ := filepath.Glob(filepath.Join(repoRoot, "scripts", "*.lua"))
	if len(scripts) == 0 {
		t.Fatal("no scripts found under scripts/")
	}
	sort.Strings(scripts)
	signals := []string{"INT", "TERM", "PIPE", "KILL", "INT INT"}
	seed := time.Now().UnixNano()
	if v := os.Getenv("NSH_FAULT_SEED"); v != "" {
		seed, _ = strconv.ParseInt(v, 10, 64)
	}
	r := rand.New(rand.NewSource(seed))
	type pair struct {
		script, sig string
	}
	var pairs []pair
	if only := os.Getenv("NSH_FAULT_ONLY"); only != "" {
		// NSH_FAULT_ONLY=pivotroot:PIPE (with NSH_FAULT_SEED for the moment)
		name, sig, _ := strings.Cut(only, ":")
		pairs = append(pairs, pair{filepath.Join(repoRoot, "scripts", name+".lua"), sig})
	} else if os.Getenv("NSH_FAULT_RUNS") == "all" {
		for _, s := range scripts {
			for _, g := range signals {
				pairs = append(pairs, pair{s, g})
			}
		}
	} else {
		n := 10
		if v, err := strconv.Atoi(os.Getenv("NSH_FAULT_RUNS")); err == nil && v > 0 {
			n = v
		}
		start := r.Intn(len(scripts))
		for i := 0; i < n && i < len(scripts); i++ {
			pairs = append(pairs, pair{scripts[(start+i)%len(scripts)], signals[r.Intn(len(signals))]})
		}
	}
	t.Logf("seed %d (NSH_FAULT_SEED=%d repeats this run): %d runs", seed, seed, len(pairs))
	for _, p := range pairs {
		name := strings.TrimSuffix(filepath.Base(p.script), ".lua")
		delay := time.Duration(r.Int63n(int64(1500 * time.Millisecond)))
		t.Run(name+"/"+strings.ReplaceAll(p.sig, " ", "-"), func(t *testing.T) {
			t.Logf("SIG%s after %v", p.sig, delay.Round(time.Millisecond))
			faultRun(t, leak, p.script, p.sig, delay)
		})
	}
}

func faultRun(t *testing.T, leak, script, sig string, delay time.Duration) {
	tmp := t.TempDir()
	before := journals()
	kill := "kill -" + sig + " $p 2>/dev/null"
	if sig == "INT INT" {
		kill = "kill -INT $p 2>/dev/null; sleep 0.05; kill -INT $p 2>/dev/null"
	}
	after := ""
	if sig == "KILL" {
		after = nshBin + " --cleanup"
	}
	sh := fmt.Sprintf(`%s %s > %s/out 2>&1 & p=$!
		sleep %.3f
		%s
		wait $p
		%s
		exit 0`, nshBin, script, tmp, delay.Seconds(), kill, after)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, leak, "--", "bash", "-c", sh)
	cmd.Dir = repoRoot
	work := filepath.Join(tmp, "tmp")
	os.Mkdir(work, 0o755)
	cmd.Env = append(os.Environ(), "HOME=/tmp", "TMPDIR="+work)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("timed out\n%s", out)
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 && len(ownLeaks(string(out))) == 0 {
		err = nil
	}
	nshOut, _ := os.ReadFile(filepath.Join(tmp, "out"))
	if err != nil {
		t.Errorf("left behind (%v):\n%s\nnsh said:\n%s", err, out, nshOut)
	}
	if ents, _ := os.ReadDir(work); len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
			os.RemoveAll(filepath.Join(work, e.Name()))
		}
		t.Errorf("left in TMPDIR: %v\nnsh said:\n%s", names, nshOut)
	}
	for j := range journals() {
		if !before[j] {
			t.Errorf("a journal is left: %s", j)
		}
	}
}

// journals lists the journal files of root's nsh processes.
func journals() map[string]bool {
	m := map[string]bool{}
	ents, _ := os.ReadDir("/run/nsh/procs")
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}
