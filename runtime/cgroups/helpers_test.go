package cgroups

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var testSeq atomic.Int64

func needRoot(t *testing.T) *Layout {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates real cgroups")
	}
	l, err := Detect()
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	return l
}

func needControllers(t *testing.T, l *Layout, version int, ctrls ...string) {
	t.Helper()
	for _, c := range ctrls {
		h, ok := l.Controller(c)
		if !ok || h.Version != version {
			t.Skipf("needs controller %s on cgroup v%d; layout is %s with %v", c, version, l.Mode, l.Controllers())
		}
	}
}

// newGroup creates a uniquely named group removed (and checked gone) at cleanup.
func newGroup(t *testing.T, l *Layout, ctrls []string) *Group {
	t.Helper()
	name := fmt.Sprintf("t%d-%d-%s", os.Getpid(), testSeq.Add(1), strings.ReplaceAll(t.Name(), "/", "_"))
	g, err := l.Create(name, ctrls)
	if err != nil {
		t.Fatalf("Create(%q, %v): %v", name, ctrls, err)
	}
	paths := g.Paths()
	t.Cleanup(func() {
		if err := g.Remove(); err != nil {
			t.Errorf("Remove: %v", err)
		}
		for _, p := range paths {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s still exists after Remove", p)
			}
		}
	})
	return g
}

// gated is a shell that waits for a line on stdin before running script, so
// the test can move it into a group before it does anything.
type gated struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error
	out   bytes.Buffer // what script printed
}

func startGated(t *testing.T, script string) *gated {
	t.Helper()
	return startGatedWith(t, script, nil, func(f func()) { f() })
}

// startGatedWith starts the gated shell with attr, through run (which runs
// its function on the thread the child must be forked from).
func startGatedWith(t *testing.T, script string, attr *syscall.SysProcAttr, run func(func())) *gated {
	t.Helper()
	cmd := exec.Command("sh", "-c", "read _; "+script)
	cmd.SysProcAttr = attr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	gp := &gated{cmd: cmd, stdin: in, done: make(chan error, 1)}
	cmd.Stdout = &gp.out
	run(func() { err = cmd.Start() })
	if err != nil {
		t.Fatal(err)
	}
	go func() { gp.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-gp.done
	})
	return gp
}

func (gp *gated) pid() int { return gp.cmd.Process.Pid }

func (gp *gated) release(t *testing.T) {
	t.Helper()
	if _, err := gp.stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
}

func (gp *gated) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-gp.done:
		gp.done <- err // keep it for cleanup
		return err
	case <-time.After(d):
		t.Fatalf("process %d did not exit within %v", gp.pid(), d)
		return nil
	}
}

func procCgroupText(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
