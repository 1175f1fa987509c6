package lua

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"nsh/runtime/cleanup"
	"nsh/runtime/kerr"
	"nsh/runtime/nsproc"
	"nsh/runtime/procview"
	"nsh/runtime/sysv"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

func (s *Session) sysModule() *Module {
	return &Module{
		Name: "sys",
		Doc:  "The basics experiments need: host and domain names, uname, running and executing programs, ids, capabilities, sleeping, System V message queues, semaphores and shared memory, POSIX message queues, sessions and process groups, and the file calls (stat, readdir, mkdir, mknod, chroot, open/close, ...).",
		Funcs: append([]Func{
			{Name: "hostname", Args: "([name], [{host=true}])", Fn: s.sysName("hostname"),
				Doc: "Returns the hostname of the shell's UTS namespace; with a name, sets it first (sethostname(2): needs CAP_SYS_ADMIN over that namespace). " +
					"In the host's UTS namespace (the one nsh started in) setting it is refused unless {host=true} is given, and nsh puts the old name back when it ends; " +
					"ns.unshare(\"uts\") first to leave the host's alone.",
				Example: "ns.unshare(\"uts\"); sys.hostname(\"inside\"); print(sys.hostname())"},
			{Name: "domainname", Args: "([name], [{host=true}])", Fn: s.sysName("domainname"),
				Doc: "Returns (and with a name, sets) the NIS domain name of the shell's UTS namespace; in the host's, only with {host=true} (undone when nsh ends), as sys.hostname.", Example: "print(sys.domainname())"},
			{Name: "uname", Args: "()", Fn: s.sysUname,
				Doc: "uname(2) as a table: sysname, nodename, release, version, machine, domainname.", Example: "print(sys.uname().nodename)"},
			{Name: "run", Args: "(command | {argv...}, [{stdin=string, env=table, ns=handle|pid}])", Fn: s.sysRun,
				Doc:     "Runs a command in the shell's current namespaces and returns its output, exit code and error output. A string runs through /bin/sh -c; a table is argv. With ns= a process handle or pid it runs in every namespace of that process instead, as `nsenter -t PID -a` does (its user and time namespaces through nsenter(1), since a multithreaded nsh cannot join them; in a new mount namespace it starts in /).",
				Example: "local out, code = sys.run(\"ip -o link\")\nprint(out)"},
			{Name: "exec", Args: "(argv... | {argv...})", Fn: s.sysExec,
				Doc:     "Replaces this process with a program (execve(2)): the program keeps nsh's PID and namespaces. nsh's cleanup runs first. In a clone child this is how a container's init becomes the shell (PID 1) instead of forking it (PID 2+).",
				Example: "ns.clone(\"pid\", function() sys.exec(\"/bin/sh\", \"-c\", \"echo my pid is $$\") end):wait()"},
			{Name: "now", Args: "()", Fn: s.sysNow,
				Doc:     "Seconds on a monotonic clock (fractions included), for timing: the difference of two calls is the wall-clock time between them.",
				Example: "local t0 = sys.now()\nns.spawn{\"/bin/true\", ns = \"pid\"}:wait()\nprint(sys.now() - t0)"},
			{Name: "sleep", Args: "(seconds)", Fn: s.sysSleep,
				Doc: "Sleeps (fractions allowed); Ctrl-C interrupts it.", Example: "sys.sleep(0.5)"},
			{Name: "getuid", Args: "()", Fn: s.sysID(unix.Getuid), Doc: "The real uid, as this process's user namespace sees it.", Example: "print(sys.getuid())"},
			{Name: "geteuid", Args: "()", Fn: s.sysID(unix.Geteuid), Doc: "The effective uid.", Example: "print(sys.geteuid())"},
			{Name: "getgid", Args: "()", Fn: s.sysID(unix.Getgid), Doc: "The real gid.", Example: "print(sys.getgid())"},
			{Name: "getegid", Args: "()", Fn: s.sysID(unix.Getegid), Doc: "The effective gid.", Example: "print(sys.getegid())"},
			{Name: "caps", Args: "([pid])", Fn: s.sysCaps,
				Doc:     "The capabilities of a process (default: the shell's thread): {effective={names}, permitted={...}, bounding={...}, all=bool}. Capabilities are relative to the process's user namespace.",
				Example: "print(table.concat(sys.caps().effective, \" \"))"},
			{Name: "readlink", Args: "(path)", Fn: s.sysReadlink,
				Doc:     "The target of a symbolic link (readlink(2)), e.g. /proc/PID/exe or /proc/PID/ns/net; nil and the error when it cannot be read.",
				Example: "print(sys.readlink(\"/proc/self/ns/uts\"))"},
			{Name: "kill", Args: "(pid, [sig])", Fn: s.sysKill,
				Doc: "Sends a signal (kill(2)); default SIGTERM. pid: a process (a pid or handle), 0 the shell's process group, -1 every process the shell may signal " +
					"except itself and its PID namespace's init (ESRCH when there is none: a lone init), -pgid a process group.",
				Example: "local h = ns.spawn{\"/bin/sleep\", \"30\", setsid = true}\nsys.kill(-h.pid, \"KILL\")  -- its whole group\nh:wait()"},
			{Name: "msgget", Args: "(key, [create])", Fn: s.sysMsgget,
				Doc: "Opens (with create=true, creates, mode 0600) a System V message queue in the shell's IPC namespace; returns its id. A queue nsh creates in the IPC namespace it started in is removed when nsh ends.", Example: "local q = sys.msgget(1234, true)"},
			{Name: "msgsnd", Args: "(id, text, [type])", Fn: s.sysMsgsnd, Doc: "Sends a message to a System V queue.", Example: "local q = sys.msgget(1236, true)\nsys.msgsnd(q, \"hello\")\nsys.msgrm(q)"},
			{Name: "msgrcv", Args: "(id, [type])", Fn: s.sysMsgrcv, Doc: "Receives a message without waiting; nil when the queue is empty.", Example: "local q = sys.msgget(1234, true)\nsys.msgsnd(q, \"hello\")\nprint(sys.msgrcv(q))\nsys.msgrm(q)"},
			{Name: "msgrm", Args: "(id)", Fn: s.ipcRemove("message queue", sysv.Msgrm), Doc: "Removes a System V queue (IPC_RMID).", Example: "local q = sys.msgget(1235, true)\nsys.msgrm(q)"},
			{Name: "msgqueues", Args: "()", Fn: s.sysMsgqueues,
				Doc: "The System V message queues of the shell's IPC namespace (/proc/sysvipc/msg): a list of {key=, id=, messages=}.", Example: "print(#sys.msgqueues())"},
			{Name: "mq_open", Args: "(name, [create])", Fn: s.sysMqOpen,
				Doc: "Opens (creates) a POSIX message queue \"/name\" in the shell's IPC namespace and closes it again; returns true, or nil and the errno name.", Example: "sys.mq_open(\"/nsh\", true)"},
			{Name: "mq_unlink", Args: "(name)", Fn: s.sysMqUnlink, Doc: "Removes a POSIX message queue.", Example: "sys.mq_open(\"/nsh\", true)\nsys.mq_unlink(\"/nsh\")"},
		}, append(append(s.sysProcFuncs(), s.sysIPCFuncs()...), s.sysFileFuncs()...)...),
	}
}

