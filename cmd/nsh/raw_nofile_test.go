package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A container started without a re-executed nsh restores the soft
// RLIMIT_NOFILE nsh was given (Go raised its own), as Go's start does; the
// probe that learns it runs before nsh moves into a new PID namespace (run
// after, it would be PID 1 and kill the namespace: ENOMEM at the next
// start), and a cloned nsh learns it from its parent instead of taking a
// PID for a probe of its own (not asserted: a cloned nsh's own Go
// threads take a varying number of PIDs). Both starts must agree.
func TestRawStartNofileAndPIDNS(t *testing.T) {
	needRoot(t)
	script := filepath.Join(t.TempDir(), "nofile.lua")
	os.WriteFile(script, []byte(`
local d = rootfs.tmpdir()
local r = rootfs.build(d.."/img", {binaries={"/bin/sh"}})
local h = ns.clone("pid,mnt", function()
  ns.spawn{'/bin/sh', '-c', 'echo "cloned nofile $(ulimit -n)"', ns = 'mnt', rootfs = r.dir}:wait()
end)
h:wait()
ns.unshare('pid')
ns.spawn{'/bin/sh', '-c', 'echo "pid $$ nofile $(ulimit -n)"', ns = 'mnt', rootfs = r.dir}:wait()
`), 0o644)
	run := func(env ...string) string {
		cmd := exec.Command("sh", "-c", `ulimit -Sn 1024 && exec "$0" --no-userns "$1"`, nshBin, script)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", env, err, out)
		}
		return string(out)
	}
	raw, reexec := run(), run("NSH_REEXEC_CHILD=1")
	for _, want := range []string{"pid 1 nofile 1024\n", "cloned nofile 1024\n"} {
		if !strings.Contains(raw, want) {
			t.Errorf("raw start: want %q in\n%s", want, raw)
		}
	}
	if raw != reexec {
		t.Errorf("raw start\n%s\ndiffers from the re-executed one\n%s", raw, reexec)
	}
}
