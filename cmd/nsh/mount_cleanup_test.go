package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMountCleanup: a tmpfs mounted in the mount namespace nsh started in
// (which outlives it) is unmounted when the script ends, even when the
// script fails, and rootfs.tmpdir is removed; a tmpfs mounted by hand and
// unmounted by hand is not unmounted twice.
func TestMountCleanup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount in nsh's starting mount namespace")
	}
	for _, tail := range []string{"", "error('script fails')"} {
		out, _ := exec.Command(nshBin, "-e", `
local d = rootfs.tmpdir("cleanup")
mount.tmpfs(d, {size = "1m"})
sys.run({"mkdir", d .. "/x"})
mount.tmpfs(d .. "/x")
mount.umount(d .. "/x")
assert(mount.find(d) ~= nil)
print("DIR " .. d)
`+tail).CombinedOutput()
		var dir string
		for _, l := range strings.Split(string(out), "\n") {
			if d, ok := strings.CutPrefix(l, "DIR "); ok {
				dir = d
			}
		}
		if dir == "" {
			t.Fatalf("no directory reported:\n%s", out)
		}
		mi, _ := os.ReadFile("/proc/self/mountinfo")
		if strings.Contains(string(mi), dir) {
			t.Errorf("the tmpfs at %s is still mounted after nsh ended (%q)", dir, tail)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("rootfs.tmpdir %s still exists after nsh ended (%q)", dir, tail)
		}
		if strings.Contains(string(out), "EINVAL") {
			t.Errorf("cleanup unmounted something twice:\n%s", out)
		}
	}
}
