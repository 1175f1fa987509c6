package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The parent's stop request reaches a cloned function even when it comes
// before the function has started (the script ends right after ns.clone):
// the child stops and cleans up at once instead of being killed after the
// three seconds of grace.
func TestCloneStopRequestEarly(t *testing.T) {
	needRoot(t)
	for i := 0; i < 5; i++ {
		start := time.Now()
		out, errOut, code := nsh(t, "", "-e", `ns.clone("uts", function() sys.sleep(100) end)`)
		took := time.Since(start)
		if code != 0 || took > 2500*time.Millisecond {
			t.Fatalf("run %d: exit %d after %v (the grace is 3 s)\nstdout:\n%s\nstderr:\n%s", i, code, took, out, errOut)
		}
	}
	// and once the function runs: the end of the chunk stops it, and the
	// child's own cleanup ends the program it started
	start := time.Now()
	out, errOut, code := nsh(t, "", "-e", `
		local h = ns.clone("uts", function()
			local g = ns.spawn{"/bin/sleep", "100"}
			print(g.pid); io.stdout:flush()
			sys.sleep(100)
		end)
		sys.sleep(1)`)
	took := time.Since(start)
	if code != 0 || took > 3500*time.Millisecond {
		t.Fatalf("exit %d after %v\nstdout:\n%s\nstderr:\n%s", code, took, out, errOut)
	}
	pid := strings.TrimSpace(out)
	if pid == "" {
		t.Fatalf("the child printed no pid\nstderr:\n%s", errOut)
	}
	if err := exec.Command("kill", "-0", pid).Run(); err == nil {
		t.Fatalf("the child's sleep %s survives it", pid)
	}
}

// A cloned function subscribes to no signal, so signals act on it as on a
// C program without handlers: a write to a closed pipe on its standard
// output ends it with SIGPIPE (python3 with SIG_DFL, the reference, ends
// the same way), and SIGTERM and signal 40 kill it. The nsh that started
// it goes on.
func TestCloneChildSignalsAsC(t *testing.T) {
	needRoot(t)
	ref, err := exec.Command("bash", "-c", `python3 -c '
import signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
while True:
    sys.stdout.write("x" * 4096)
    sys.stdout.flush()
' | head -c 1 >/dev/null; echo ${PIPESTATUS[0]}`).Output()
	if err != nil {
		t.Skipf("no python3 reference: %v", err)
	}
	if got := strings.TrimSpace(string(ref)); got != "141" {
		t.Fatalf("the python3 reference ended %q, not 141", got)
	}
	out, err := exec.Command("bash", "-c", `exec 3>&1; `+nshBin+` -e '
		local h = ns.clone("uts", function()
			while true do io.write(("x"):rep(4096)); io.stdout:flush() end
		end)
		local code, how, sig = h:wait(10)
		io.stderr:write(code, "\t", how, "\t", tostring(sig), "\n")
		local h2 = ns.clone("uts", function() sys.sleep(100) end)
		sys.sleep(0.5)
		h2:kill("TERM")
		code, how, sig = h2:wait(10)
		io.stderr:write(code, "\t", how, "\t", tostring(sig), "\n")
		local h3 = ns.clone("uts", function() sys.sleep(100) end)
		sys.sleep(0.5)
		h3:kill(40)
		code, how, sig = h3:wait(10)
		io.stderr:write(code, "\t", how, "\t", tostring(sig), "\n")
	' 2>&3 | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}`).CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("nsh: %v\n%s", err, text)
	}
	if !strings.Contains(text, "141\tsignal\tSIGPIPE\n") {
		t.Errorf("the child on a closed pipe did not end by SIGPIPE:\n%s", text)
	}
	if !strings.Contains(text, "143\tsignal\tSIGTERM\n") {
		t.Errorf("SIGTERM did not kill the cloned child:\n%s", text)
	}
	// a real-time signal's default ends a program too: python3 (which
	// leaves 40 at SIG_DFL) as the reference
	rt, _ := exec.Command("bash", "-c", `python3 -c 'import time; time.sleep(100)' & sleep 0.5; kill -40 $!; wait $!; echo $?`).Output()
	if got := strings.TrimSpace(string(rt)); got != "168" {
		t.Fatalf("the python3 reference ended %q after signal 40, not 168", got)
	}
	if !strings.Contains(text, "168\tsignal\tSIGRTMIN+8\n") {
		t.Errorf("signal 40 did not end the cloned child as its default says:\n%s", text)
	}
}

// A cloned function that executed a program closed its end of the control
// channel (close-on-exec). Asking it to keep (h:keep) or to stop (the end
// of the script) then fails on the parent's side with EPIPE and no
// SIGPIPE: the nsh the user started would take SIGPIPE as its reader
// going away, and end ("interrupted (broken pipe)", 141).
func TestCloneAfterExecNoSIGPIPE(t *testing.T) {
	needRoot(t)
	out, errOut, code := nsh(t, "", "-e", `
		local h = ns.clone("uts", function() sys.exec{"/bin/sleep", "100"} end)
		sys.sleep(0.5)
		local ok, err = pcall(h.keep, h)
		print(ok, err)
		print("still here")`)
	if code != 0 || !strings.Contains(out, "no longer runs nsh (it called sys.exec") || !strings.Contains(out, "still here") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
