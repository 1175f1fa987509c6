package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestMountListMatchesFindmnt compares mount.list(pid) (what view.mounts
// shows) with `findmnt -J -l -N PID` for a process in a mount namespace that
// has a shared tmpfs, a slave bind and a private tmpfs of its own.
func TestMountListMatchesFindmnt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make mount namespaces without a user namespace")
	}
	if _, err := exec.LookPath("findmnt"); err != nil {
		t.Skip("findmnt (util-linux) not installed")
	}
	script := `
ns.unshare("mnt")
mount.make("/", "private", true)
local d = rootfs.tmpdir("findmnt")
mount.tmpfs(d, {size = "2m"})
mount.make(d, "shared")
sys.run({"mkdir", d .. "/a", d .. "/b", d .. "/c d"})
mount.tmpfs(d .. "/a", {size = "1m", mode = "700"})
mount.bind(d .. "/a", d .. "/b")
mount.make(d .. "/b", "slave")
mount.tmpfs(d .. "/c d")
mount.make(d .. "/c d", "unbindable")
local h = ns.spawn{"sleep", "30", ns = "mnt"}
for _, pid in ipairs({0, h.pid}) do
  print("TABLE")
  for _, r in ipairs(mount.list(pid ~= 0 and pid or nil)) do
    print(table.concat({"ROW", r.id, r.parent, r.target, r.fstype, r.kind, r.options}, "\t"))
  end
  local argv = {"findmnt", "-J", "-l", "-o", "ID,PARENT,TARGET,FSTYPE,PROPAGATION,VFS-OPTIONS"}
  if pid ~= 0 then table.insert(argv, 2, "-N"); table.insert(argv, 3, tostring(pid)) end
  local out = sys.run(argv)
  print("FINDMNT\t" .. out:gsub("\n", " "))
end
h:kill(); h:wait()
`
	out, err := exec.Command(nshBin, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("nsh: %v\n%s", err, out)
	}
	type row struct {
		ID, Parent                    int
		Target, FSType, Prop, Options string
	}
	type fmTable struct {
		Filesystems []struct {
			ID          int    `json:"id"`
			Parent      int    `json:"parent"`
			Target      string `json:"target"`
			FSType      string `json:"fstype"`
			Propagation string `json:"propagation"`
			VFSOptions  string `json:"vfs-options"`
		} `json:"filesystems"`
	}
	var oursAll [][]row
	var fmAll []fmTable
	var ours []row
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		switch f[0] {
		case "ROW":
			if len(f) != 7 {
				t.Fatalf("bad row %q", line)
			}
			id, _ := strconv.Atoi(f[1])
			par, _ := strconv.Atoi(f[2])
			ours = append(ours, row{id, par, f[3], f[4], f[5], f[6]})
		case "FINDMNT":
			var fm fmTable
			if err := json.Unmarshal([]byte(f[1]), &fm); err != nil {
				t.Fatalf("findmnt JSON: %v\n%s", err, f[1])
			}
			oursAll = append(oursAll, ours)
			fmAll = append(fmAll, fm)
			ours = nil
		}
	}
	if len(oursAll) != 2 {
		t.Fatalf("expected two tables (the shell's and the child's), got %d\n%s", len(oursAll), out)
	}
	kinds := map[string]bool{}
	for n, ours := range oursAll {
		fm := fmAll[n]
		if len(ours) == 0 || len(ours) != len(fm.Filesystems) {
			t.Fatalf("table %d: mount.list has %d rows, findmnt %d\n%s", n, len(ours), len(fm.Filesystems), out)
		}
		for i, o := range ours {
			f := fm.Filesystems[i]
			if o.ID != f.ID || o.Parent != f.Parent || o.Target != f.Target || o.FSType != f.FSType || o.Prop != f.Propagation || o.Options != f.VFSOptions {
				t.Errorf("table %d row %d differs:\n  mount.list: %+v\n  findmnt:    %+v", n, i, o, f)
			}
			kinds[o.Prop] = true
		}
	}
	for _, k := range []string{"shared", "private,slave", "private,unbindable", "private"} {
		if !kinds[k] {
			t.Errorf("no row with propagation %q to compare (have %v)", k, kinds)
		}
	}
}
