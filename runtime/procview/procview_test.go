package procview

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

func TestParseStatus(t *testing.T) {
	st := ParseStatus(0, "Name:\tsleep\nPid:\t42\nPPid:\t7\nNSpid:\t42\t3\t1\nUid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n")
	if st.Pid != 42 || st.PPid != 7 || len(st.NSpid) != 3 || st.NSpid[2] != 1 || st.Name != "sleep" {
		t.Fatalf("%+v", st)
	}
	if !AllCaps(st.CapEff) || CapNames(1 << 21)[0] != "sys_admin" {
		t.Fatal("capability names")
	}
}

func open(t *testing.T) *Proc {
	p, err := Open("/proc")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUPIDsOfChildInTwoLevels(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a new PID namespace")
	}
	// unshare(1) forks sleep as PID 1 of a new PID namespace
	cmd := exec.Command("unshare", "--pid", "--fork", "sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	p := open(t)
	var sleeper int
	for i := 0; i < 200 && sleeper == 0; i++ {
		tr, err := p.Tree(cmd.Process.Pid)
		if err == nil {
			for _, r := range tr.Rows {
				if strings.HasPrefix(r.Cmd, "sleep") {
					sleeper = r.Pid
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sleeper == 0 {
		t.Fatal("sleep did not appear")
	}
	v, err := p.UPIDs(sleeper)
	if err != nil {
		t.Fatal(err)
	}
	if v.Level != 1 || len(v.Numbers) != 2 || v.Numbers[1].Nr != 1 || v.Numbers[0].Nr != sleeper {
		t.Fatalf("%+v", v)
	}
	if v.Numbers[1].Init != sleeper || v.Numbers[0].NS == v.Numbers[1].NS {
		t.Fatalf("init and namespaces: %+v", v.Numbers)
	}
	if !strings.Contains(v.String(), "level = 1") {
		t.Fatal(v.String())
	}
	tr, _ := p.Tree(cmd.Process.Pid)
	if tr.Levels != 2 || !tr.Rows[1].Boundary {
		t.Fatalf("tree: %+v\n%s", tr, tr)
	}
	nst, err := p.NSTree()
	if err != nil {
		t.Fatal(err)
	}
	if n := nst.All["pid"][v.Numbers[1].NS]; n == nil || n.Parent != v.Numbers[0].NS || n.Level != 1 {
		t.Fatalf("nstree has no level-1 node for the new namespace: %+v\n%s", n, nst)
	}
}

func TestIDMapsOfUserNamespaceChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to map uid 65534")
	}
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		Credential:  &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	v, err := open(t).IDMaps(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.UIDMap) != 1 || v.UIDMap[0] != (MapLine{0, 65534, 1}) || v.InUID != 0 || v.UID != 65534 || v.Setgroups != "deny" {
		t.Fatalf("%+v", v)
	}
	if !strings.Contains(v.Sentence(), "root (uid 0) inside") {
		t.Fatal(v.Sentence())
	}
}

// A process that is not there is the kernel's ENOENT on the file read,
// with the rule that explains it.
func TestErrorsAreKernelErrors(t *testing.T) {
	p := open(t)
	const gone = 1<<22 + 1 // above PID_MAX_LIMIT: never a process
	for name, call := range map[string]func() error{
		"UPIDs":  func() error { _, err := p.UPIDs(gone); return err },
		"IDMaps": func() error { _, err := p.IDMaps(gone); return err },
		"Tree":   func() error { _, err := p.Tree(gone); return err },
	} {
		err := call()
		var ke *kerr.Error
		if !errors.As(err, &ke) || ke.Errno != unix.ENOENT || ke.Call != `open("/proc/4194305/status")` || !strings.Contains(ke.Rule, "exited") {
			t.Errorf("%s: %#v", name, err)
		}
	}
	if _, err := Open("/nonexistent-procfs"); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), `open("/nonexistent-procfs"): ENOENT`) {
		t.Errorf("Open: %v", err)
	}
	st, err := p.ReadStatus(0)
	if err != nil || st.Pid != unix.Gettid() {
		t.Errorf("ReadStatus(0) is the calling thread: %+v %v", st, err)
	}
}