func (s *Session) sysName(which string) glua.LGFunction {
	set := nsproc.SetHostname
	if which == "domainname" {
		set = nsproc.SetDomainname
	}
	return func(L *glua.LState) int {
		if L.Get(1) != glua.LNil {
			name := argOptString(L, 1, "name", "")
			host := argOptions(L, 2, "host").Bool("host", false)
			if err := nsproc.CheckUTSName(which, name); err != nil {
				return inputErr(L, 1, err, hint(L, err))
			}
			if s.hostUTS() {
				if !host {
					return argErr(L, 1, fmt.Sprintf("the shell is in the host's UTS namespace (the one nsh started in): setting the %s "+
						"would rename the machine for every process; ns.unshare(\"uts\") first, or pass {host=true} to change the host's "+
						"(undone when nsh ends)", which))
				}
				if err := s.keepHostName(which); err != nil {
					return raiseErr(L, err)
				}
			}
			if err := set(name); err != nil {
				return inputErr(L, 1, err, hint(L, err))
			}
		}
		u, err := nsproc.Uname()
		if err != nil {
			return raiseErr(L, err)
		}
		if which == "hostname" {
			L.Push(glua.LString(u["nodename"]))
		} else {
			L.Push(glua.LString(u["domainname"]))
		}
		return 1
	}
}

