package mounts

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"nsh/runtime/nsproc"
)

// helperEnv selects a helper mode when the test binary runs as a child.
const helperEnv = "NSH_MOUNTS_HELPER"

func TestMain(m *testing.M) {
	// the re-executed child of nsproc.Start (rawcontainer_test.go compares it with the raw start)
	if len(os.Args) > 1 && os.Args[1] == nsproc.ChildFlag {
		runtime.LockOSThread() // as cmd/nsh does: the per-thread set-up (ambient caps) is on the thread that executes
		os.Exit(nsproc.ChildMain(nil))
	}
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// runHelper runs in the child process; it prints one JSON report.
func runHelper(mode string) int {
	var report any
	var err error
	switch mode {
	case "pivot":
		report, err = helperPivot(os.Getenv("NSH_ROOTFS"))
	case "container":
		report, err = helperContainer(os.Getenv("NSH_ROOTFS"))
	case "devtmpfs":
		err = Mount("devtmpfs", os.Getenv("NSH_ROOTFS"), "devtmpfs", "", "")
		report = map[string]string{}
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		json.NewEncoder(os.Stdout).Encode(map[string]string{"error": err.Error()})
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(report)
	return 0
}

// runChild runs this test binary in mode with the given clone flags and
// decodes its JSON report into out.
func runChild(t *testing.T, mode, rootfs string, attr *syscall.SysProcAttr, out any) error {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "NSH_ROOTFS="+rootfs)
	cmd.SysProcAttr = attr
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	var e struct{ Error string }
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return fmt.Errorf("child: %s", e.Error)
	}
	if err != nil {
		return fmt.Errorf("child %s: %v (output %q)", mode, err, b)
	}
	return json.Unmarshal(b, out)
}

// needRoot skips tests that need CAP_SYS_ADMIN.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates mount namespaces and mounts")
	}
}

// inMountNS runs fn on a new OS thread in a new mount namespace whose mounts
// are all private. The thread is never unlocked, so it exits with the
// goroutine and takes the namespace (and every mount made in it) along.
func inMountNS(t *testing.T, fn func() error) {
	t.Helper()
	needRoot(t)
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		done <- func() error {
			// CLONE_NEWNS implies CLONE_FS: the thread gets its own root and cwd.
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
			}
			if err := MakePropagation("/", "private", true); err != nil {
				return err
			}
			return fn()
		}()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
