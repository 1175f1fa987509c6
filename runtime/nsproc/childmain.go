package nsproc

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// PayloadRunner runs a child's payload (for nsh, a Lua function) and returns
// the encoded values to send back and the exit code.
type PayloadRunner func(payload []byte) (values []byte, code int, err error)

// ChildMain is the whole life of a re-executed nsh child: read the set-up
// from the parent, wait for the go-ahead, do the set-up steps in kernel
// order, then execute the program or run the payload. It returns the exit
// code (it never returns when it executes a program).
func ChildMain(run PayloadRunner) int {
	ppid := os.Getppid()
	if _, err := unix.FcntlInt(ctlFD, unix.F_GETFD, 0); err != nil {
		fmt.Fprintln(os.Stderr, "nsh: "+ChildFlag+" is for nsh's own children")
		return 2
	}
	// read straight from the descriptor: it becomes a pollable file only
	// for serveKeep (a goroutine blocked in read(2) would cost a thread,
	// and a thread costs a PID in a new PID namespace)
	ctl := fdReader(ctlFD)
	res := os.NewFile(resFD, "nsh-res")
	unix.CloseOnExec(ctlFD)
	unix.CloseOnExec(resFD)

	var msg childMsg
	if err := readFrame(ctl, &msg); err != nil {
		return 125 // the parent went away before sending anything
	}
	// Wait for the go-ahead: the parent may be writing our id maps,
	// moving links into our namespaces, or adding us to a cgroup.
	var b [1]byte
	if n, err := ctl.Read(b[:]); n != 1 || b[0] != goAhead {
		if err == io.EOF || n == 0 {
			return 125
		}
	}
	if len(msg.Argv) > 0 {
		unix.Close(ctlFD)
	}
	origNofile() // from NSH_ORIG_NOFILE, before it is unset
	for _, v := range msg.UnsetEnv {
		os.Unsetenv(v)
	}
	if msg.DropAmbient {
		if err := dropAmbient(); err != nil {
			writeFrame(res, &childResult{Error: err.Error()})
			return 127
		}
	}

	fail := func(err error) int {
		writeFrame(res, &childResult{Error: err.Error()})
		fmt.Fprintln(os.Stderr, "nsh child:", err)
		return 127
	}
	childExecs = len(msg.Argv) > 0
	if err := runSetup(msg.Setup); err != nil {
		return fail(err)
	}
	if err := setCredentials(msg.UID, msg.GID); err != nil {
		return fail(err)
	}
	if msg.Pdeath {
		// The kernel clears the parent-death signal when the ids change
		// (commit_creds); set it again, and end now if the parent ended
		// already (the go-ahead proved it alive a moment ago).
		unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
		if ppid != 0 && os.Getppid() != ppid {
			return 125
		}
	}
	if len(msg.Argv) > 0 {
		if msg.Dir != "" {
			if err := os.Chdir(msg.Dir); err != nil {
				return fail(kerr.New(fmt.Sprintf("chdir(%q)", msg.Dir), err, nil))
			}
		}
		env := msg.Env
		if env == nil {
			env = os.Environ()
		}
		res.Close()
		err := unix.Exec(msg.Argv[0], msg.Argv, env)
		fmt.Fprintln(os.Stderr, "nsh child:", kerr.New(fmt.Sprintf("execve(%q)", msg.Argv[0]), err, execRules))
		return 127
	}
	if msg.Dir != "" {
		if err := os.Chdir(msg.Dir); err != nil {
			return fail(kerr.New(fmt.Sprintf("chdir(%q)", msg.Dir), err, nil))
		}
	}
	// keep requests are answered from now on, after the parent-death
	// signal was set again (a request that came earlier waited in the
	// socket: clearing the signal before that would not have lasted)
	unix.SetNonblock(ctlFD, true)
	go serveKeep(os.NewFile(ctlFD, "nsh-ctl"))
	beInit()
	childCreated = msg.Created
	values, code, err := run(msg.Payload)
	r := childResult{Values: values}
	if err != nil {
		r.Error = err.Error()
	}
	writeFrame(res, &r)
	res.Close()
	return code
}

// fdReader reads a descriptor with read(2) (no os.File: see ChildMain).
type fdReader int

