package nsproc

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSessionsAndGroups(t *testing.T) {
	sid, err := Getsid(0)
	if err != nil || sid < 0 {
		t.Fatalf("getsid(0) = %d, %v", sid, err)
	}
	if _, err := Getsid(1 << 22); !errors.Is(err, unix.ESRCH) {
		t.Fatalf("getsid of no process: %v", err)
	}
	if g, err := Getpgid(0); err != nil || g != syscall.Getpgrp() {
		t.Fatalf("getpgid(0) = %d, %v", g, err)
	}
	if err := Setpgid(1, 1); !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.EPERM) {
		t.Fatalf("setpgid of a process not our child: %v", err)
	}
	// a child that executed a program can no longer be moved (EACCES)
	cmd := exec.Command("/bin/sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; i < 100; i++ { // wait until it has executed sleep
		if exe, _ := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe"); exe == "/bin/sleep" || exe == "/usr/bin/sleep" {
			break
		}
		unix.Nanosleep(&unix.Timespec{Nsec: 1e7}, nil)
	}
	if err := Setpgid(cmd.Process.Pid, 0); !errors.Is(err, unix.EACCES) {
		t.Fatalf("setpgid of a child after execve: want EACCES, got %v", err)
	}
	// a child in a session of its own: session and group are its pid
	c2 := exec.Command("/bin/sleep", "10")
	c2.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c2.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c2.Process.Kill(); c2.Wait() }()
	if sid, err := Getsid(c2.Process.Pid); err != nil || sid != c2.Process.Pid {
		t.Fatalf("getsid of a setsid child = %d, %v", sid, err)
	}
}
