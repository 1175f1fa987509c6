package transcript

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Inputs and what they and their children wrote, in order, as markdown;
// the input that stops the recording is left out.
func TestRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.md")
	var before unix.Stat_t
	unix.Fstat(1, &before)
	r, err := Start(path, false)
	if err != nil {
		t.Fatal(err)
	}
	r.Begin("print('hi')\n")
	fmt.Println("transcript-test: from the process")
	cmd := exec.Command("/bin/sh", "-c", "echo transcript-test: child; printf '\\033[31mred\\033[0m 10%%\\r100%%\\n'")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if err := r.End(); err != nil {
		t.Fatal(err)
	}
	r.Begin("x = 1")
	r.End()
	r.Begin("print('```')")
	fmt.Println("```")
	r.End()
	r.Begin("record()")
	fmt.Println("transcript-test: stopping")
	r.Stop()
	if err := r.End(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "```lua\nprint('hi')\n```\n\n```\ntranscript-test: from the process\ntranscript-test: child\n100%\n```\n\n" +
		"```lua\nx = 1\n```\n\n" +
		"````lua\nprint('```')\n````\n\n````\n```\n````\n\n"
	if string(b) != want {
		t.Errorf("recorded:\n%s\nwant:\n%s", b, want)
	}
	if r.Inputs() != 3 {
		t.Errorf("%d inputs recorded, want 3", r.Inputs())
	}
	var after unix.Stat_t
	unix.Fstat(1, &after)
	if after.Ino != before.Ino || after.Dev != before.Dev {
		t.Error("descriptor 1 is not the process's own again")
	}
	if strings.Contains(string(b), "stopping") {
		t.Error("the stopping input was recorded")
	}
}
