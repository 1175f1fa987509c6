package cleanup

import (
	"os"
	"path/filepath"
	"testing"
)

// The journal holds what was added and not undone, kept or forgotten;
// a torn last line (a write cut by SIGKILL) is not a record.
func TestJournalRecords(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, os.Getpid(), 42)
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{Journal: j}
	a := r.Add("pin a", func() error { return nil }, Record{Kind: "pin", Path: "/a"})
	r.Add("pin b", func() error { return nil }, Record{Kind: "pin", Path: "/b"})
	c := r.Add("dir c", func() error { return nil }, Record{Kind: "dir", Path: "/c"})
	c.Note(Record{Kind: "link", Path: "veth0"})
	a.Keep()
	left, err := j.Left()
	if err != nil || len(left) != 3 || left[0].Path != "/b" || left[2].Path != "veth0" {
		t.Fatalf("journal: %v %v", left, err)
	}
	// another process sees the journal locked while its owner lives
	if locked, _ := Locked(j.Path()); !locked {
		t.Fatal("a live journal is not locked")
	}
	f, _ := os.OpenFile(j.Path(), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`+99 {"kind":"pin","pa`) // torn
	f.Close()
	if left, _ := ReadJournal(j.Path()); len(left) != 3 {
		t.Fatalf("a torn line was read as a record: %v", left)
	}
	if errs := r.Run(nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	if left, _ := j.Left(); len(left) != 0 {
		t.Fatalf("after Run the journal holds %v", left)
	}
	j.Close()
	if _, err := os.Stat(filepath.Join(dir, JournalName(os.Getpid(), 42))); !os.IsNotExist(err) {
		t.Fatalf("an empty journal stays after Close: %v", err)
	}
}

// A failed undo stays in the journal (the next nsh tries again), and
// Close leaves such a journal, unlocked.
func TestJournalKeepsFailures(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, os.Getpid(), 43)
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{Journal: j}
	r.Add("x", func() error { return os.ErrPermission }, Record{Kind: "dir", Path: "/x"})
	if errs := r.Run(nil); len(errs) != 1 {
		t.Fatalf("want one failure, got %v", errs)
	}
	j.Close()
	if locked, unlock := Locked(j.Path()); locked {
		t.Fatal("a closed journal is still locked")
	} else {
		unlock()
	}
	if left, _ := ReadJournal(j.Path()); len(left) != 1 {
		t.Fatalf("the failure is not left for later: %v", left)
	}
}

// Item.Run undoes the thing while its records are still in the journal
// (a SIGKILL in the middle leaves them for the sweep), drops them once the
// undo succeeded, and keeps them when it failed; the registry does not run
// the item again.
func TestItemRunDropsRecordsAfterUndo(t *testing.T) {
	j := testJournal(t, 45)
	r := &Registry{Journal: j}
	var during []Record
	runs := 0
	ok := r.Add("lab a", func() error {
		runs++
		during, _ = j.Left()
		return nil
	}, Record{Kind: "mount", Path: "/labs/a"})
	ok.Note(Record{Kind: "dir", Path: "/labs/a"})
	if err := ok.Run(); err != nil {
		t.Fatal(err)
	}
	if len(during) != 2 || during[0].Path != "/labs/a" || during[1].Kind != "dir" {
		t.Fatalf("during the undo the journal held %v, want the mount and the dir", during)
	}
	if left, _ := j.Left(); len(left) != 0 {
		t.Fatalf("after a successful Run the journal holds %v", left)
	}
	failing := r.Add("lab b", func() error { runs++; return os.ErrPermission }, Record{Kind: "dir", Path: "/labs/b"})
	if err := failing.Run(); err != os.ErrPermission {
		t.Fatalf("Run of a failing undo: %v", err)
	}
	if left, _ := j.Left(); len(left) != 1 || left[0].Path != "/labs/b" {
		t.Fatalf("a failed undo's records are not left for the sweep: %v", left)
	}
	if err := ok.Run(); err != nil || runs != 2 {
		t.Fatalf("a second Run undid again (runs %d, %v)", runs, err)
	}
	if errs := r.Run(nil); len(errs) != 0 || runs != 2 {
		t.Fatalf("the registry ran an item Run had undone (runs %d, %v)", runs, errs)
	}
}

// A child's records go into its parent's journal with ids of its own.
func TestJoinJournal(t *testing.T) {
	j, err := OpenJournal(t.TempDir(), os.Getpid(), 44)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	c, err := JoinJournal(j.Path(), j.ChildPrefix())
	if err != nil {
		t.Fatal(err)
	}
	pr := &Registry{Journal: j}
	cr := &Registry{Journal: c}
	pr.Add("p", func() error { return nil }, Record{Kind: "dir", Path: "/p"})
	cr.Add("c", func() error { return nil }, Record{Kind: "dir", Path: "/c"})
	pr.Run(nil) // the parent's "-1" must not drop the child's first record
	c.Close()
	if left, _ := j.Left(); len(left) != 1 || left[0].Path != "/c" {
		t.Fatalf("want the child's record left, got %v", left)
	}
}

