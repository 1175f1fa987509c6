package netlab

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ipAt runs ip(8) inside the network namespace file path through
// nsenter(1): the reference tools, not nsh's netlink.
func ipAt(t *testing.T, path string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"--net=" + path, "ip"}, args...)...).CombinedOutput()
	return string(out), err
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, x := range tools {
		if _, err := exec.LookPath(x); err != nil {
			t.Skipf("needs %s: %v", x, err)
		}
	}
}

// waitFor polls cond (the kernel frees a namespace asynchronously).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// twoNodes is a lab with nodes a and b on br0 (10.53.57.1 and .2).
func twoNodes(t *testing.T, o LabOptions, ao NodeOptions) (*Lab, *Node, *Node) {
	t.Helper()
	freshNet(t)
	needTools(t, "nsenter", "ip", "readlink")
	l, err := NewLab(o)
	must(t, err)
	t.Cleanup(func() { l.Close() })
	must(t, l.AddBridge("br0", ""))
	ao.Name = "a"
	a, err := l.AddNode(ao)
	must(t, err)
	b, err := l.AddNode(NodeOptions{Name: "b"})
	must(t, err)
	must(t, l.Link(a, LinkOptions{Bridge: "br0", CIDR: "10.53.57.1/24"}))
	must(t, l.Link(b, LinkOptions{Bridge: "br0", CIDR: "10.53.57.2/24"}))
	must(t, l.Wait(10*time.Second))
	return l, a, b
}

// A node lives as long as its processes: nsh holds none of its namespace,
// so when its holder (its only process) is killed from outside, the kernel
// frees the namespace and deletes the veth, whose bridge end goes with it.
// Start makes it again with the same names and address; Stop ends it.
func TestNodeLivesWithItsProcesses(t *testing.T) {
	l, a, b := twoNodes(t, LabOptions{Name: "nshlife"}, NodeOptions{})
	hub := l.Path()
	pid := a.HolderPID()
	if pid == 0 || b.HolderPID() == 0 {
		t.Fatal("a plain node reports no pid")
	}
	// the holder's namespace is the node's (readlink(1) of /proc/PID/ns/net)
	out, err := exec.Command("readlink", "/proc/"+strconv.Itoa(pid)+"/ns/net").Output()
	must(t, err)
	if got := strings.TrimSpace(string(out)); got != "net:["+strconv.FormatUint(a.Inode(), 10)+"]" {
		t.Fatalf("holder is in %s, node's namespace is %d", got, a.Inode())
	}
	if h := nsHolder(a.Inode()); h != "" {
		t.Fatalf("nsh holds the node's namespace: %s", h)
	}
	if out, err := ipAt(t, hub, "-o", "link", "show", "master", "br0"); err != nil || !strings.Contains(out, "a-br@") {
		t.Fatalf("a-br is not a port of br0: %v %s", err, out)
	}
	// killed from outside (kill(1)), as a testenv's server that stops
	must(t, exec.Command("kill", "-KILL", strconv.Itoa(pid)).Run())
	waitFor(t, "the kernel deletes a-br", func() bool {
		out, err := ipAt(t, hub, "-o", "link", "show", "master", "br0")
		return err == nil && !strings.Contains(out, "a-br@")
	})
	waitFor(t, "nsh sees the holder end", func() bool { return !a.Running() })
	if _, err := a.Open(); !errors.Is(err, ErrEnded) {
		t.Fatalf("Open of an ended node: %v", err)
	}
	if a.HolderPID() != 0 || a.Path() != "" {
		t.Fatalf("ended node reports pid %d path %q", a.HolderPID(), a.Path())
	}
	old := a.Inode()

	must(t, a.Start())
	if a.Inode() == old || a.HolderPID() == 0 || a.HolderPID() == pid {
		t.Fatalf("Start: inode %d (was %d), pid %d (was %d)", a.Inode(), old, a.HolderPID(), pid)
	}
	if out, err := ipAt(t, a.Path(), "-o", "-4", "addr", "show", "dev", "eth0"); err != nil || !strings.Contains(out, "10.53.57.1/24") {
		t.Fatalf("after Start, eth0 in the node: %v %s", err, out)
	}
	must(t, l.Wait(10*time.Second))
	if out, err := ipAt(t, hub, "-o", "link", "show", "master", "br0"); err != nil || !strings.Contains(out, "a-br@") {
		t.Fatalf("after Start a-br is not a port of br0: %v %s", err, out)
	}
	bns := nodeNS(t, b)
	if _, err := bns.Ping("10.53.57.1", 1, 2*time.Second); err != nil {
		t.Fatalf("b pings the restarted a: %v", err)
	}
	bns.Close()

	// Stop kills every process in the node, not only the holder
	sleeper := exec.Command("nsenter", "--net="+a.Path(), "sleep", "600")
	must(t, sleeper.Start())
	waitFor(t, "the sleeper is in the node", func() bool {
		out, _ := exec.Command("readlink", "/proc/"+strconv.Itoa(sleeper.Process.Pid)+"/ns/net").Output()
		return strings.TrimSpace(string(out)) == "net:["+strconv.FormatUint(a.Inode(), 10)+"]"
	})
	must(t, a.Stop())
	if err := sleeper.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("a process in the node survived Stop: %v", err)
	}
	// Stop returns once the kernel has deleted the bridge end
	if out, err := ipAt(t, hub, "link", "show", "a-br"); err == nil {
		t.Fatalf("a-br still there after Stop: %s", out)
	}
	if a.Running() {
		t.Fatal("running after Stop")
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil && a.HolderPID() == pid {
		t.Fatal("holder alive after Stop")
	}
	must(t, a.Start())
	if err := a.Start(); err == nil || !strings.Contains(err.Error(), "is running") {
		t.Fatalf("Start of a running node: %v", err)
	}
}

