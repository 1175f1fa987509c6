package lua

import (
	"strconv"
	"strings"
	"testing"

	"nsh/runtime/sysv"
)

func TestSysIPCErrors(t *testing.T) {
	s := newTestSession(t)
	expectErrors(t, s, [][2]string{
		{`sys.semget(2147400001)`, `sys.semget: semget(2147400001, 1): ENOENT: no semaphore set with that key in this IPC namespace`},
		{`sys.semget(0, 0, true)`, `bad argument #2 to 'sys.semget' (nsems must be a whole number from 1`},
		{`local s = sys.semget(0, 1, true); sys.semop(s, 0, -1)`, `EAGAIN: the operation would block (a semaphore would go below 0), and nsh never waits (IPC_NOWAIT)`},
		{`local s = sys.semget(0, 1, true); sys.semval(s, 1)`, `sys.semval: semctl(`},
		{`sys.semop(2147483000, 0, 1)`, `sys.semop: semop(2147483000, {0, +1}): EINVAL`},
		{`sys.shmget(2147400001)`, `sys.shmget: shmget(2147400001, 4096): ENOENT: no shared memory segment with that key`},
		{`local m = sys.shmget(0, 16, true); sys.shmat(m, 10, "too long")`, `bad argument #3 to 'sys.shmat' (bytes 10..18 are outside the segment of 16 bytes)`},
		{`local m = sys.shmget(0, 16, true); sys.shmat(m, 0)`, `bad argument #3 to 'sys.shmat' (text to write or a length to read expected, got no value)`},
		{`sys.shmrm(2147483000)`, `sys.shmrm: shmctl(2147483000, IPC_RMID): EINVAL`},
	})
}

func TestSysIPC(t *testing.T) {
	s := newTestSession(t)
	run(t, s, `
		local sem = sys.semget(0, 2, true)
		sys.semop(sem, 1, 2); sys.semop(sem, 1, -1)
		assert(sys.semval(sem, 1) == 1 and sys.semval(sem, 0, 7) == 7)
		local shm = sys.shmget(0, 64, true)
		assert(sys.shmat(shm, 3, "abc") == "abc" and sys.shmat(shm, 0, 6) == "\0\0\0abc")
		local kinds = {}
		for _, o in ipairs(sys.ipcs()) do
			if o.id == sem and o.kind == "sem" then kinds.sem = o.size end
			if o.id == shm and o.kind == "shm" then kinds.shm = o.size; assert(o.perms == "0600") end
		end
		assert(kinds.sem == 2 and kinds.shm == 64)
		sys.semrm(sem); sys.shmrm(shm)
		local ok, err = pcall(sys.semval, sem, 0)
		assert(not ok and (err:find("EINVAL", 1, true) or err:find("EIDRM", 1, true)), err)
	`)
}

// TestSysIPCRemovedAtEnd: objects nsh made in the IPC namespace it started
// in are gone when the session closes; those removed by hand are not
// removed twice (Close reports no error).
func TestSysIPCRemovedAtEnd(t *testing.T) {
	s, err := NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	s.Stdout = &out
	if _, err := s.Run(`
		local a = sys.semget(0, 1, true)
		local b = sys.shmget(0, 4096, true)
		local c = sys.semget(0, 1, true); sys.semrm(c)
		print(a, b)`, "t"); err != nil {
		t.Fatal(err)
	}
	if errs := s.Close(); len(errs) > 0 {
		t.Fatal(errs)
	}
	f := strings.Fields(out.String())
	objs, err := sysv.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Kind == "sem" && f[0] == strconv.Itoa(o.ID) || o.Kind == "shm" && f[1] == strconv.Itoa(o.ID) {
			t.Fatalf("%s %d was left behind", o.Kind, o.ID)
		}
	}
}
