package mounts

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const sample = `36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
37 36 0:40 / /mnt/with\040space\134x rw shared:5 master:3 propagate_from:2 - tmpfs my\040tmpfs rw,size=10k
38 36 0:41 / /u rw unbindable - tmpfs tmpfs rw
39 36 0:42 / /p rw - proc proc rw
`

func TestParseMountinfo(t *testing.T) {
	es, err := ParseMountinfo(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Fatalf("got %d entries", len(es))
	}
	want := Entry{ID: 37, Parent: 36, Major: 0, Minor: 40, Root: "/", Target: `/mnt/with space\x`,
		Options: "rw", FSType: "tmpfs", Source: "my tmpfs", SuperOptions: "rw,size=10k",
		Propagation: []string{"shared:5", "master:3", "propagate_from:2"}, Shared: 5, Master: 3, PropagateFrom: 2}
	if !reflect.DeepEqual(es[1], want) {
		t.Errorf("entry 2:\n got %+v\nwant %+v", es[1], want)
	}
	kinds := []string{"private,slave", "shared,slave", "private,unbindable", "private"}
	for i, k := range kinds {
		if es[i].Kind() != k {
			t.Errorf("entry %d Kind = %q, want %q", i, es[i].Kind(), k)
		}
	}
	if fmt.Sprint(es[3].Propagation) != "[private]" || es[0].Root != "/mnt1" || es[0].Major != 98 {
		t.Errorf("entries 1/4: %+v %+v", es[0], es[3])
	}
	if _, err := ParseMountinfo(strings.NewReader("1 2 3\n")); err == nil {
		t.Error("malformed line accepted")
	}
}

// findmnt runs findmnt on this thread's table (as a list, in JSON).
func findmnt(tid int) (map[int][4]string, error) {
	out, err := exec.Command("findmnt", "-J", "-l", "--task", fmt.Sprint(tid),
		"-o", "ID,PARENT,TARGET,FSTYPE,PROPAGATION").Output()
	if err != nil {
		return nil, fmt.Errorf("findmnt: %v", err)
	}
	var doc struct {
		Filesystems []struct {
			ID, Parent                  int
			Target, FSType, Propagation string
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, err
	}
	m := map[int][4]string{}
	for _, f := range doc.Filesystems {
		m[f.ID] = [4]string{fmt.Sprint(f.Parent), f.Target, f.FSType, f.Propagation}
	}
	return m, nil
}

// TestListMatchesFindmnt mounts a tmpfs on a path with a space, makes it
// shared, and compares List(0) with what findmnt reads for this thread.
func TestListMatchesFindmnt(t *testing.T) {
	if _, err := exec.LookPath("findmnt"); err != nil {
		t.Skip("findmnt not installed")
	}
	dir := filepath.Join(t.TempDir(), "a b")
	os.Mkdir(dir, 0o755)
	inMountNS(t, func() error {
		if err := Mount("tmpfs", dir, "tmpfs", "nosuid", "size=1m"); err != nil {
			return err
		}
		if err := MakePropagation(dir, "shared", false); err != nil {
			return err
		}
		tab, err := List(0)
		if err != nil {
			return err
		}
		e, ok := Find(tab, dir)
		if !ok || e.FSType != "tmpfs" || e.Shared == 0 || !strings.Contains(e.Options, "nosuid") {
			return fmt.Errorf("List(0) entry for %q: %+v (found %v)", dir, e, ok)
		}
		fm, err := findmnt(unix.Gettid())
		if err != nil {
			return err
		}
		if len(fm) != len(tab) {
			return fmt.Errorf("findmnt lists %d mounts, List %d", len(fm), len(tab))
		}
		for _, e := range tab {
			want := [4]string{fmt.Sprint(e.Parent), e.Target, e.FSType, e.Kind()}
			if fm[e.ID] != want {
				return fmt.Errorf("mount %d: findmnt %q, List %q", e.ID, fm[e.ID], want)
			}
		}
		return nil
	})
}
