package leftover

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"nsh/runtime/cleanup"
	"nsh/runtime/sysv"

	"golang.org/x/sys/unix"
)

// inIPCNS runs fn on a locked thread in a new IPC namespace of its own
// (the thread ends with it), so the test's System V ids are its own.
func inIPCNS(t *testing.T, fn func() error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: a new IPC namespace needs CAP_SYS_ADMIN")
	}
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with its namespace
		if err := unix.Unshare(unix.CLONE_NEWIPC); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSweepProvesIPC: a recorded System V object is removed while it is
// the one recorded; once its id belongs to another object (recreated at
// the same id through kernel.*_next_id, by nsh with another key or by
// util-linux ipcmk), the sweep leaves that object alone. Kernel state is
// read back from /proc/sysvipc each time.
func TestSweepProvesIPC(t *testing.T) {
	inIPCNS(t, func() error {
		for _, kind := range []string{"sem", "shm", "msg"} {
			// the normal case: made, recorded, swept
			id, err := create(kind, 0x6e7368)
			if err != nil {
				return err
			}
			rec, ok := IPCRecord(kind, id)
			if !ok {
				return fmt.Errorf("%s %d: no identity", kind, id)
			}
			if done, err := Undo(rec); !done || err != nil {
				return fmt.Errorf("%s %d, still the recorded one: removed %v, %v", kind, id, done, err)
			}
			if listed(kind, id) {
				return fmt.Errorf("%s %d is still listed after the sweep", kind, id)
			}
			// the id reused: another key, then another creator (ipcmk)
			for _, maker := range []string{"nsh", "ipcmk"} {
				if maker == "ipcmk" {
					if _, err := exec.LookPath("ipcmk"); err != nil {
						continue
					}
				}
				id, err := create(kind, 0x6e7369)
				if err != nil {
					return err
				}
				rec, _ := IPCRecord(kind, id)
				if err := remove(kind, id); err != nil { // by hand (ipcrm)
					return err
				}
				if err := os.WriteFile("/proc/sys/kernel/"+kind+"_next_id", []byte(strconv.Itoa(id)), 0); err != nil {
					return err
				}
				var other int
				if maker == "nsh" {
					other, err = create(kind, 0x6e736a)
				} else {
					other, err = ipcmk(kind)
				}
				if err != nil {
					return err
				}
				if other != id {
					return fmt.Errorf("%s: %s_next_id gave id %d, not %d", kind, kind, other, id)
				}
				if done, err := Undo(rec); done || err != nil {
					return fmt.Errorf("%s %d now %s's: removed %v, %v", kind, id, maker, done, err)
				}
				if !listed(kind, id) {
					return fmt.Errorf("the sweep removed %s %d, which %s made under the reused id", kind, id, maker)
				}
				remove(kind, id)
			}
		}
		return nil
	})
}

func create(kind string, key int) (int, error) {
	var id int
	var err error
	switch kind {
	case "sem":
		id, _, err = sysv.Semget(key, 1, true)
	case "shm":
		id, _, err = sysv.Shmget(key, 4096, true)
	default:
		id, _, err = sysv.Msgget(key, true)
	}
	return id, err
}

func remove(kind string, id int) error {
	switch kind {
	case "sem":
		return sysv.Semrm(id)
	case "shm":
		return sysv.Shmrm(id)
	}
	return sysv.Msgrm(id)
}

// ipcmk makes an object with util-linux ipcmk (another process, another
// key) in the calling thread's IPC namespace and returns its id.
func ipcmk(kind string) (int, error) {
	flag := map[string]string{"sem": "-S1", "shm": "-M4096", "msg": "-Q"}[kind]
	out, err := exec.Command("ipcmk", flag).Output()
	if err != nil {
		return 0, fmt.Errorf("ipcmk %s: %v", flag, err)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return 0, fmt.Errorf("ipcmk %s printed %q", flag, out)
	}
	return strconv.Atoi(f[len(f)-1])
}

func listed(kind string, id int) bool {
	objs, _ := sysv.Objects()
	for _, o := range objs {
		if o.Kind == kind && o.ID == id {
			return true
		}
	}
	return false
}

// TestSweepProvesPaths: a recorded directory, cgroup-like directory or
// pin file is removed while it is the one recorded, and left alone when
// another of the same name took its place.
func TestSweepProvesPaths(t *testing.T) {
	base := t.TempDir()
	d := filepath.Join(base, "d")
	os.Mkdir(d, 0o755)
	rec := Identify(cleanup.Record{Kind: "dir", Path: d, NS: cleanup.ThreadNS("mnt")})
	os.Remove(d)
	time.Sleep(50 * time.Millisecond) // later (timestamps are coarse: one tick)
	os.Mkdir(d, 0o755)                // another directory, the same name (and often the same inode)
	if done, err := Undo(rec); done || err != nil || !exists(d) {
		t.Fatalf("another's directory at the recorded path: removed %v, %v, exists %v", done, err, exists(d))
	}
	rec = Identify(cleanup.Record{Kind: "dir", Path: d, NS: cleanup.ThreadNS("mnt")})
	if done, err := Undo(rec); !done || err != nil || exists(d) {
		t.Fatalf("the recorded directory: removed %v, %v, exists %v", done, err, exists(d))
	}
	p := filepath.Join(base, "pin")
	os.WriteFile(p, nil, 0o444)
	rec = Identify(cleanup.Record{Kind: "pin", Path: p, NS: cleanup.ThreadNS("mnt")})
	os.Remove(p)
	time.Sleep(50 * time.Millisecond)
	os.WriteFile(p, nil, 0o444)
	if done, err := Undo(rec); done || err != nil || !exists(p) {
		t.Fatalf("another's pin file: removed %v, %v, exists %v (%+v)", done, err, exists(p), rec)
	}
}

// TestSweepPinBoundAfterRecord: a lab's pin recorded as its file, then
// bound to a namespace before nsh could note it again (SIGKILL in
// between): the sweep finds the recorded file beneath the mount and
// removes the pin; a pin bound on another's file of that name is left.
func TestSweepPinBoundAfterRecord(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind-mount a namespace file")
	}
	base := t.TempDir()
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		done <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
				return err
			}
			if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
				return err
			}
			ns := cleanup.ThreadNS("mnt")
			mine, theirs := filepath.Join(base, "mine"), filepath.Join(base, "theirs")
			os.WriteFile(mine, nil, 0o444)
			rec := Identify(cleanup.Record{Kind: "pin", Path: mine, NS: ns})
			os.WriteFile(theirs, nil, 0o444)
			other := Identify(cleanup.Record{Kind: "pin", Path: theirs, NS: ns})
			os.Remove(theirs)
			time.Sleep(50 * time.Millisecond)
			os.WriteFile(theirs, nil, 0o444) // another's file now
			for _, p := range []string{mine, theirs} {
				if err := unix.Mount("/proc/thread-self/ns/uts", p, "", unix.MS_BIND, ""); err != nil {
					return err
				}
			}
			if done, err := Undo(rec); !done || err != nil || exists(mine) {
				return fmt.Errorf("the recorded pin file under its bind mount: removed %v, %v, exists %v", done, err, exists(mine))
			}
			if done, err := Undo(other); done || err != nil || !exists(theirs) {
				return fmt.Errorf("another's pin: removed %v, %v", done, err)
			}
			unix.Unmount(theirs, unix.MNT_DETACH)
			return nil
		}()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
