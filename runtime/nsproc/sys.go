package nsproc

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"nsh/runtime/kerr"
	"nsh/runtime/sigs"

	"golang.org/x/sys/unix"
)

// The process-level calls of sys.*: the UTS names, signals, execve. They act
// on the calling thread's namespaces.

// SetHostname is sethostname(2) in the caller's UTS namespace.
func SetHostname(name string) error {
	if err := checkUTSName("hostname", name); err != nil {
		return err
	}
	return kerr.New(fmt.Sprintf("sethostname(%q)", name), unix.Sethostname([]byte(name)), utsRules)
}

// SetDomainname is setdomainname(2) in the caller's UTS namespace.
func SetDomainname(name string) error {
	if err := checkUTSName("domainname", name); err != nil {
		return err
	}
	return kerr.New(fmt.Sprintf("setdomainname(%q)", name), unix.Setdomainname([]byte(name)), utsRules)
}

// Uname is uname(2): sysname, nodename, release, version, machine and
// domainname of the caller's UTS namespace (and kernel).
func Uname() (map[string]string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return nil, kerr.New("uname()", err, nil)
	}
	s := unix.ByteSliceToString
	return map[string]string{"sysname": s(u.Sysname[:]), "nodename": s(u.Nodename[:]), "release": s(u.Release[:]),
		"version": s(u.Version[:]), "machine": s(u.Machine[:]), "domainname": s(u.Domainname[:])}, nil
}

var killRules = kerr.Rules{
	{Errno: unix.ESRCH, Rule: "no such process in this PID namespace: it has exited, or it lives in a parent or sibling namespace, whose processes have no number here"},
	{Errno: unix.EPERM, Rule: killPermRule},
}

const killPermRule = "signalling needs the sender's real or effective uid to equal the target's real or saved uid, or CAP_KILL in the target's user namespace " +
	"(a PID namespace's init is no exception: the signals its members send it without a handler installed are dropped, and kill() still succeeds)"

var (
	killAllRules = kerr.Rules{
		{Errno: unix.ESRCH, Rule: "kill(-1) reaches every process the caller may signal except itself and its PID namespace's init: there is none (a lone init gets this)"},
		{Errno: unix.EPERM, Rule: killPermRule},
	}
	killGroupRules = kerr.Rules{
		{Errno: unix.ESRCH, Rule: "no process group with that id in this PID namespace"},
		{Errno: unix.EPERM, Rule: "the caller may signal no member of the group (same uid or CAP_KILL in the target's user namespace)"},
	}
)

// Kill is kill(2): pid > 0 one process, 0 the caller's process group, -1
// every process it may signal, < -1 the process group -pid.
func Kill(pid int, sig unix.Signal) error {
	name := sigs.Name(sig)
	if sig == 0 {
		name = "0"
	}
	rules := killRules
	switch {
	case pid == -1:
		rules = killAllRules
	case pid <= 0:
		rules = killGroupRules
	}
	return kerr.New(fmt.Sprintf("kill(%d, %s)", pid, name), unix.Kill(pid, sig), rules)
}

var sysExecRules = kerr.Rules{
	{Errno: unix.EACCES, Rule: "the file is not executable, or its filesystem is mounted noexec"},
	{Errno: unix.ENOENT, Rule: "no such file (or its interpreter or dynamic loader is missing)"},
}

// ExecPath finds the program argv[0] names: itself when it has a slash, else
// in PATH; it must exist.
func ExecPath(prog string) (string, error) {
	path := prog
	if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("program %q not found in PATH (%s)", prog, os.Getenv("PATH"))
		}
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		return "", kerr.New(fmt.Sprintf("execve(%q)", path), err, sysExecRules)
	}
	return path, nil
}

// Exec replaces the process with path (execve(2)); it returns only on failure.
func Exec(path string, argv, env []string) error {
	return kerr.New(fmt.Sprintf("execve(%q)", path), unix.Exec(path, argv, env), sysExecRules)
}

// Open holds a process's namespace of one type open: the namespace lives as
// long as the file, even with no process in it.
func Open(pid int, typ string) (*os.File, error) {
	path := NSPath(pid, typ)
	f, err := os.Open(path)
	if err != nil {
		return nil, nsErr(fmt.Sprintf("open(%q)", path), err)
	}
	return f, nil
}

// HostUTSEnv carries the inode of the host's UTS namespace to the nsh
// processes an nsh starts (its re-executed children, an nsh run from it), so
// that they know it too (see Home.HostUTS).
const HostUTSEnv = "NSH_HOST_UTS"

// HostUTS says whether the calling thread is in the host's UTS namespace,
// where setting a name renames the machine for every process sharing it:
// the one named by HostUTSEnv when an nsh passed it on, else the one nsh
// started in, unless nsh made that one itself (the private copy of nsh -U,
// see InUserNSEnv). The first nsh passes its answer on (ExportHostUTS).
func (h *Home) HostUTS() bool {
	ino, err := Inode(NSPath(0, "uts"))
	if err != nil {
		return false
	}
	if v := os.Getenv(HostUTSEnv); v != "" {
		return v == strconv.FormatUint(ino, 10)
	}
	return os.Getenv(InUserNSEnv) == "" && ino == h.ids["uts"]
}

// ExportHostUTS records in the environment (HostUTSEnv) which UTS namespace
// is the host's, when nsh started in it and no nsh before it said so.
func (h *Home) ExportHostUTS() {
	if os.Getenv(HostUTSEnv) != "" || os.Getenv(InUserNSEnv) != "" {
		return
	}
	if ino, ok := h.ids["uts"]; ok {
		os.Setenv(HostUTSEnv, strconv.FormatUint(ino, 10))
	}
}

// OpenUTS opens the calling thread's UTS namespace, to come back to it
// later (SetUTSNameIn).
func OpenUTS() (*os.File, error) {
	f, err := os.Open(NSPath(0, "uts"))
	if err != nil {
		return nil, kerr.New("open("+NSPath(0, "uts")+")", err, nil)
	}
	return f, nil
}

// SetUTSNameIn sets the hostname or domainname (which) of the UTS namespace
// ns (a file OpenUTS returned), whatever namespace the calling thread is in
// now: from a fresh OS thread that joins it (setns) and is discarded
// afterwards, so the caller's thread stays where it is. For undoing a change
// at exit.
func SetUTSNameIn(ns *os.File, which, name string) error {
	set := SetHostname
	if which == "domainname" {
		set = SetDomainname
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWUTS); err != nil {
			errc <- kerr.New("setns(uts namespace to restore)", err, setnsRules)
			return
		}
		errc <- set(name)
	}()
	return <-errc
}

// InitialUserNS says whether the caller is in the initial user namespace
// (its uid_map maps the whole id range onto itself): root there is root of
// the machine.
func InitialUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}

// CheckUTSName refuses a hostname or domainname (which) the kernel would
// refuse, before anything is changed.
func CheckUTSName(which, name string) error { return checkUTSName(which, name) }
