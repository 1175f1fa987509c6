package leftover

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"nsh/runtime/cleanup"
	"nsh/runtime/statedir"
)

// Sweep undoes what a dead process's journal records, and nothing of a
// live one's; a pid now used by another process (another start time) is
// not killed.
func TestSweep(t *testing.T) {
	dir := t.TempDir()
	victim := exec.Command("sleep", "60")
	other := exec.Command("sleep", "61")
	for _, c := range []*exec.Cmd{victim, other} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer c.Process.Kill()
	}
	start, err := statedir.StartTime(victim.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(t.TempDir(), "tree")
	os.MkdirAll(filepath.Join(tree, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(tree, "a", "f"), []byte("x"), 0o644)

	dead, err := cleanup.OpenJournal(dir, 1, 1) // stands for a dead nsh
	if err != nil {
		t.Fatal(err)
	}
	r := &cleanup.Registry{Journal: dead}
	r.Add("child", nil, cleanup.Record{Kind: "child", Pid: victim.Process.Pid, Start: start})
	r.Add("child", nil, cleanup.Record{Kind: "child", Pid: other.Process.Pid, Start: start + 12345})
	r.Add("dir", nil, cleanup.Record{Kind: "dir", Path: tree, NS: cleanup.ThreadNS("mnt")})
	r.Add("gone", nil, cleanup.Record{Kind: "dir", Path: "/nonexistent/nsh-test"})
	dead.Close() // its lock goes, as when the process dies

	live, err := cleanup.OpenJournal(dir, os.Getpid(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	(&cleanup.Registry{Journal: live}).Add("dir", nil, cleanup.Record{Kind: "dir", Path: tree + "-live"})
	os.Mkdir(tree+"-live", 0o755)
	defer os.Remove(tree + "-live")

	rep := Sweep(dir, "")
	if len(rep.Errs) > 0 || rep.Procs != 1 || rep.Counts["child"] != 1 || rep.Counts["dir"] != 1 {
		t.Fatalf("report: %+v", rep)
	}
	if s := rep.Summary(); !strings.Contains(s, "1 child") || !strings.Contains(s, "1 dir") {
		t.Errorf("summary %q", s)
	}
	if exists(tree) {
		t.Error("the recorded directory is still there")
	}
	if !exists(tree + "-live") {
		t.Error("a live process's directory was removed")
	}
	done := make(chan error, 1)
	go func() { done <- victim.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("the recorded child was not killed")
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Error("a process with the pid but another start time was killed")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("journals left: %v (want only the live one)", ents)
	}
	if rep := Sweep(dir, ""); rep.Procs != 0 {
		t.Errorf("a second sweep found %+v", rep)
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// A dead journal whose records are all kept (a child h:keep() left
// running) is removed without a word, and what it records stays.
func TestSweepKeptRecords(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(t.TempDir(), "kept")
	os.Mkdir(tree, 0o755)
	// as a killed nsh leaves it: a child's record, then the keep
	body := fmt.Sprintf("\n+ck.1 {\"kind\":\"dir\",\"path\":%q}\n\n~ck.\n", tree)
	if err := os.WriteFile(filepath.Join(dir, cleanup.JournalName(1, 3)), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if rep := Sweep(dir, ""); rep.Procs != 0 || len(rep.Errs) > 0 {
		t.Errorf("report: %+v", rep)
	}
	if !exists(tree) {
		t.Error("a kept child's directory was removed")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("journals left: %v", ents)
	}
}
