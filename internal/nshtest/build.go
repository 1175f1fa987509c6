// Package nshtest builds the nsh binary for tests that run it (the command's
// tests, and the Lua package's, whose ns.clone children re-execute it).
package nshtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build compiles the nsh command in cmdDir into a new directory every user
// can read (tests also run it as nobody) and returns the binary's path and
// a function removing it.
func Build(cmdDir string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "nsh-test-bin")
	if err != nil {
		return "", nil, err
	}
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "nsh")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = cmdDir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building nsh: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}