// hostUTS says whether the Lua thread is in the host's UTS namespace (see
// nsproc.Home.HostUTS): in a child too, which knows it from its parent.
func (s *Session) hostUTS() bool {
	return s.Home.HostUTS()
}

// keepHostName registers, on the first change of the host's hostname or
// domainname (which), the undo that puts the name back when nsh ends, into
// the namespace it was changed in.
func (s *Session) keepHostName(which string) error {
	if s.hostNames == nil {
		s.hostNames = map[string]bool{}
	}
	if s.hostNames[which] {
		return nil
	}
	u, err := nsproc.Uname()
	if err != nil {
		return err
	}
	old := u["nodename"]
	if which == "domainname" {
		old = u["domainname"]
	}
	ns, err := nsproc.OpenUTS()
	if err != nil {
		return err
	}
	s.hostNames[which] = true
	s.Reg.Add(fmt.Sprintf("host %s %q", which, old), func() error {
		defer ns.Close()
		return nsproc.SetUTSNameIn(ns, which, old)
	})
	return nil
}

func (s *Session) sysUname(L *glua.LState) int {
	u, err := nsproc.Uname()
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	for k, v := range u {
		t.RawSetString(k, glua.LString(v))
	}
	L.Push(t)
	return 1
}

func (s *Session) sysRun(L *glua.LState) int {
	var argv []string
	switch v := L.Get(1).(type) {
	case glua.LString:
		argv = []string{"/bin/sh", "-c", string(v)}
	case *glua.LTable:
		list, err := stringList(L, v, "argv")
		if err != nil || len(list) == 0 {
			return argErr(L, 1, "a command string or a non-empty list of strings expected")
		}
		argv = list
	default:
		return argErr(L, 1, "a command string (\"ip link\") or an argv list ({\"ip\", \"link\"}) expected, got "+describe(L.Get(1)))
	}
	o := argOptions(L, 2, "stdin", "env", "ns")
	spec := nsproc.Spec{Argv: argv}
	if o.Has("ns") {
		var pid int
		switch v := o.Value("ns").(type) {
		case glua.LNumber:
			pid = o.Int("ns", 0, 1, maxPid)
		case *glua.LUserData:
			if h, ok := v.Value.(*procHandle); ok {
				pid = h.p.Pid
			}
		}
		if pid == 0 {
			return argErr(L, 2, "option ns must be a process handle or a pid (whose namespaces to run in), got "+describe(o.Value("ns")))
		}
		var err error
		if spec, err = nsproc.EnterSpec(pid, argv); err != nil {
			return raiseErr(L, err)
		}
	}
	if o.Has("env") {
		spec.Env = readEnv(o, "env")
	}
	out, code, errOut, err := s.runCaptured(spec, o.String("stdin", ""))
	if err != nil {
		return raiseErr(L, err)
	}
	L.Push(glua.LString(out))
	L.Push(glua.LNumber(code))
	L.Push(glua.LString(errOut))
	return 3
}

