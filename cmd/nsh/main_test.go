package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// nshBin is the nsh binary the tests drive, built once by TestMain into a
// directory every user can read (scripts also run as nobody).
var nshBin string

// repoRoot is the top of the source tree.
var repoRoot string

func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	dir, err := os.MkdirTemp("", "nsh-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755)
	nshBin = filepath.Join(dir, "nsh")
	build := exec.Command("go", "build", "-o", nshBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building nsh:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// leakcheckPath finds ../shared/tools/leakcheck beside the checkout.
func leakcheckPath() string {
	for _, p := range []string{
		filepath.Join(repoRoot, "..", "shared", "tools", "leakcheck"),
		"/work/shared/tools/leakcheck",
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
