package main

import (
	"fmt"
	"os"
	"time"

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
		// namespaces outlive it the parent says. The journal is opened
		// with the first record: a function that makes nothing opens none.
		s.OuterMnt = mounts.ParseOuter(os.Getenv(mounts.OuterEnv))
		if path := os.Getenv(cleanup.JournalEnv); path != "" {
			prefix := os.Getenv(cleanup.PrefixEnv)
			os.Unsetenv(cleanup.PrefixEnv)
			s.Reg.Opener = func() *cleanup.Journal {
				// from another thread, as in the parent (journal.go): the
				// function may have moved the Lua thread by then
				done := make(chan *cleanup.Journal)
				go func() {
					j, err := cleanup.JoinJournal(path, prefix)
					if err != nil {
						j = nil
					}
					done <- j
				}()
				return <-done
			}
			defer func() { s.Reg.OpenedJournal().Close() }()
		}
		defer s.Close()
		// the parent's stop request: clean up, then end. The child
		// subscribes to no signal: SIGTERM, SIGPIPE and the like act as the
		// kernel says for a C program without handlers (nsproc/init.go).
		watchStopRequests(s)
		return s.RunPayload(payload)
	})
}

// watchStopRequests stops the function on the parent's request (when
// the chunk that cloned it or the parent nsh ends), which may come before it
// has started; the deferred cleanup then runs. If the function has not
// stopped after a few seconds, its own children are killed, which ends
// every wait on them.
func watchStopRequests(s *lua.Session) {
	go func() {
		<-nsproc.StopRequests()
		s.Stop()
		time.Sleep(stuckAfter)
		endStuckChildren(s)
	}()
}
