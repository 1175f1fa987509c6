package sysv

import (
	"errors"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// inOwnIPC runs the test on a thread in a new IPC namespace (root), or in
// the host's with private keys (a user).
func inOwnIPC(t *testing.T) {
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWIPC); err != nil {
		t.Log("unshare(ipc):", err, "- using IPC_PRIVATE objects in the current namespace")
		t.Cleanup(runtime.UnlockOSThread)
		return
	}
	// the thread stays locked, so it exits with the test's goroutine
}

func TestSemaphores(t *testing.T) {
	inOwnIPC(t)
	id, created, err := Semget(0, 2, true)
	if err != nil || !created {
		t.Fatal(err, created)
	}
	defer Semrm(id)
	if err := Semop(id, 0, -1); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("taking a semaphore at 0: want EAGAIN, got %v", err)
	}
	if err := Semop(id, 1, 3); err != nil {
		t.Fatal(err)
	}
	if v, err := Semval(id, 1, false, 0); err != nil || v != 3 {
		t.Fatalf("GETVAL = %d, %v", v, err)
	}
	if v, err := Semval(id, 0, true, 5); err != nil || v != 5 {
		t.Fatalf("SETVAL 5 = %d, %v", v, err)
	}
	if _, err := Semval(id, 2, false, 0); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("semaphore 2 of 2: want EINVAL, got %v", err)
	}
	objs, err := Objects()
	found := false
	for _, o := range objs {
		found = found || o.Kind == "sem" && o.ID == id && o.Size == 2 && o.Perms == 0o600
	}
	if err != nil || !found {
		t.Fatalf("listing lacks the set: %+v %v", objs, err)
	}
	if err := Semrm(id); err != nil {
		t.Fatal(err)
	}
	if err := Semop(id, 0, 1); !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EIDRM) {
		t.Fatalf("semop on a removed set: %v", err)
	}
}

func TestSharedMemory(t *testing.T) {
	inOwnIPC(t)
	id, _, err := Shmget(0, 4096, true)
	if err != nil {
		t.Fatal(err)
	}
	defer Shmrm(id)
	if _, err := Shm(id, 10, []byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	if b, err := Shm(id, 10, nil, 5); err != nil || string(b) != "hello" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if _, err := Shm(id, 4095, nil, 2); err == nil {
		t.Fatal("a read past the end accepted")
	}
	if _, _, err := Shmget(0x7fffabcd, 4096, false); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("shmget of no key: want ENOENT, got %v", err)
	}
	if err := Shmrm(id); err != nil {
		t.Fatal(err)
	}
	if _, err := Shm(id, 0, nil, 1); !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EIDRM) {
		t.Fatalf("shmat of a removed segment: %v", err)
	}
}