// A pin or Keep holds a node's namespace on purpose: killing its
// processes leaves its veth (ip netns shows it); Stop lets go of it.
func TestNodeHeldOnPurpose(t *testing.T) {
	for _, c := range []struct {
		name string
		o    LabOptions
		n    NodeOptions
	}{
		{"pin", LabOptions{Name: "nshpinned", Pin: true}, NodeOptions{}},
		{"keep", LabOptions{Name: "nshkept"}, NodeOptions{Keep: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, a, _ := twoNodes(t, c.o, c.n)
			hub, ino := l.Path(), a.Inode()
			held := nsHolder(ino)
			if c.name == "keep" && held == "" {
				t.Fatal("Keep: nsh holds no descriptor of the node")
			}
			if c.name == "pin" && held != "" {
				t.Fatalf("pinned: nsh holds %s besides the pin", held)
			}
			must(t, exec.Command("kill", "-KILL", strconv.Itoa(a.HolderPID())).Run())
			waitFor(t, "nsh sees the holder end", func() bool { return !a.Running() })
			time.Sleep(50 * time.Millisecond) // would the kernel delete it?
			if out, err := ipAt(t, hub, "-o", "link", "show", "master", "br0"); err != nil || !strings.Contains(out, "a-br@") {
				t.Fatalf("a-br went with the processes although held on purpose: %v %s", err, out)
			}
			if c.name == "pin" {
				if out, err := exec.Command("ip", "netns", "exec", "nshpinned-a", "ip", "-o", "-4", "addr", "show", "eth0").CombinedOutput(); err != nil || !strings.Contains(string(out), "10.53.57.1/24") {
					t.Fatalf("ip netns exec nshpinned-a: %v %s", err, out)
				}
			}
			must(t, a.Stop())
			if out, err := ipAt(t, hub, "link", "show", "a-br"); err == nil {
				t.Fatalf("a-br still there after Stop: %s", out)
			}
			if h := nsHolder(ino); h != "" {
				t.Fatalf("after Stop nsh still holds %s", h)
			}
			if _, err := os.Stat(runNetns + "/nshpinned-a"); err == nil {
				t.Fatal("pin left after Stop")
			}
			must(t, a.Start())
			if c.name == "pin" {
				if _, err := os.Stat(runNetns + "/nshpinned-a"); err != nil {
					t.Fatalf("Start did not pin again: %v", err)
				}
			}
		})
	}
}

