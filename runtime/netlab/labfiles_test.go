package netlab

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A lab's pins are names of one anonymous inode (O_TMPFILE + linkat), each
// name a mount point of its own that ip(8) sees as any pin; Close leaves no
// name and lets the inode go.
func TestPinsShareAnInode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pins under /run/netns need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip(8) not installed")
	}
	l, err := NewLab(LabOptions{Name: "nshpinino", Pin: true})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	for _, n := range []string{"a", "b"} {
		_, err := l.AddNode(NodeOptions{Name: n})
		must(t, err)
	}
	pinState.Lock()
	fd := pinState.tmpfd
	var st unix.Stat_t
	if fd >= 0 {
		must(t, unix.Fstat(fd, &st))
	}
	pinState.Unlock()
	if fd < 0 {
		t.Skip("/run/netns refuses O_TMPFILE here: each pin has a file of its own")
	}
	if st.Nlink < 3 { // the lab's outer namespace and two nodes (other labs of this process add theirs)
		t.Fatalf("the pins' inode has %d links, want at least 3", st.Nlink)
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	must(t, err)
	for _, n := range []string{"nshpinino", "nshpinino-a", "nshpinino-b"} {
		if !strings.Contains(string(out), n) {
			t.Errorf("ip netns list lacks %s:\n%s", n, out)
		}
	}
	if out, err := exec.Command("ip", "netns", "exec", "nshpinino-a", "ip", "-br", "link").CombinedOutput(); err != nil || !strings.Contains(string(out), "lo") {
		t.Errorf("ip netns exec into a pin: %v\n%s", err, out)
	}
	must(t, l.Close())
	for _, n := range []string{"nshpinino", "nshpinino-a", "nshpinino-b"} {
		if _, err := os.Lstat("/run/netns/" + n); err == nil {
			t.Errorf("/run/netns/%s left after Close", n)
		}
	}
}

// A root lab's own directory on a disk filesystem gets a tmpfs of its own
// (helpers written in RAM, removed with one umount); Close leaves neither
// the mount nor the directory.
func TestLabDirTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting the tmpfs needs root")
	}
	labs, err := LabsDir()
	must(t, err)
	var st unix.Statfs_t
	must(t, unix.Statfs(labs, &st))
	onTmpfs := st.Type == unix.TMPFS_MAGIC
	l, err := NewLab(LabOptions{Name: "nshtmpfs", Helpers: true})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	n, err := l.AddNode(NodeOptions{Name: "a"})
	must(t, err)
	must(t, unix.Statfs(l.Dir(), &st))
	if st.Type != unix.TMPFS_MAGIC {
		t.Fatalf("%s is not on a tmpfs (f_type %#x; the labs directory is on a tmpfs already: %v)", l.Dir(), st.Type, onTmpfs)
	}
	if onTmpfs {
		t.Log("the labs directory is a tmpfs already: no mount of the lab's own")
	} else if out, err := exec.Command("findmnt", "-n", "-o", "FSTYPE", l.Dir()).CombinedOutput(); err == nil && strings.TrimSpace(string(out)) != "tmpfs" {
		t.Errorf("findmnt %s: %q", l.Dir(), out)
	}
	if _, err := os.Stat(n.HelperPath()); err != nil {
		t.Fatal(err)
	}
	dir := l.Dir()
	must(t, l.Close())
	if _, err := os.Lstat(dir); err == nil {
		t.Errorf("%s left after Close", dir)
	}
	if out, _ := exec.Command("findmnt", dir).CombinedOutput(); len(out) > 0 {
		t.Errorf("still mounted after Close: %s", out)
	}
}