// Records with a kept prefix (a child h:keep() left running, and its own
// children) are no one's to undo.
func TestKeepPrefix(t *testing.T) {
	j, err := OpenJournal(t.TempDir(), os.Getpid(), 45)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	child := j.ChildPrefix()
	c, _ := JoinJournal(j.Path(), child)
	g, _ := JoinJournal(j.Path(), c.ChildPrefix())
	other, _ := JoinJournal(j.Path(), j.ChildPrefix())
	for _, x := range []*Journal{c, g, other} {
		(&Registry{Journal: x}).Add("d", func() error { return nil }, Record{Kind: "dir", Path: x.prefix})
	}
	j.KeepPrefix(child)
	left, _ := j.Left()
	if len(left) != 1 || left[0].Path != other.prefix {
		t.Fatalf("want only the other child's record, got %v", left)
	}
}

// Entries reads only what was appended since its last call, and gives what
// a full read gives: a child's live records, none once undone or kept, and
// not a line still being written.
func TestEntriesFollowsTheJournal(t *testing.T) {
	j := testJournal(t, 46)
	pr := &Registry{Journal: j}
	for i := 0; i < 500; i++ { // a long script's children, started and reaped
		pr.Add("child", func() error { return nil }, Record{Kind: "child", Pid: i})
	}
	pr.Run(nil)
	a := j.ChildPrefix()
	if es := j.Entries(a); len(es) != 0 {
		t.Fatalf("a child that wrote nothing left %v", es)
	}
	st, _ := j.f.Stat()
	if j.seen.off != st.Size() || len(j.seen.live) != 0 || len(j.seen.order) > 64 {
		t.Fatalf("after reading a journal of %d bytes: offset %d, %d live, %d in order", st.Size(), j.seen.off, len(j.seen.live), len(j.seen.order))
	}
	c, _ := JoinJournal(j.Path(), a)
	cr := &Registry{Journal: c}
	cr.Add("m1", func() error { return nil }, Record{Kind: "mount", Path: "/m1"})
	m2 := cr.Add("m2", func() error { return nil }, Record{Kind: "mount", Path: "/m2"})
	b := j.ChildPrefix()
	(&Registry{Journal: mustJoin(t, j.Path(), b)}).Add("other", func() error { return nil }, Record{Kind: "dir", Path: "/b"})
	if es := j.Entries(a); len(es) != 2 || es[0].Rec.Path != "/m1" || es[1].Rec.Path != "/m2" {
		t.Fatalf("child a's records: %v", es)
	}
	m2.Forget()
	c.f.WriteString("\n+" + a + "99 {\"kind\":\"mount\",\"path\":\"/half") // a write cut short
	if es := j.Entries(a); len(es) != 1 || es[0].Rec.Path != "/m1" {
		t.Fatalf("after m2 was undone, with a torn line at the end: %v", es)
	}
	if full, _ := j.Left(); len(full) != 2 {
		t.Fatalf("a full read disagrees: %v", full)
	}
	j.KeepPrefix(a)
	if es := j.Entries(a); len(es) != 0 {
		t.Fatalf("a kept child's records are no one's to adopt: %v", es)
	}
	if es := j.Entries(b); len(es) != 1 || es[0].Rec.Path != "/b" {
		t.Fatalf("child b's record: %v", es)
	}
}

func mustJoin(t *testing.T, path, prefix string) *Journal {
	c, err := JoinJournal(path, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A last line whose newline never came: a live reader waits for the rest
// of the write, the reader of an ended process's journal takes the
// record if it is whole.
func TestLastLineWithoutNewline(t *testing.T) {
	j := testJournal(t, 47)
	j.f.WriteString("\n+c1.1 {\"kind\":\"dir\",\"path\":\"/whole\"}")
	if es := j.Entries("c1."); len(es) != 0 {
		t.Fatalf("a line still being written was read: %v", es)
	}
	if left, err := ReadJournal(j.Path()); err != nil || len(left) != 1 || left[0].Path != "/whole" {
		t.Fatalf("the final read: %v %v", left, err)
	}
	j.f.WriteString("\n")
	if es := j.Entries("c1."); len(es) != 1 || es[0].Rec.Path != "/whole" {
		t.Fatalf("once the line ended: %v", es)
	}
}

// testJournal is a journal of this process (start: a made-up start time)
// in a directory of the test's, closed when the test ends.
func testJournal(t *testing.T, start uint64) *Journal {
	j, err := OpenJournal(t.TempDir(), os.Getpid(), start)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	return j
}
