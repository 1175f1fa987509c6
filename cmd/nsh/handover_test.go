package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// handoverScript runs in a throwaway mount namespace (unshare -m
// --propagation private): under a shared tmpfs at $D, the reference
// (util-linux unshare -m --propagation unchanged, which is clone(2) with
// CLONE_NEWNS) mounts in a child of its own, then nsh's ns.clone children
// do the same, one in a clone-made mount namespace, one in the parent's,
// one SIGKILLed; each line "KEY n" counts the mounts at a path in the outer
// namespace's /proc/self/mountinfo.
const handoverScript = `
set -e
count() { grep -c " $1 " /proc/self/mountinfo || true; }
mount -t tmpfs base "$D"
mount --make-shared "$D"
mkdir "$D/ref" "$D/own" "$D/same" "$D/killed"
unshare -m --propagation unchanged sh -c "mount -t tmpfs x $D/ref"
echo "REF_AFTER_CHILD $(count $D/ref)"
umount "$D/ref"
"$NSH" -e '
local D = os.getenv("D")
local function n(p) local c = 0 for _, m in ipairs(mount.list()) do if m.target == p then c = c + 1 end end return c end
ns.clone("mnt", function() mount.mount("x", D .. "/own", "tmpfs") end):wait()
print("OWN_AFTER_CHILD " .. n(D .. "/own"))
ns.clone("uts", function() mount.tmpfs(D .. "/same") end):wait()
print("SAME_AFTER_CHILD " .. n(D .. "/same"))
local k = ns.clone("mnt", function() mount.tmpfs(D .. "/killed"); sys.sleep(100) end)
for i = 1, 300 do if n(D .. "/killed") > 0 then break end sys.sleep(0.02) end
k:kill(9) k:wait()
print("KILLED_AFTER_CHILD " .. n(D .. "/killed"))
'
mkdir "$D/swept"
"$NSH" -e 'ns.clone("mnt", function() mount.tmpfs(os.getenv("D") .. "/swept"); sys.sleep(100) end); sys.sleep(100)' &
pid=$!
i=0; while [ "$(count $D/swept)" = 0 ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done
kill -9 $pid; wait $pid || true
sleep 0.3
echo "SWEPT_AFTER_KILL $(count $D/swept)"
"$NSH" --cleanup
echo "SWEPT_AFTER_CLEANUP $(count $D/swept)"
echo "OWN_AFTER_SESSION $(count $D/own)"
echo "SAME_AFTER_SESSION $(count $D/same)"
echo "KILLED_AFTER_SESSION $(count $D/killed)"
echo "JOURNALS $(ls "$NSH_STATE_DIR/procs" 2>/dev/null | wc -l)"
umount "$D"
`

// TestCloneHandsOverMounts: what an ns.clone child mounts that the kernel
// keeps after the child ends stays, as with the reference, until the
// outermost nsh ends: a mount under a shared mount made in the child's own
// mount namespace (its copy in the parent's namespace), a mount in the
// parent's namespace, and the same from a child SIGKILLed; then nothing is
// left, and no journal. When the parent nsh is SIGKILLed too, the copy
// stays (as the kernel keeps it) until nsh --cleanup proves and removes it.
func TestCloneHandsOverMounts(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs util-linux unshare (the reference)")
	}
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", handoverScript)
	cmd.Env = append(os.Environ(), "D="+t.TempDir(), "NSH="+nshBin, "NSH_STATE_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			got[k] = v
		}
	}
	for k, want := range map[string]string{
		"REF_AFTER_CHILD": "1", "OWN_AFTER_CHILD": "1", "SAME_AFTER_CHILD": "1", "KILLED_AFTER_CHILD": "1",
		"OWN_AFTER_SESSION": "0", "SAME_AFTER_SESSION": "0", "KILLED_AFTER_SESSION": "0", "JOURNALS": "0",
		"SWEPT_AFTER_KILL": "1", "SWEPT_AFTER_CLEANUP": "0",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %s\n%s", k, got[k], want, out)
		}
	}
}