func (f fdReader) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(int(f), b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// serveKeep answers the parent's requests on the control channel until
// the parent goes (EOF): stopReq goes to StopRequests; keepReq clears the
// parent-death signal, so that
// this child outlives nsh (h:keep()). The signal belongs to a thread (the
// kernel sends it when the parent dies if any thread of the child has
// one, and each thread's is its own: PR_SET_PDEATHSIG sets the caller's),
// so it is cleared on every thread of the process at once
// (AllThreadsSyscall), whatever the interpreter's thread is doing.
func serveKeep(ctl *os.File) {
	defer ctl.Close()
	var b [1]byte
	for {
		if n, err := ctl.Read(b[:]); n != 1 || err != nil {
			return
		}
		if b[0] == stopReq {
			select {
			case stopRequests <- struct{}{}:
			default: // one is pending already
			}
			continue
		}
		if b[0] != keepReq {
			continue
		}
		var r keepReply
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, 0, 0); e != 0 {
			r.Error = kerr.New("prctl(PR_SET_PDEATHSIG, 0) on every thread", e, kerr.Rules{
				{Errno: unix.ENOTSUP, Rule: "this nsh was built with cgo, where Go cannot run a system call on every thread (build it with CGO_ENABLED=0, as make does)"},
			}).Error()
		}
		writeFrame(ctl, &r)
	}
}

// stopRequests receives the parent's stop requests (Process.RequestStop).
var stopRequests = make(chan struct{}, 1)

// StopRequests delivers the parent's requests to stop the payload and
// clean up, in a re-executed nsh that runs one. A request that comes
// before the payload has started waits here. It replaces a signal: a
// signal the child subscribed to would be taken from the lessons (it
// would stop the function instead of acting by its default, and a
// script's sys.signal could not have it), and a subscription costs Go
// two threads and a round trip per signal at start.
func StopRequests() <-chan struct{} { return stopRequests }

// childExecs: this process is a re-executed nsh child that executes a
// program after its set-up steps (set before they run).
var childExecs bool

// ExecsAfterSetup reports whether the set-up steps now running end in an
// execve of a program (a re-executed child of ns.spawn), rather than in a
// Lua function or in the nsh the user started: per-thread state set on
// the calling thread (capabilities, no_new_privs) is then all the
// program gets, since execve ends every other thread.
func ExecsAfterSetup() bool { return childExecs }

// childCreated are the namespaces the clone made for this process, when it
// is a re-executed nsh running a payload (set once, before the payload).
var childCreated Set

// CreatedByClone are the namespaces the clone made for this child nsh (0 in
// the nsh the user started): they are its own, disposable, and die with it
// and what it starts.
func CreatedByClone() Set { return childCreated }

var execRules = kerr.Rules{
	{Errno: unix.ENOENT, Rule: "no such program in the child's filesystem (after a pivot_root, paths are inside the new root)"},
	{Errno: unix.EACCES, Rule: "the file is not executable, or its filesystem is mounted noexec"},
}

func runSetup(s Setup) error {
	// hostname first: it only needs the UTS namespace, nothing else
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return kerr.New(fmt.Sprintf("sethostname(%q)", s.Hostname), err, utsRules)
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return kerr.New(fmt.Sprintf("setdomainname(%q)", s.Domainname), err, utsRules)
		}
	}
	for _, st := range s.Steps {
		fn, ok := stepFuncs[st.Name]
		if !ok {
			return fmt.Errorf("unknown set-up step %q", st.Name)
		}
		if err := fn(st.Args); err != nil {
			return err
		}
	}
	return nil
}

var utsRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "changing the hostname needs CAP_SYS_ADMIN in the user namespace that owns the UTS namespace"},
	{Errno: unix.EINVAL, Rule: "a hostname is at most 64 bytes"},
}

// UTSRules explains sethostname/setdomainname failures (for sys.hostname).
var UTSRules = utsRules

func setCredentials(uid, gid *int) error {
	if gid != nil {
		if err := syscall.Setgroups([]int{}); err != nil && err != unix.EPERM {
			return kerr.New("setgroups([])", err, nil)
		}
		if err := syscall.Setgid(*gid); err != nil {
			return kerr.New(fmt.Sprintf("setgid(%d)", *gid), err, credRules)
		}
	}
	if uid != nil {
		if err := syscall.Setuid(*uid); err != nil {
			return kerr.New(fmt.Sprintf("setuid(%d)", *uid), err, credRules)
		}
	}
	return nil
}

var credRules = kerr.Rules{
	{Errno: unix.EPERM, Rule: "changing ids needs CAP_SETUID/CAP_SETGID in the process's user namespace"},
	{Errno: unix.EINVAL, Rule: "the id is not mapped in this user namespace (see its uid_map / gid_map)"},
}