// runCaptured runs spec forked from the Lua thread with its output
// captured through temporary files (so no goroutine copies anything).
func (s *Session) runCaptured(spec nsproc.Spec, stdin string) (string, int, string, error) {
	outF, err := os.CreateTemp("", "nsh-out")
	if err != nil {
		return "", 0, "", err
	}
	defer os.Remove(outF.Name())
	defer outF.Close()
	errF, err := os.CreateTemp("", "nsh-err")
	if err != nil {
		return "", 0, "", err
	}
	defer os.Remove(errF.Name())
	defer errF.Close()
	spec.Stdout, spec.Stderr = outF, errF
	if stdin != "" {
		inF, err := os.CreateTemp("", "nsh-in")
		if err != nil {
			return "", 0, "", err
		}
		defer os.Remove(inF.Name())
		defer inF.Close()
		inF.WriteString(stdin)
		inF.Seek(0, 0)
		spec.Stdin = inF
	} else {
		null, _ := os.Open(os.DevNull)
		defer null.Close()
		spec.Stdin = null
	}
	s.Flush()
	p, err := nsproc.Start(spec)
	if err != nil {
		return "", 0, "", err
	}
	it := s.Reg.Add(fmt.Sprintf("child %d", p.Pid), func() error { return stopChild(p) }, childRec(p.Pid))
	st, err := p.Wait(s.Context())
	if err != nil {
		stopChild(p)
		it.Forget()
		return "", 0, "", err
	}
	it.Forget()
	out, _ := os.ReadFile(outF.Name())
	errOut, _ := os.ReadFile(errF.Name())
	return string(out), st.Code, string(errOut), nil
}

// RunShell runs a `!command` line of the REPL on the terminal, in the
// shell's current namespaces.
func (s *Session) RunShell(line string) (int, error) {
	s.beginChunk()
	defer s.endChunk()
	s.Flush()
	p, err := nsproc.Start(nsproc.Spec{Argv: []string{"/bin/sh", "-c", line}})
	if err != nil {
		return 0, err
	}
	st, err := p.Wait(s.Context())
	if err != nil {
		stopChild(p)
		return 130, nil
	}
	return st.Code, nil
}

func (s *Session) sysExec(L *glua.LState) int {
	var argv []string
	if t, ok := L.Get(1).(*glua.LTable); ok {
		list, err := stringList(L, t, "argv")
		if err != nil {
			return argErr(L, 1, err.Error())
		}
		argv = list
	} else {
		for i := 1; i <= L.GetTop(); i++ {
			argv = append(argv, argString(L, i, fmt.Sprintf("argv[%d]", i)))
		}
	}
	if len(argv) == 0 || argv[0] == "" {
		return argErr(L, 1, "a program expected: sys.exec(\"/bin/sh\", \"-c\", \"...\")")
	}
	path, err := nsproc.ExecPath(argv[0])
	if err != nil {
		return raiseErr(L, err)
	}
	s.Flush()
	// execve(2) undoes nothing: a child nsh leaves everything its journal
	// records to its parent (the program it becomes is the same process,
	// still in the parent's care); what has no record (a descriptor nsh
	// opened, a recording) ends here. The nsh the user started has no
	// parent nsh: it undoes before it becomes the program.
	if s.Child {
		s.HandOver(func(*cleanup.Item) bool { return true })
	}
	s.Cleanup(nil)
	return raiseErr(L, nsproc.Exec(path, argv, os.Environ()))
}

func (s *Session) sysSleep(L *glua.LState) int {
	d, ok := argOptSeconds(L, 1, "seconds")
	if !ok {
		return argErr(L, 1, "seconds expected")
	}
	select {
	case <-time.After(d):
	case <-s.Context().Done():
		return raiseErr(L, s.Context().Err())
	}
	return 0
}

func (s *Session) sysID(fn func() int) glua.LGFunction {
	return func(L *glua.LState) int {
		L.Push(glua.LNumber(fn()))
		return 1
	}
}

