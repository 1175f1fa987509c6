package netlab

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"nsh/runtime/nsproc"
)

func readlinkNS(t *testing.T, pid int, typ string) string {
	t.Helper()
	out, err := exec.Command("readlink", nsproc.NSPath(pid, typ)).Output()
	must(t, err)
	return strings.TrimSpace(string(out))
}

// A lab in a user namespace of its own (the Samba trick, for root): lsns(8)
// shows every namespace of the lab owned by it; the nodes' processes are
// root there (uid_map "0 65534 1": nobody outside), may change their own
// network namespace's sysctls, and may not write the machine's (the write
// would keep the value it reads, had it been allowed).
func TestLabUserNS(t *testing.T) {
	freshNet(t)
	needTools(t, "nsenter", "unshare", "setpriv", "lsns", "readlink", "ip")
	l, err := NewLab(LabOptions{Name: "nshuns", UserNS: true, Dir: t.TempDir()})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	must(t, l.AddBridge("br0", "10.53.57.11/24"))
	a, err := l.AddNode(NodeOptions{Name: "a", Hostname: "alpha", Hosts: true})
	must(t, err)
	b, err := l.AddNode(NodeOptions{Name: "b"})
	must(t, err)
	must(t, l.Link(a, LinkOptions{Bridge: "br0", CIDR: "10.53.57.1/24"}))
	must(t, l.Link(b, LinkOptions{Bridge: "br0", CIDR: "10.53.57.2/24"}))
	must(t, l.Wait(10*time.Second))

	uns := strings.TrimSuffix(strings.TrimPrefix(readlinkNS(t, l.userNS.Pid, "user"), "user:["), "]")
	if mine := readlinkNS(t, os.Getpid(), "user"); mine == "user:["+uns+"]" {
		t.Fatal("the lab's user namespace is nsh's own")
	}
	owner := func(typ string, pid int) string {
		ino := strings.TrimSuffix(strings.TrimPrefix(readlinkNS(t, pid, typ), typ+":["), "]")
		out, err := exec.Command("lsns", "-n", "-o", "ONS", "-t", typ, ino).Output()
		must(t, err)
		return strings.TrimSpace(string(out))
	}
	for _, c := range []struct {
		typ string
		pid int
	}{{"net", l.userNS.Pid}, {"net", a.HolderPID()}, {"uts", a.HolderPID()}, {"mnt", a.HolderPID()}, {"net", b.HolderPID()}} {
		if got := owner(c.typ, c.pid); got != uns {
			t.Errorf("%s namespace of %d owned by %q, want the lab's user namespace %s", c.typ, c.pid, got, uns)
		}
	}
	if m, err := os.ReadFile("/proc/" + strconv.Itoa(a.HolderPID()) + "/uid_map"); err != nil || strings.Join(strings.Fields(string(m)), " ") != "0 65534 1" {
		t.Fatalf("uid_map of a node: %v %q", err, m)
	}
	out := runIn(t, a, `id -u; hostname; grep -c '10.53.57.2	b' /etc/hosts
cat /proc/sys/net/core/somaxconn > /proc/sys/net/core/somaxconn && echo own-sysctl-ok
v=$(cat /proc/sys/kernel/pid_max); (echo "$v" > /proc/sys/kernel/pid_max) 2>/dev/null && echo HOST-SYSCTL-WRITTEN || echo host-sysctl-refused
readlink /proc/self/ns/user`)
	want := "0\nalpha\n1\nown-sysctl-ok\nhost-sysctl-refused\nuser:[" + uns + "]\n"
	if out != want {
		t.Fatalf("inside a node:\n%s\nwant:\n%s", out, want)
	}
	an := nodeNS(t, a)
	if _, err := an.Ping("10.53.57.2", 1, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	an.Close()
	must(t, a.Stop())
	if o, err := ipAt(t, l.Path(), "link", "show", "a-br"); err == nil {
		t.Fatalf("a-br after Stop: %s", o)
	}
	must(t, a.Start())
	must(t, l.Wait(10*time.Second))
	if out := runIn(t, a, "hostname; readlink /proc/self/ns/user"); out != "alpha\nuser:["+uns+"]\n" {
		t.Fatalf("restarted node: %q", out)
	}
	holder := l.userNS.Pid
	must(t, l.Close())
	if _, err := os.Stat("/proc/" + strconv.Itoa(holder)); err == nil {
		t.Fatalf("the user namespace's holder %d survived Close", holder)
	}
}
