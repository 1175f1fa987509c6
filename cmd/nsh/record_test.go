package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nsh --record FILE.md at the prompt, through a pseudo-terminal: each
// input a lua block, what it printed (values, print, stderr, a !command,
// a child, an error) below it in order; record() stops and is not kept;
// record(FILE) starts again.
func TestRecordREPL(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	md, md2 := filepath.Join(dir, "lesson.md"), filepath.Join(dir, "second.md")
	tm := startTerm(t, []string{"--no-userns", "--record", md})
	tm.expect("# ")
	for _, in := range []struct{ send, want string }{
		{"x = 40\r", "# "},
		{"x + 2\r", "42"},
		{"for i = 1, 2 do\r", ">> "},
		{"  print('line', i)\r", ">> "},
		{"end\r", "line\t2"},
		{"!echo from-the-shell; echo shell-err >&2\r", "shell-err"},
		{"print('out'); io.stderr:write('err\\n'); print('out again')\r", "out again"},
		{"ns.spawn{'/bin/echo', 'child says hi', ns = 'uts'}:wait()\r", "exit"},
		{"error('boom')\r", "boom"},
		{"record()\r", "recording stopped: 7 inputs in " + md},
		{"print('not' .. ' recorded')\r", "not recorded"},
		{"record('" + md2 + "')\r", "recording to " + md2},
		{"1 + 1\r", "2"},
	} {
		tm.send(in.send)
		tm.expect(in.want)
		if in.want != "# " && in.want != ">> " {
			tm.expect("# ")
		}
	}
	tm.send("\x04")
	select {
	case <-tm.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl-D did not end the REPL")
	}
	tm.cmd.Wait()
	got, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	want := "```lua\nx = 40\n```\n\n" +
		"```lua\nx + 2\n```\n\n```\n42\n```\n\n" +
		"```lua\nfor i = 1, 2 do\n  print('line', i)\nend\n```\n\n```\nline\t1\nline\t2\n```\n\n" +
		"```lua\n!echo from-the-shell; echo shell-err >&2\n```\n\n```\nfrom-the-shell\nshell-err\n```\n\n" +
		"```lua\nprint('out'); io.stderr:write('err\\n'); print('out again')\n```\n\n```\nout\nerr\nout again\n```\n\n" +
		"```lua\nns.spawn{'/bin/echo', 'child says hi', ns = 'uts'}:wait()\n```\n\n```\nchild says hi\n0\t\"exit\"\n```\n\n" +
		"```lua\nerror('boom')\n```\n\n```\nstdin:1: boom\n```\n\n"
	if string(got) != want {
		t.Errorf("%s:\n%s\nwant:\n%s", md, got, want)
	}
	got2, _ := os.ReadFile(md2)
	if want := "```lua\n1 + 1\n```\n\n```\n2\n```\n\n"; string(got2) != want {
		t.Errorf("%s:\n%s\nwant:\n%s", md2, got2, want)
	}
}

// nsh --record FILE.md with -e and a script: each is one input; the error
// that ends the script and os.exit's code are kept.
func TestRecordScript(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "demo.lua")
	src := "#!/usr/bin/env nsh\nprint('pid in the child:')\nlocal h = ns.spawn{'/bin/sh', '-c', 'echo $$', ns = 'pid'}\nh:wait()\nio.stderr:write('done\\n')\nos.exit(3)\n"
	os.WriteFile(script, []byte(src), 0o644)
	md := filepath.Join(dir, "demo.md")
	cmd := exec.Command(nshBin, "--no-userns", "--record", md, "-e", "print('first')", script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out // one pipe: the order is kept
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want 3; output %q", err, out.String())
	}
	if out.String() != "first\npid in the child:\n1\ndone\n" {
		t.Errorf("what the user saw: %q", out.String())
	}
	got, _ := os.ReadFile(md)
	want := "```lua\nprint('first')\n```\n\n```\nfirst\n```\n\n" +
		"```lua\n" + strings.TrimSuffix(src, "\n") + "\n```\n\n```\npid in the child:\n1\ndone\n```\n\n"
	if string(got) != want {
		t.Errorf("%s:\n%s\nwant:\n%s", md, got, want)
	}

	// a failing script: its error is part of the record, the exit is 1
	os.WriteFile(script, []byte("print('before')\nns.unshare('utz')\n"), 0o644)
	cmd = exec.Command(nshBin, "--no-userns", "--record", md, script)
	out.Reset()
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err == nil {
		t.Fatal("the failing script exited 0")
	}
	got, _ = os.ReadFile(md)
	if !strings.HasPrefix(string(got), "```lua\nprint('before')\nns.unshare('utz')\n```\n\n```\nbefore\n") ||
		!strings.Contains(string(got), "bad argument #1 to 'ns.unshare'") || !strings.HasSuffix(string(got), "\n```\n\n") {
		t.Errorf("%s:\n%s", md, got)
	}
	// a file that cannot be written is said before anything runs
	_, errOut, code := nsh(t, "", "--no-userns", "--record", "/nonexistent/x.md", "-e", "print('ran')")
	if code == 0 || !strings.Contains(errOut, "--record") || strings.Contains(errOut, "ran") {
		t.Errorf("unwritable record file: exit %d, %q", code, errOut)
	}
}