func (s *Session) sysCaps(L *glua.LState) int {
	st, err := s.Proc.ReadStatus(s.checkPid(L, 1, true)) // 0: the shell's thread
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	t.RawSetString("effective", strList(L, procview.CapNames(st.CapEff)))
	t.RawSetString("permitted", strList(L, procview.CapNames(st.CapPrm)))
	t.RawSetString("bounding", strList(L, procview.CapNames(st.CapBnd)))
	t.RawSetString("all", glua.LBool(procview.AllCaps(st.CapEff)))
	L.Push(t)
	return 1
}

func (s *Session) sysKill(L *glua.LState) int {
	var pid int
	if v, ok := L.Get(1).(glua.LNumber); ok && v <= 0 {
		pid = argInt(L, 1, "pid", -maxPid, 0) // 0: my group, -1: everyone I may signal, -pgid: a group
	} else {
		pid = s.checkPid(L, 1, false)
	}
	sig, err := parseSignal(L.Get(2))
	if err != nil {
		return argErr(L, 2, err.Error())
	}
	if err := nsproc.Kill(pid, sig); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

// ipcID reads a System V key or id.
func ipcID(L *glua.LState, n int, what string) int { return argInt(L, n, what, 0, 1<<31-1) }

func (s *Session) sysMsgget(L *glua.LState) int {
	id, created, err := sysv.Msgget(ipcID(L, 1, "key"), argBool(L, 2, "create", false))
	if err != nil {
		return raiseErr(L, err)
	}
	if created {
		s.keepIPC("message queue", "msg", id)
	}
	L.Push(glua.LNumber(id))
	return 1
}

func (s *Session) sysMsgsnd(L *glua.LState) int {
	id := ipcID(L, 1, "id")
	text, ok := L.Get(2).(glua.LString)
	if !ok {
		return argErr(L, 2, "text must be a string, got "+describe(L.Get(2)))
	}
	typ := argOptInt(L, 3, "type", 1, 1, 1<<31-1)
	if err := sysv.Msgsnd(id, typ, []byte(text)); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) sysMsgrcv(L *glua.LState) int {
	b, ok, err := sysv.Msgrcv(ipcID(L, 1, "id"), argOptInt(L, 2, "type", 0, 0, 1<<31-1))
	if err != nil {
		return raiseErr(L, err)
	}
	if !ok {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(glua.LString(b))
	return 1
}

func (s *Session) sysMsgqueues(L *glua.LState) int {
	qs, err := sysv.Queues()
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	for _, q := range qs {
		e := L.NewTable()
		e.RawSetString("key", glua.LNumber(q.Key))
		e.RawSetString("id", glua.LNumber(q.ID))
		e.RawSetString("messages", glua.LNumber(q.Messages))
		t.Append(e)
	}
	L.Push(t)
	return 1
}

func (s *Session) sysMqOpen(L *glua.LState) int {
	name := argString(L, 1, "name")
	if !strings.HasPrefix(name, "/") || strings.Count(name, "/") != 1 || len(name) < 2 {
		return argErr(L, 1, "a POSIX queue name is \"/name\" with no other slash")
	}
	err := sysv.MqOpen(name, argBool(L, 2, "create", false))
	if err != nil {
		var errno unix.Errno
		if errors.As(err, &errno) {
			L.Push(glua.LNil)
			L.Push(glua.LString(kerr.Name(errno)))
			return 2
		}
		return raiseErr(L, err)
	}
	L.Push(glua.LTrue)
	return 1
}

func (s *Session) sysMqUnlink(L *glua.LState) int {
	if err := sysv.MqUnlink(argString(L, 1, "name")); err != nil {
		return raiseErr(L, err)
	}
	return 0
}

func (s *Session) sysReadlink(L *glua.LState) int {
	target, err := os.Readlink(argString(L, 1, "path"))
	if err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	L.Push(glua.LString(target))
	return 1
}

var startTime = time.Now()

func (s *Session) sysNow(L *glua.LState) int {
	L.Push(glua.LNumber(time.Since(startTime).Seconds()))
	return 1
}
