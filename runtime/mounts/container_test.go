package mounts

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

type containerReport struct {
	Targets   map[string]string // mount point -> fstype
	Dev       []string          // names in /dev
	NullIsDev bool              // /dev/null is a character device 1:3
	NullWrite string            // error writing /dev/null, "" if fine
	Keys      string            // what reading masked /proc/keys gives
	KeysDev   bool              // /proc/keys is now the null device
	SysWrite  string            // error writing /proc/sys/kernel/hostname
	Firmware  int               // entries in masked /sys/firmware
	PtmxLink  string
	Status    map[string]string // CapEff, CapBnd, CapAmb, NoNewPrivs, Seccomp of /proc/thread-self/status
	Escapes   map[string]string // each way out tried, and the errno that stopped it ("" if it worked)
}

// tryEscapes is what a container's root tries to undo its set-up: each
// must fail (the protections' test; scripts/escape.lua shows them one by
// one).
func tryEscapes() map[string]string {
	res := map[string]string{}
	errno := func(err error) string {
		var e unix.Errno
		if errors.As(err, &e) {
			return unix.ErrnoName(e)
		}
		if err != nil {
			return err.Error()
		}
		return ""
	}
	res["umount /proc/sys"] = errno(unix.Unmount("/proc/sys", 0))
	res["umount /sys/firmware"] = errno(unix.Unmount("/sys/firmware", unix.MNT_DETACH))
	os.Mkdir("/tmp", 0o755)
	res["mount -t proc"] = errno(unix.Mount("proc", "/tmp", "proc", 0, ""))
	res["unshare user"] = errno(unix.Unshare(unix.CLONE_NEWUSER))
	res["sethostname"] = errno(unix.Sethostname([]byte("x")))
	res["init_module"] = errno(unix.InitModule(nil, ""))
	return res
}

func helperContainer(rootfs string) (any, error) {
	err := Container{
		Rootfs: rootfs, Proc: true, Sys: true, Dev: DevMinimal, DevPts: true, Shm: true, Mqueue: true,
		MaskPaths: DefaultMaskPaths, ReadonlyPaths: DefaultReadonlyPaths,
	}.Setup()
	if err != nil {
		return nil, err
	}
	r := containerReport{Targets: map[string]string{}}
	tab, err := List(0)
	if err != nil {
		return nil, err
	}
	for _, e := range tab {
		r.Targets[e.Target] = e.FSType
	}
	ents, _ := os.ReadDir("/dev")
	for _, e := range ents {
		r.Dev = append(r.Dev, e.Name())
	}
	var st unix.Stat_t
	if unix.Stat("/dev/null", &st) == nil {
		r.NullIsDev = st.Mode&unix.S_IFMT == unix.S_IFCHR && unix.Major(st.Rdev) == 1 && unix.Minor(st.Rdev) == 3
	}
	if err := os.WriteFile("/dev/null", []byte("x"), 0); err != nil {
		r.NullWrite = err.Error()
	}
	// /proc/kcore is absent on this kernel; /proc/keys is always there.
	if b, err := os.ReadFile("/proc/keys"); err == nil {
		r.Keys = string(b)
	} else {
		r.Keys = err.Error()
	}
	if unix.Stat("/proc/keys", &st) == nil {
		r.KeysDev = st.Mode&unix.S_IFMT == unix.S_IFCHR
	}
	err = os.WriteFile("/proc/sys/kernel/hostname", []byte("x"), 0)
	if errors.Is(err, unix.EROFS) {
		r.SysWrite = "EROFS"
	} else if err != nil {
		r.SysWrite = err.Error()
	}
	fw, _ := os.ReadDir("/sys/firmware")
	r.Firmware = len(fw)
	r.PtmxLink, _ = os.Readlink("/dev/ptmx")
	r.Status = map[string]string{}
	// the thread that did the set-up (locked: the one that would execve);
	// the bounding set is cut on it alone
	if b, err := os.ReadFile("/proc/thread-self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				switch k {
				case "CapEff", "CapBnd", "CapAmb", "CapPrm", "NoNewPrivs", "Seccomp":
					r.Status[k] = strings.TrimSpace(v)
				}
			}
		}
	}
	r.Escapes = tryEscapes()
	return r, nil
}

