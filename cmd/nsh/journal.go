package main

import (
	"fmt"
	"os"
	"path/filepath"

	"nsh/lua"
	"nsh/runtime/cleanup"
	"nsh/runtime/leftover"
	"nsh/runtime/statedir"
)

// openJournal removes what dead nsh processes of this user left (one line
// says so) and starts this process's own journal, which every binding
// writes what it makes into (runtime/cleanup.Journal). Without a state
// directory nsh runs without one.
func openJournal(s *lua.Session) *cleanup.Journal {
	dir, err := leftover.Dir()
	if err != nil {
		return nil
	}
	pid := os.Getpid()
	start, _ := statedir.StartTime(pid)
	self := filepath.Join(dir, cleanup.JournalName(pid, start))
	reportSweep(leftover.Sweep(dir, self), false)
	j, err := cleanup.OpenJournal(dir, pid, start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh:", err)
		return nil
	}
	s.Reg.Journal = j
	os.Setenv(cleanup.JournalEnv, j.Path()) // for ns.clone children
	return j
}

// closeJournal undoes what the journal still holds (what children left)
// and removes it.
func closeJournal(j *cleanup.Journal) {
	if j == nil {
		return
	}
	rep := leftover.Finish(j)
	for _, err := range rep.Errs {
		fmt.Fprintln(os.Stderr, "nsh: cleanup:", err)
	}
	statedir.Tidy(leftover.Sub)
}

// reportSweep says in one line what a sweep removed; verbose (nsh
// --cleanup) says so also when there was nothing.
func reportSweep(rep leftover.Report, verbose bool) {
	switch {
	case !rep.Empty():
		procs := "process"
		if rep.Procs != 1 {
			procs = "processes"
		}
		fmt.Fprintf(os.Stderr, "nsh: removed what %d ended nsh %s left behind: %s\n", rep.Procs, procs, rep.Summary())
	case verbose:
		fmt.Fprintln(os.Stderr, "nsh: nothing left behind by ended nsh processes")
	}
	for _, err := range rep.Errs {
		fmt.Fprintln(os.Stderr, "nsh: could not remove", err)
	}
}

// cleanupLeftovers is nsh --cleanup.
func cleanupLeftovers() int {
	dir, err := leftover.Dir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh:", err)
		return 1
	}
	rep := leftover.Sweep(dir, "")
	reportSweep(rep, true)
	statedir.Tidy(leftover.Sub)
	if len(rep.Errs) > 0 {
		return 1
	}
	return 0
}
