// Package seccompasm assembles the container's default seccomp filter with
// elastic/go-seccomp-bpf. nsh does not link it on amd64: the library's
// package initialisation builds its syscall tables for every architecture
// (0.7 ms and 160 KB at every nsh start, container or not), so the
// program it assembles is kept in runtime/mounts/seccomp_amd64.go, which
// the tests of runtime/mounts compare with this package's output (and
// rewrite with -update-seccomp). On other architectures runtime/mounts
// assembles the filter here, when a container loads it.
package seccompasm

import (
	"fmt"
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/net/bpf"
)

// Policy allows every call but names and clone(2) with any of cloneFlags,
// which fail with EPERM.
func Policy(names []string, cloneFlags uint64) seccomp.Policy {
	return seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{{
			Action: seccomp.ActionErrno, // the library's errno action is EPERM
			Names:  names,
			NamesWithCondtions: []seccomp.NameWithConditions{{Name: "clone", Conditions: seccomp.ArgumentConditions{
				{Argument: 0, Operation: seccomp.BitsSet, Value: cloneFlags},
			}}},
		}},
	}
}

// Program is Policy(names, cloneFlags) assembled for this architecture.
func Program(names []string, cloneFlags uint64) ([]syscall.SockFilter, error) {
	p := Policy(names, cloneFlags)
	insts, err := p.Assemble()
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(insts)
	if err != nil {
		return nil, fmt.Errorf("assembling the seccomp filter: %v", err)
	}
	out := make([]syscall.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = syscall.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}
