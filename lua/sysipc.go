package lua

import (
	"fmt"

	"nsh/runtime/leftover"
	"nsh/runtime/nsproc"
	"nsh/runtime/sysv"

	glua "github.com/yuin/gopher-lua"
)

// System V semaphores and shared memory of the sys module, and the listing
// of all three kinds (beside sys.go, which keeps the message queues: the sys
// module's records by topic). What nsh creates in the IPC namespace it
// started in (the host's, which outlives nsh) is removed when the session
// ends; objects of a namespace nsh moved into go with that namespace.

func (s *Session) sysIPCFuncs() []Func {
	return []Func{
		{Name: "semget", Args: "(key, [nsems], [create])", Fn: s.sysSemget,
			Doc: "Opens (with create=true, creates, mode 0600) a System V semaphore set of nsems (default 1) semaphores, each starting at 0, in the shell's IPC namespace; key 0 is IPC_PRIVATE (always new). Returns its id. " +
				"A set nsh creates in the IPC namespace it started in is removed when nsh ends.",
			Example: "ns.unshare(\"ipc\")\nlocal sem = sys.semget(0, 1, true)\nsys.semop(sem, 0, 1); print(sys.semval(sem, 0))"},
		{Name: "semop", Args: "(id, num, op)", Fn: s.sysSemop,
			Doc:     "semop(2) on semaphore num: adds op (negative takes). It never waits: EAGAIN where the kernel would block (a value below 0).",
			Example: "local sem = sys.semget(0, 1, true)\nprint(pcall(sys.semop, sem, 0, -1))  -- EAGAIN\nsys.semrm(sem)"},
		{Name: "semval", Args: "(id, num, [value])", Fn: s.sysSemval,
			Doc: "The value of semaphore num (semctl GETVAL); with a value, sets it first (SETVAL).", Example: "local sem = sys.semget(0, 1, true)\nprint(sys.semval(sem, 0, 3))\nsys.semrm(sem)"},
		{Name: "semrm", Args: "(id)", Fn: s.ipcRemove("semaphore set", sysv.Semrm), Doc: "Removes a semaphore set (IPC_RMID).", Example: "sys.semrm(sys.semget(0, 1, true))"},
		{Name: "shmget", Args: "(key, [size], [create])", Fn: s.sysShmget,
			Doc: "Opens (with create=true, creates, mode 0600, zero-filled) a System V shared memory segment of size bytes (default 4096) in the shell's IPC namespace; key 0 is IPC_PRIVATE. Returns its id. " +
				"A segment nsh creates in the IPC namespace it started in is removed when nsh ends.",
			Example: "local shm = sys.shmget(0, 4096, true)\nsys.shmat(shm, 0, \"hello\")\nprint(sys.shmat(shm, 0, 5))\nsys.shmrm(shm)"},
		{Name: "shmat", Args: "(id, offset, text | length)", Fn: s.sysShmat,
			Doc:     "Attaches the segment (shmat(2)), writes text at offset (returning it) or reads length bytes from offset, and detaches again. Processes attached to the same id in one IPC namespace share the bytes.",
			Example: "local shm = sys.shmget(0, 64, true)\nsys.shmat(shm, 8, \"shared\")\nprint(sys.shmat(shm, 8, 6))\nsys.shmrm(shm)"},
		{Name: "shmrm", Args: "(id)", Fn: s.ipcRemove("shared memory segment", sysv.Shmrm), Doc: "Removes a shared memory segment (IPC_RMID: it goes when the last process detaches).", Example: "sys.shmrm(sys.shmget(0, 4096, true))"},
		{Name: "ipcs", Args: "()", Fn: s.sysIpcs,
			Doc: "The System V objects of the shell's IPC namespace, as ipcs(1) lists them (/proc/sysvipc/msg, sem, shm): {kind=\"msg\"|\"sem\"|\"shm\", key=, id=, perms=\"0600\", uid=, size=} " +
				"(size: messages, semaphores or bytes).",
			Example: "ns.unshare(\"ipc\")\nsys.semget(0, 1, true)\nfor _, o in ipairs(sys.ipcs()) do print(o.kind, o.id, o.size) end"},
	}
}

