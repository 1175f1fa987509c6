package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// asUID runs a shell command as another uid (setpriv), failing the test if
// it cannot.
func asUID(t *testing.T, uid int, script string) string {
	t.Helper()
	out, err := exec.Command("setpriv", fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", uid), "--clear-groups", "--",
		"sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("as uid %d: %s: %v: %s", uid, script, err, out)
	}
	return string(out)
}

// userDir is a temporary directory (mode 0700) that belongs to uid, inside
// one that anyone may enter; both are removed at the end of the test.
func userDir(t *testing.T, uid int) string {
	t.Helper()
	d, err := os.MkdirTemp("", "nsh-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	own := filepath.Join(d, "state")
	for _, err := range []error{os.Chmod(d, 0o755), os.Mkdir(own, 0o700), os.Chown(own, uid, uid)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return own
}

// The escalation of the trust issue: a lab planted by another user (in
// /tmp, where nsh used to look, in that user's own state directory, or
// named by NSH_LAB_DIR) is never run by root's `nsh --enter`.
func TestEnterRefusesPlantedLabs(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is needed to act as another user")
	}
	pwned := filepath.Join(os.TempDir(), fmt.Sprintf("nsh-pwned-%d", os.Getpid()))
	t.Cleanup(func() { os.Remove(pwned) })
	plant := func(dir string) string {
		return fmt.Sprintf(`mkdir -p %[1]s/ad_dc && echo "evil 1" > %[1]s/.nsh-lab && printf '#!/bin/sh\nid > %[2]s\n' > %[1]s/ad_dc/nsenter.sh && chmod +x %[1]s/ad_dc/nsenter.sh`, dir, pwned)
	}
	oldStyle := filepath.Join(os.TempDir(), fmt.Sprintf("nsh-lab-evil.%d", os.Getpid()))
	userState := userDir(t, 1000)
	t.Cleanup(func() { os.RemoveAll(oldStyle) })
	asUID(t, 1000, plant(oldStyle))
	asUID(t, 1000, "mkdir -m 700 "+userState+"/labs && "+plant(userState+"/labs/evil.1"))
	// the same plant with a marker that names a living process correctly
	st, err := os.ReadFile("/proc/1/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(st)[strings.LastIndexByte(string(st), ')')+1:])
	asUID(t, 1000, fmt.Sprintf("echo 'evil 1 %s' > %s/labs/evil.1/.nsh-lab", f[19], userState))

	for _, env := range [][]string{nil, {"NSH_LAB_DIR=" + oldStyle}, {"NSH_LAB_DIR=" + userState + "/labs/evil.1"}, {"NSH_STATE_DIR=" + userState}} {
		cmd := exec.Command(nshBin, "--enter", "ad_dc", "true")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if _, serr := os.Stat(pwned); serr == nil {
			t.Fatalf("with %v: the planted helper ran as root (%s exists): %s", env, pwned, out)
		}
		if err == nil {
			t.Errorf("with %v: nsh --enter succeeded on a planted lab: %s", env, out)
		}
		if len(env) > 0 && !strings.Contains(string(out), "1000") {
			t.Errorf("with %v: no word of the foreign owner: %s", env, out)
		}
	}
}

// An ordinary user's lab is entered by that same user from another
// terminal (the positive side: the helpers live in the user's own state
// directory, made 0700).
func TestEnterOwnLabAsOrdinaryUser(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is needed to act as another user")
	}
	state := userDir(t, 1000)
	bin := filepath.Join(filepath.Dir(state), "nsh") // a copy the user can run
	if out, err := exec.Command("cp", nshBin, bin).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	setpriv := []string{"setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "--"}
	cmd := exec.Command(setpriv[0], append(setpriv[1:], bin, "-e", `
local lab = net.lab{name = "uenter", pin = false}
lab:bridge("br0", "10.53.58.1/24")
local a = lab:node("n1", {env = {ROLE = "server"}})
lab:link(a, "br0", {ifname = "eth0", addr = "10.53.58.2/24"})
lab:wait()
print("ready " .. lab.dir); io.stdout:flush()
io.read("*l")`)...)
	cmd.Env = append(os.Environ(), "NSH_STATE_DIR="+state)
	line, end := startUntilLine(t, cmd)
	defer end()
	if !strings.HasPrefix(line, "ready "+state+"/labs/uenter.") {
		t.Fatalf("lab did not come up in the user's state directory: %q", line)
	}
	st, err := os.Stat(state)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("state directory %s: %v %v, want mode 0700", state, err, st.Mode())
	}
	enter := exec.Command(setpriv[0], append(setpriv[1:], bin, "--enter", "n1", "sh", "-c", "echo $ROLE; ip -br -4 addr show eth0")...)
	enter.Env = append(os.Environ(), "NSH_STATE_DIR="+state)
	out, err := enter.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "server") || !strings.Contains(string(out), "10.53.58.2/24") {
		t.Errorf("the user's nsh --enter n1: %v: %s", err, out)
	}
	// root does not look in another user's labs
	rootEnter := exec.Command(nshBin, "--enter", "n1", "true")
	if out, err := rootEnter.CombinedOutput(); err == nil {
		t.Errorf("root's nsh --enter found the user's lab: %s", out)
	}
	end()
}