// handoverOthers runs in an IPC namespace of its own (unshare -i), which
// the shell keeps after nsh ends, so its System V table can be read then.
const handoverOthers = `
set -e
"$NSH" -e '
local N = os.getenv("N")
local h = ns.clone("uts", function()
  ns.pin(ns.getpid(), "uts", N)
  cgroup.create(N, {pids_max = 10})
  return sys.shmget(0, 4096, true), sys.semget(0, 1, true)
end)
assert(h:wait() == 0)
local shm, sem = h:result()
local kinds = {}
for _, o in ipairs(sys.ipcs()) do kinds[o.kind .. o.id] = true end
print("PIN_AFTER_CHILD " .. (io.open("/run/nsh/uts/" .. N) and 1 or 0))
print("CG_AFTER_CHILD " .. (io.open("/sys/fs/cgroup/nsh/" .. N .. "/cgroup.procs") and 1 or io.open("/sys/fs/cgroup/pids/nsh/" .. N .. "/cgroup.procs") and 1 or 0))
print("IPC_AFTER_CHILD " .. ((kinds["shm" .. shm] and 1 or 0) + (kinds["sem" .. sem] and 1 or 0)))
'
echo "PIN_AFTER_SESSION $(test -e /run/nsh/uts/$N && echo 1 || echo 0)"
echo "CG_AFTER_SESSION $(ls -d /sys/fs/cgroup/nsh/$N /sys/fs/cgroup/*/nsh/$N 2>/dev/null | wc -l)"
echo "IPC_AFTER_SESSION $(ipcs -m -s | grep -c '^0x' || true)"
echo "JOURNALS $(ls "$NSH_STATE_DIR/procs" 2>/dev/null | wc -l)"
`

// TestCloneHandsOverOthers: a pin, a cgroup and System V objects an
// ns.clone child made stay after it ends (the kernel keeps them: the pin
// holds its UTS namespace), and are gone when the outermost nsh ends.
func TestCloneHandsOverOthers(t *testing.T) {
	needRoot(t)
	name := fmt.Sprintf("nsh-handover-%d", os.Getpid())
	cmd := exec.Command("unshare", "-i", "sh", "-c", handoverOthers)
	cmd.Env = append(os.Environ(), "N="+name, "NSH="+nshBin, "NSH_STATE_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			got[k] = v
		}
	}
	for k, want := range map[string]string{
		"PIN_AFTER_CHILD": "1", "CG_AFTER_CHILD": "1", "IPC_AFTER_CHILD": "2",
		"PIN_AFTER_SESSION": "0", "CG_AFTER_SESSION": "0", "IPC_AFTER_SESSION": "0", "JOURNALS": "0",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %s\n%s", k, got[k], want, out)
		}
	}
}

// TestAdoptedInOrder: what a child left is undone before what its parent
// made earlier: a tmpfs a child mounted on the parent's rootfs.tmpdir is
// unmounted first, then the directory goes, with no cleanup error.
func TestAdoptedInOrder(t *testing.T) {
	needRoot(t)
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", `
		"$NSH" -e '
			local d = rootfs.tmpdir("adopt")
			print("DIR " .. d)
			ns.clone("uts", function() mount.tmpfs(d) end):wait()
			assert(mount.find(d), "the child'"'"'s tmpfs stays after it ended")'
		echo "MOUNTED $(grep -c " /tmp/adopt-" /proc/self/mountinfo || true)"`)
	cmd.Env = append(os.Environ(), "NSH="+nshBin, "NSH_STATE_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var dir string
	for _, l := range strings.Split(string(out), "\n") {
		if d, ok := strings.CutPrefix(l, "DIR "); ok {
			dir = d
		}
	}
	if dir == "" || strings.Contains(string(out), "cleanup") || !strings.Contains(string(out), "MOUNTED 0") {
		t.Errorf("want the tmpfs undone, then the directory, without errors:\n%s", out)
	}
	if exists(dir) {
		t.Errorf("%s is left", dir)
	}
}