// keepIPC registers the removal of an object nsh created, when it lives in
// an IPC namespace that outlives nsh (the one it started in; a child's own
// from its clone goes with the child). The journal names the object by its
// identity, not just its id (ids are reused): runtime/sysv.Ident.
func (s *Session) keepIPC(what, kind string, id int) {
	home := s.Home.IDs()["ipc"]
	if cur, err := nsproc.ID(0, "ipc"); err != nil || cur != home || (s.Child && nsproc.CreatedByClone().Has(nsproc.IPC)) {
		return
	}
	rec, ok := leftover.IPCRecord(kind, id)
	undo := func() error {
		if cur, err := nsproc.ID(0, "ipc"); err == nil && cur != home {
			return fmt.Errorf("System V %s %d: the shell is no longer in the IPC namespace it was made in; remove it with ipcrm", what, id)
		}
		if !ok { // no identity to prove (no /proc/sysvipc): by id, as this nsh made it
			return sysv.Remove(kind, id)
		}
		_, err := sysv.RemoveIfSame(leftover.IPCIdent(rec))
		return err
	}
	if !ok {
		s.ipcObjects[fmt.Sprint(what, id)] = s.Reg.Add(fmt.Sprintf("System V %s %d", what, id), undo)
		return
	}
	s.ipcObjects[fmt.Sprint(what, id)] = s.Reg.Add(fmt.Sprintf("System V %s %d", what, id), undo, rec)
}

// reidentifyIPC writes down the new identity of an object nsh made after
// nsh itself changed its ctime (semctl SETVAL does).
func (s *Session) reidentifyIPC(what, kind string, id int) {
	it, ok := s.ipcObjects[fmt.Sprint(what, id)]
	if !ok {
		return
	}
	// the new record first: between the two, the sweep would find the
	// object under its new identity (the old one no longer matches)
	delete(s.ipcObjects, fmt.Sprint(what, id))
	s.keepIPC(what, kind, id)
	it.Forget()
}

func (s *Session) sysSemget(L *glua.LState) int {
	key := ipcID(L, 1, "key")
	n := argOptInt(L, 2, "nsems", 1, 1, 32000)
	id, created, err := sysv.Semget(key, n, argBool(L, 3, "create", false))
	if err != nil {
		return raiseErr(L, err)
	}
	if created {
		s.keepIPC("semaphore set", "sem", id)
	}
	L.Push(glua.LNumber(id))
	return 1
}

func (s *Session) sysSemop(L *glua.LState) int {
	if err := sysv.Semop(ipcID(L, 1, "id"), argInt(L, 2, "num", 0, 31999), argInt(L, 3, "op", -32767, 32767)); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) sysSemval(L *glua.LState) int {
	id, num := ipcID(L, 1, "id"), argInt(L, 2, "num", 0, 31999)
	set := L.Get(3) != glua.LNil
	v, err := sysv.Semval(id, num, set, argOptInt(L, 3, "value", 0, 0, 32767))
	if err != nil {
		return raiseErr(L, err)
	}
	if set {
		s.reidentifyIPC("semaphore set", "sem", id)
	}
	L.Push(glua.LNumber(v))
	return 1
}

// ipcRemove binds an IPC_RMID call; what nsh removed by hand it no longer
// removes at the end.
func (s *Session) ipcRemove(what string, fn func(int) error) glua.LGFunction {
	return func(L *glua.LState) int {
		id := ipcID(L, 1, "id")
		if err := fn(id); err != nil {
			return raiseErr(L, err)
		}
		if it, ok := s.ipcObjects[fmt.Sprint(what, id)]; ok {
			it.Forget()
			delete(s.ipcObjects, fmt.Sprint(what, id))
		}
		return 0
	}
}

func (s *Session) sysShmget(L *glua.LState) int {
	key := ipcID(L, 1, "key")
	size := argOptInt(L, 2, "size", 4096, 1, 1<<30)
	id, created, err := sysv.Shmget(key, size, argBool(L, 3, "create", false))
	if err != nil {
		return raiseErr(L, err)
	}
	if created {
		s.keepIPC("shared memory segment", "shm", id)
	}
	L.Push(glua.LNumber(id))
	return 1
}

func (s *Session) sysShmat(L *glua.LState) int {
	id := ipcID(L, 1, "id")
	off := argInt(L, 2, "offset", 0, 1<<30)
	var data []byte
	n := 0
	switch v := L.Get(3).(type) {
	case glua.LString:
		data = []byte(v)
	case glua.LNumber:
		n = argInt(L, 3, "length", 0, 1<<30)
	default:
		return argErr(L, 3, "text to write or a length to read expected, got "+describe(v))
	}
	b, err := sysv.Shm(id, off, data, n)
	if err != nil {
		return inputErr(L, 3, err)
	}
	L.Push(glua.LString(b))
	return 1
}

func (s *Session) sysIpcs(L *glua.LState) int {
	objs, err := sysv.Objects()
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.CreateTable(len(objs), 0)
	for _, o := range objs {
		r := L.CreateTable(0, 6)
		r.RawSetString("kind", glua.LString(o.Kind))
		r.RawSetString("key", glua.LNumber(o.Key))
		r.RawSetString("id", glua.LNumber(o.ID))
		r.RawSetString("perms", glua.LString(fmt.Sprintf("%04o", o.Perms)))
		r.RawSetString("uid", glua.LNumber(o.UID))
		r.RawSetString("size", glua.LNumber(o.Size))
		t.Append(r)
	}
	L.Push(t)
	return 1
}
