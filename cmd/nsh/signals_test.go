package main

import (
	"strings"
	"testing"
)

// A script's SIGTERM handler runs instead of nsh's cleanup-and-exit;
// "default" gives SIGTERM back to nsh (exit 143, the child cleaned up), and
// "ignore" keeps nsh running through a SIGTERM.
func TestScriptSignalHandlerAndDefault(t *testing.T) {
	out, errOut, code := nsh(t, "", "-e", `
		local h = ns.spawn{"/bin/sleep", "100"}
		local got
		sys.signal("TERM", function(name) got = name end)
		sys.kill(ns.getpid(), "TERM")
		sys.sleep(2)
		print("handler:", got)
		sys.signal("TERM", "ignore")
		sys.kill(ns.getpid(), "TERM")
		sys.sleep(0.3)
		print("ignored, still here")
		sys.signal("TERM", "default")
		io.write(h.pid, "\n"); io.stdout:flush()
		sys.kill(ns.getpid(), "TERM")
		sys.sleep(5)
		print("not reached")`)
	if code != 143 || !strings.Contains(out, "handler:\tSIGTERM\n") || !strings.Contains(out, "ignored, still here") || strings.Contains(out, "not reached") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
