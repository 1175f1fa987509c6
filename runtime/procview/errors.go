package procview

import (
	"fmt"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// procRules explain why a file of this procfs cannot be read.
var procRules = kerr.Rules{
	{Errno: unix.ENOENT, Rule: "no such process in this procfs: it has exited, or lives in a PID namespace this /proc cannot see"},
	{Errno: unix.ESRCH, Rule: "the process has exited"},
	{Errno: unix.EACCES, Rule: "reading this file of another process needs ptrace access to it (same uid and dumpable, or CAP_SYS_PTRACE)"},
	{Errno: unix.EPERM, Rule: "reading this file of another process needs ptrace access to it (same uid and dumpable, or CAP_SYS_PTRACE)"},
}

// procErr is a failed call on the file rel of p, e.g. open("/proc/42/status").
func (p *Proc) procErr(call, rel string, err error) error {
	return kerr.New(fmt.Sprintf("%s(%q)", call, p.Path+"/"+rel), err, procRules)
}
