package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"nsh/runtime/statedir"
)

// TestKeepClone: h:keep() on an ns.clone handle leaves the child running
// after nsh ends (the child, an nsh, cleared its own parent-death signal
// when asked), and what it recorded (a pin of its UTS namespace) is kept
// with it: neither nsh's end nor a later nsh --cleanup removes it. The
// test then ends the child and removes the pin itself. h:keep() on a
// program ns.spawn executed is still refused, naming keep=true.
func TestKeepClone(t *testing.T) {
	needRoot(t)
	name := fmt.Sprintf("nsh-keep-%d", os.Getpid())
	pin := "/run/nsh/uts/" + name
	state := []string{"NSH_STATE_DIR=" + t.TempDir()}
	t.Cleanup(func() {
		syscall.Unmount(pin, syscall.MNT_DETACH)
		os.Remove(pin)
		os.Remove("/run/nsh/uts")
	})
	outFile, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nshBin, "-e", fmt.Sprintf(`
		local h = ns.clone({ns = "uts", stdout = "null", stderr = "null"}, function()
			sys.hostname("kept")
			ns.pin(ns.getpid(), "uts", %q)
			sys.sleep(120)
		end)
		for i = 1, 300 do if io.open(%q) then break end sys.sleep(0.02) end
		h:keep()
		-- kept at once, before the child's set-up is over
		local now = ns.clone({ns = "uts", stdout = "null", stderr = "null"}, function() sys.sleep(120) end)
		now:keep()
		print("NOW", now.pid)
		local ok, err = pcall(function() ns.spawn{"sleep", "30"}:keep() end)
		print("SPAWN", ok, err)
		print("PID", h.pid)`, name, pin))
	cmd.Env = append(os.Environ(), state...)
	cmd.Stdout, cmd.Stderr = outFile, outFile
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(outFile.Name())
		t.Fatalf("%v\n%s", err, b)
	}
	b, _ := os.ReadFile(outFile.Name())
	out := string(b)
	var pid, now int
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "PID\t"); ok {
			pid, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(l, "NOW\t"); ok {
			now, _ = strconv.Atoi(v)
		}
	}
	if nowStart, err := statedir.StartTime(now); err != nil {
		t.Errorf("the child kept at once (%d) did not outlive nsh: %v", now, err)
	} else {
		defer func() {
			if st, err := statedir.StartTime(now); err == nil && st == nowStart {
				syscall.Kill(now, syscall.SIGKILL)
			}
		}()
	}
	if pid == 0 {
		t.Fatalf("no pid printed:\n%s", out)
	}
	start, err := statedir.StartTime(pid)
	if err != nil {
		t.Fatalf("the kept child %d did not outlive nsh: %v\n%s", pid, err, out)
	}
	t.Cleanup(func() {
		if st, err := statedir.StartTime(pid); err == nil && st == start {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if !strings.Contains(out, "SPAWN\tfalse") || !strings.Contains(out, "keep=true") {
		t.Errorf("h:keep() on an executed program was not refused with the keep=true advice:\n%s", out)
	}
	if _, err := os.Stat(pin); err != nil {
		t.Errorf("the kept child's pin went with nsh: %v", err)
	}
	// a later nsh sweeps the state directory: the kept child and its pin stay
	if _, errs, code := nshIn(t, state, "--cleanup"); code != 0 {
		t.Fatalf("nsh --cleanup: exit %d: %s", code, errs)
	}
	if st, err := statedir.StartTime(pid); err != nil || st != start {
		t.Errorf("nsh --cleanup ended the kept child")
	}
	if _, err := os.Stat(pin); err != nil {
		t.Errorf("nsh --cleanup removed the kept child's pin: %v", err)
	}
	// now the test ends it
	syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := statedir.StartTime(pid); err != nil || st != start {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("the kept child %d did not end after SIGKILL", pid)
}

// TestKeepCloneUser: the same as an ordinary user (nobody): the clone
// outlives nsh; the test kills it.
func TestKeepCloneUser(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs util-linux setpriv to run as nobody")
	}
	outFile, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", nshBin, "-e",
		`local h = ns.clone({ns = "uts", stdout = "null", stderr = "null"}, function() sys.sleep(120) end)
		h:keep() print("PID", h.pid)`)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = outFile, outFile
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(outFile.Name())
		t.Fatalf("%v\n%s", err, b)
	}
	b, _ := os.ReadFile(outFile.Name())
	f := strings.Fields(string(b))
	if len(f) != 2 || f[0] != "PID" {
		t.Fatalf("output: %q", b)
	}
	pid, _ := strconv.Atoi(f[1])
	start, err := statedir.StartTime(pid)
	if err != nil {
		t.Fatalf("the kept child %d did not outlive nsh (as nobody): %v", pid, err)
	}
	if st, err := statedir.StartTime(pid); err == nil && st == start {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
