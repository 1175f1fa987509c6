package main

import (
	"strings"
	"testing"
)

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