func checkContainer(t *testing.T, r containerReport) {
	t.Helper()
	for target, fstype := range map[string]string{
		"/": "", "/proc": "proc", "/sys": "sysfs", "/dev": "tmpfs", "/dev/pts": "devpts",
		"/dev/shm": "tmpfs", "/dev/mqueue": "mqueue", "/proc/sys": "proc", "/sys/firmware": "tmpfs", "/proc/keys": "",
	} {
		got, ok := r.Targets[target]
		if !ok || (fstype != "" && got != fstype) {
			t.Errorf("mount %s: got %q (present %v), want %q", target, got, ok, fstype)
		}
	}
	want := "full fd null ptmx pts random shm stderr stdin stdout tty urandom zero"
	for _, n := range strings.Fields(want) {
		if !strings.Contains(" "+strings.Join(r.Dev, " ")+" ", " "+n+" ") {
			t.Errorf("/dev lacks %s (has %v)", n, r.Dev)
		}
	}
	if !r.NullIsDev || r.NullWrite != "" {
		t.Errorf("/dev/null: char 1:3 %v, write error %q", r.NullIsDev, r.NullWrite)
	}
	if r.Keys != "" || !r.KeysDev {
		t.Errorf("/proc/keys not masked: reads %q, null device %v", r.Keys, r.KeysDev)
	}
	if r.SysWrite != "EROFS" {
		t.Errorf("write /proc/sys/kernel/hostname: %q, want EROFS", r.SysWrite)
	}
	if r.Firmware != 0 {
		t.Errorf("/sys/firmware shows %d entries, want 0 (masked)", r.Firmware)
	}
	if r.PtmxLink != "pts/ptmx" {
		t.Errorf("/dev/ptmx -> %q, want pts/ptmx", r.PtmxLink)
	}
	// Docker's 14 capabilities: chown dac_override fowner fsetid kill setgid
	// setuid setpcap net_bind_service net_raw sys_chroot mknod audit_write setfcap
	const defaultCaps = "00000000a80425fb"
	for _, k := range []string{"CapEff", "CapPrm", "CapBnd"} {
		if r.Status[k] != defaultCaps {
			t.Errorf("%s = %q, want %s (the default set)", k, r.Status[k], defaultCaps)
		}
	}
	if r.Status["CapAmb"] != "0000000000000000" || r.Status["NoNewPrivs"] != "1" || r.Status["Seccomp"] != "2" {
		t.Errorf("CapAmb %q NoNewPrivs %q Seccomp %q, want none, 1 and 2 (filter)", r.Status["CapAmb"], r.Status["NoNewPrivs"], r.Status["Seccomp"])
	}
	for what, errno := range r.Escapes {
		if errno != "EPERM" {
			t.Errorf("%s inside the container: %q, want EPERM", what, errno)
		}
	}
	t.Logf("escapes refused: %v", r.Escapes)
}

func TestContainerSetup(t *testing.T) {
	needRoot(t)
	var r containerReport
	flags := uintptr(syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC)
	if err := runChild(t, "container", t.TempDir(), &syscall.SysProcAttr{Cloneflags: flags}, &r); err != nil {
		t.Fatal(err)
	}
	checkContainer(t, r)
	t.Logf("mounts: %v", r.Targets)
}

// TestContainerSetupUserns runs the same set-up inside a user namespace:
// mknod fails there with EPERM, so the nodes are host nodes bound on files.
func TestContainerSetupUserns(t *testing.T) {
	needRoot(t)
	var r containerReport
	attr := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
			syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	}
	dir := t.TempDir()
	if err := runChild(t, "container", dir, attr, &r); err != nil {
		if strings.Contains(err.Error(), "CLONE_NEWUSER") || errors.Is(err, unix.EPERM) {
			t.Skipf("no user namespaces here: %v", err)
		}
		t.Fatal(err)
	}
	checkContainer(t, r)
}

// TestDevtmpfsUserns checks the rule attached to devtmpfs's EPERM.
func TestDevtmpfsUserns(t *testing.T) {
	needRoot(t)
	attr := &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	}
	var r map[string]string
	err := runChild(t, "devtmpfs", t.TempDir(), attr, &r)
	if err == nil {
		t.Fatal("devtmpfs mounted inside a user namespace; want EPERM")
	}
	if !strings.Contains(err.Error(), "EPERM") || !strings.Contains(err.Error(), "FS_USERNS_MOUNT") {
		t.Fatalf("error %q lacks EPERM and the FS_USERNS_MOUNT rule", err)
	}
	t.Log(err)
}
