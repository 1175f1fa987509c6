package lua

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"nsh/runtime/cleanup"

	glua "github.com/yuin/gopher-lua"
)

// table.concat of 100,000 strings works (gopher-lua's fixed registry made
// it fail with "registry overflow").
func TestTableConcatLarge(t *testing.T) {
	s := newTestSession(t)
	run(t, s, `local t = {} for i = 1, 100000 do t[i] = "x" end
		assert(#table.concat(t, ",") == 199999)
		assert(select("#", unpack(t)) == 100000)`)
}

// A pin name with a newline (or another control byte, or NUL) is refused
// with the rule; the directory pinning made goes with the last unpin.
func TestPinNamesAndDirs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pins under /run need root")
	}
	s := newTestSession(t)
	for name, want := range map[string]string{"a\nb": "contains the byte 0x0a", "tab\there": "0x09", "nul\x00": "0x00", ".": "not a file name", "..": "got \"..\""} {
		err := runErr(t, s, `ns.pin(ns.getpid(), "uts", `+luaQuote(name)+`)`)
		if !strings.Contains(err, "bad argument #3 to 'ns.pin'") || !strings.Contains(err, want) {
			t.Errorf("pin name %q: want the rule, got %q", name, err)
		}
	}
	if _, err := os.Stat("/run/nsh/ipc"); err == nil {
		t.Skip("/run/nsh/ipc exists already (another session's pins)")
	}
	run(t, s, `local p = ns.pin(ns.getpid(), "ipc", "nsh-test-pin1")
		local q = ns.pin(ns.getpid(), "ipc", "nsh-test-pin2")
		ns.unpin(p)`)
	if _, err := os.Stat("/run/nsh/ipc"); err != nil {
		t.Fatalf("/run/nsh/ipc went while a pin was left: %v", err)
	}
	run(t, s, `ns.unpin("/run/nsh/ipc/nsh-test-pin2")`)
	if _, err := os.Stat("/run/nsh/ipc"); err == nil {
		t.Fatal("/run/nsh/ipc stays after its last unpin")
	}
}

func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		fmt.Fprintf(&b, "\\%03d", c)
	}
	b.WriteByte('"')
	return b.String()
}

// h:keep() on a child with a parent-death signal says why it cannot keep
// it; keep=true does keep it, out of the journal.
func TestKeepHandle(t *testing.T) {
	s := newTestSession(t)
	err := runErr(t, s, `local h = ns.spawn{"/bin/sleep", "30"}; h:keep()`)
	if !strings.Contains(err, "h:keep: the child executed a program: its parent-death signal") || !strings.Contains(err, "no kernel interface") || !strings.Contains(err, "keep=true") {
		t.Fatalf("h:keep(): %q", err)
	}
	run(t, s, `local kept = ns.spawn{"/bin/sleep", "30", keep = true}; kept:keep(); kept_pid = kept.pid
		local ended = ns.spawn{"/bin/true"}; ended:wait(); ended:keep()`)
	pid := int(s.L.GetGlobal("kept_pid").(glua.LNumber))
	s.Close()
	defer syscall.Kill(pid, syscall.SIGKILL)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the kept child %d did not outlive the session: %v", pid, err)
	}
}

// What a binding makes is in the journal before it returns, and out of it
// once undone.
func TestJournalRecordsAndDrops(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pins need root")
	}
	s := newTestSession(t)
	j, err := cleanup.OpenJournal(t.TempDir(), os.Getpid(), 1)
	if err != nil {
		t.Fatal(err)
	}
	s.Reg.Journal = j
	run(t, s, `h = ns.spawn{"/bin/sleep", "30"}; p = ns.pin(h.pid, "uts", "nsh-journal-test")`)
	recs, _ := j.Left()
	kinds := ""
	for _, r := range recs {
		kinds += r.Kind + " "
	}
	if kinds != "child pin " {
		t.Fatalf("journal holds %q, want a child and a pin", kinds)
	}
	run(t, s, `ns.unpin(p); h:kill(9); h:wait()`)
	s.Cleanup(nil)
	if recs, _ := j.Left(); len(recs) != 0 {
		t.Fatalf("after cleanup the journal still holds %v", recs)
	}
	j.Close()
}
