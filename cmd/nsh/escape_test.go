package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestContainerGetsNoInheritedDescriptor: descriptors nsh inherited from its
// parent (a host file, a host directory: the runc CVE-2024-21626 class) do
// not reach a container's program, unless the lesson asks for it with
// unsafe={"fds"}. nsh gets four (3 to 6); its child protocol reuses 3 and 4,
// so 5 and 6 are the ones that would travel.
func TestContainerGetsNoInheritedDescriptor(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a mount namespace without a user namespace")
	}
	var extra []*os.File
	for _, p := range []string{"/etc/passwd", t.TempDir(), "/etc/passwd", t.TempDir()} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		extra = append(extra, f)
	}
	code := `
local out = os.tmpname()
for _, unsafe in ipairs({false, true}) do
  os.remove(out)
  local spec = {"/bin/ls", "/proc/self/fd", ns = "mnt,pid", proc = true, stdout = out}
  if unsafe then spec.unsafe = {"fds"} end
  ns.spawn(spec):wait()
  io.write(unsafe and "unsafe:" or "default:", (io.open(out):read("*a"):gsub("\n", " ")), "\n")
end
os.remove(out)`
	cmd := exec.Command(nshBin, "-e", code)
	cmd.ExtraFiles = extra
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var def, unsafe string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "default:"); ok {
			def = " " + v
		} else if v, ok := strings.CutPrefix(l, "unsafe:"); ok {
			unsafe = " " + v
		}
	}
	t.Logf("fds of the container's ls: %q by default, %q with unsafe fds", def, unsafe)
	for _, fd := range []string{" 5 ", " 6 "} {
		if strings.Contains(def, fd) {
			t.Errorf("descriptor%sthat nsh inherited reached the container's program (fds%s)", fd, def)
		}
		if !strings.Contains(unsafe, fd) {
			t.Errorf("with unsafe fds, descriptor%sshould reach the program (fds%s)", fd, unsafe)
		}
	}
}
