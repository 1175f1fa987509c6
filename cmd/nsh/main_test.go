package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"nsh/internal/nshtest"
)

// nshBin is the nsh binary the tests drive, built once by TestMain into a
// directory every user can read (scripts also run as nobody).
var nshBin string

// repoRoot is the top of the source tree.
var repoRoot string

func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	bin, remove, err := nshtest.Build(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nshBin = bin
	code := m.Run()
	remove()
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