// NoHolders: a plain node has no process; nsh's descriptor holds it (on
// purpose, shown as nsh's fd), until Stop; a node with a hostname still
// has its holder (its UTS namespace needs a process).
func TestNodeNoHolders(t *testing.T) {
	l, a, b := twoNodes(t, LabOptions{Name: "nshnoholder", NoHolders: true}, NodeOptions{})
	c, err := l.AddNode(NodeOptions{Name: "c", Hostname: "cee"})
	must(t, err)
	if a.HolderPID() != 0 || !a.Running() || c.HolderPID() == 0 {
		t.Fatalf("pids a %d c %d, a running %v", a.HolderPID(), c.HolderPID(), a.Running())
	}
	if h := nsHolder(a.Inode()); h == "" {
		t.Fatal("nothing of nsh's holds a node without a holder")
	}
	out, err := exec.Command("readlink", a.Path()).Output()
	if err != nil || strings.TrimSpace(string(out)) != "net:["+strconv.FormatUint(a.Inode(), 10)+"]" {
		t.Fatalf("readlink %s: %v %s", a.Path(), err, out)
	}
	if got := runIn(t, a, "ip -o -4 addr show dev eth0"); !strings.Contains(got, "10.53.57.1/24") {
		t.Fatalf("node:run in a node without holder: %s", got)
	}
	bns := nodeNS(t, b)
	if _, err := bns.Ping("10.53.57.1", 1, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	bns.Close()
	ino := a.Inode()
	must(t, a.Stop())
	if o, err := ipAt(t, l.Path(), "link", "show", "a-br"); err == nil {
		t.Fatalf("a-br after Stop: %s", o)
	}
	if h := nsHolder(ino); h != "" {
		t.Fatalf("after Stop nsh still holds %s", h)
	}
	must(t, a.Start())
	if !a.Running() || a.HolderPID() != 0 {
		t.Fatal("Start of a node without holder")
	}
}

// A plain node's holder is nsh's own sleep where it can be: seen from
// outside as `sleep infinity` named sleep, its exe the sealed memfd; it
// ends on SIGTERM as sleep(1) does, and the node with it.
func TestHolderIsNshSleep(t *testing.T) {
	l, a, _ := twoNodes(t, LabOptions{Name: "nshsleeper"}, NodeOptions{})
	if sleeperPath() == "" {
		t.Skip("no nsh sleep on this architecture or kernel: holders are sleep(1)")
	}
	pid := strconv.Itoa(a.HolderPID())
	read := func(f string) string {
		b, err := os.ReadFile("/proc/" + pid + "/" + f)
		must(t, err)
		return string(b)
	}
	if c := read("cmdline"); c != "sleep\x00infinity\x00" {
		t.Fatalf("cmdline %q, want sleep infinity", c)
	}
	if c := read("comm"); c != "sleep\n" {
		t.Fatalf("comm %q, want sleep", c)
	}
	if exe, _ := os.Readlink("/proc/" + pid + "/exe"); exe != "/memfd:nsh-sleep (deleted)" {
		t.Fatalf("exe %q", exe)
	}
	if !strings.Contains(read("status"), "State:\tS (sleeping)") {
		t.Fatalf("holder not sleeping:\n%s", read("status"))
	}
	// sealed: not even nsh may change it
	if f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(sleeper.fd), os.O_WRONLY, 0); err == nil {
		_, err = f.Write([]byte("x"))
		f.Close()
		if err == nil {
			t.Fatal("wrote into nsh's sleep: it is not sealed")
		}
	}
	must(t, exec.Command("kill", "-TERM", pid).Run())
	waitFor(t, "holder ended by SIGTERM", func() bool { return !a.Running() })
	if st := a.holder.Status(); st.Signal != "SIGTERM" {
		t.Fatalf("holder status %+v, want killed by SIGTERM", st)
	}
	if err := a.alive(); !errors.Is(err, ErrEnded) {
		t.Fatalf("node after its holder ended: %v", err)
	}
	must(t, a.Start())
	if !a.Running() || a.HolderPID() == 0 {
		t.Fatal("node did not start again")
	}
	_ = l
}
