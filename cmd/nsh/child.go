package main

import (
	"fmt"
	"os"

	"nsh/lua"
	"nsh/runtime/cleanup"
	"nsh/runtime/mounts"
	"nsh/runtime/nsproc"
)

// childMain is the entry of a re-executed nsh: a child started by ns.clone
// or by ns.spawn with set-up steps. It does nothing else.
func childMain() int {
	return nsproc.ChildMain(func(payload []byte) ([]byte, int, error) {
		s, err := lua.NewSession()
		if err != nil {
			fmt.Fprintln(os.Stderr, "nsh child:", err)
			return nil, 1, err
		}
		// What the child makes goes into its parent's journal, so that
		// what outlives the child is the parent's to undo; which mount
		// namespaces outlive it the parent says.
		s.OuterMnt = mounts.ParseOuter(os.Getenv(mounts.OuterEnv))
		if path := os.Getenv(cleanup.JournalEnv); path != "" {
			prefix := os.Getenv(cleanup.PrefixEnv)
			os.Unsetenv(cleanup.PrefixEnv)
			if j, err := cleanup.JoinJournal(path, prefix); err == nil {
				s.Reg.Journal = j
				defer j.Close()
			}
		}
		defer s.Close()
		// the parent's stop request: clean up, then end (SIGTERM and the
		// like act as the kernel says: a re-executed nsh has no handler
		// for them, see nsproc/init.go)
		stop := watchSignals(s, nsproc.StopSignal)
		defer stop()
		return s.RunPayload(payload)
	})
}
