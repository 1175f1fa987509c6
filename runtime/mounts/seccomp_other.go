//go:build !amd64

package mounts

import (
	"fmt"

	"nsh/runtime/mounts/internal/seccompasm"

	"golang.org/x/sys/unix"
)

// seccompProgram is the default filter, assembled when a container loads
// it (on amd64 it is kept assembled: seccomp_amd64.go).
func seccompProgram() ([]unix.SockFilter, error) {
	prog, err := seccompasm.Program(SeccompNames(), CloneNamespaceFlags)
	if err != nil {
		return nil, fmt.Errorf("assembling the default seccomp filter: %v", err)
	}
	out := make([]unix.SockFilter, len(prog))
	for i, p := range prog {
		out[i] = unix.SockFilter{Code: p.Code, Jt: p.Jt, Jf: p.Jf, K: p.K}
	}
	return out, nil
}
