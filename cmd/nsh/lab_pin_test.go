package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// pin="auto" (the default) goes on without pins, in one line, for an
// ordinary user whose lab's name is already taken under /run/netns (by
// root's lab of that name, say): open(O_CREAT|O_EXCL) there answers EEXIST
// before the directory's permission is checked. Root still gets the
// error, since it could pin and the name is really taken.
func TestLabPinAutoNameTaken(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is needed to act as nobody")
	}
	name := fmt.Sprintf("gtpin%d", os.Getpid())
	if err := os.MkdirAll("/run/netns", 0o755); err != nil {
		t.Skip(err)
	}
	taken := "/run/netns/" + name
	if err := os.WriteFile(taken, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(taken)
	// outer=false: no hub pin; the first node's pin (NAME-a, free) is
	// refused with EACCES, and the lab goes on unpinned too
	for outer, why := range map[string]string{"true": "EEXIST: the name is taken there", "false": "EACCES"} {
		src := fmt.Sprintf(`local l = net.lab{name = %q, outer = %s}
l:node("a")
print(l.pinned, l.pin_message, l.a.path == "/proc/" .. l.a.pid .. "/ns/net")`, name, outer)
		out, err := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", nshBin, "-e", src).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "false\tnot pinned under /run/netns ("+why) ||
			!strings.HasSuffix(strings.TrimSpace(string(out)), "true") {
			t.Fatalf("as nobody (outer=%s): %v\n%s", outer, err, out)
		}
	}
	_, errOut, code := nsh(t, "", "-e", fmt.Sprintf(`net.lab{name = %q}`, name))
	if code == 0 || !strings.Contains(errOut, "EEXIST") {
		t.Fatalf("root with the name taken: exit %d, %s", code, errOut)
	}
}
