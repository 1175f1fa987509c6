package main

import (
	"fmt"
	"os"

	"nsh/lua"
	"nsh/runtime/cleanup"
	"nsh/runtime/leftover"
	"nsh/runtime/statedir"
)

// openJournal removes what dead nsh processes of this user left (one line
// says so) and arranges this process's own journal, which every binding
// writes what it makes into (runtime/cleanup.Journal). The journal is
// made when the first record comes (or before the first child starts, see
// lua's startChild): `nsh -e ""` and a script that makes nothing outside
// its namespaces write none, and create no state directory. Without a
// state directory nsh runs without one.
func openJournal(s *lua.Session) {
	if dir, err := statedir.Existing(leftover.Sub); err == nil {
		rep := leftover.Sweep(dir, "") // our own journal does not exist yet
		reportSweep(rep, false)
		if rep.Procs > 0 {
			statedir.Tidy(leftover.Sub)
		}
	}
	s.Reg.Opener = func() *cleanup.Journal {
		// By the first record the Lua thread may be in a mount namespace
		// or under a root of the script's own (ns.unshare("mnt") and a
		// tmpfs on /run, mount.container): the journal is made from
		// another thread, which is where nsh started (only the Lua thread
		// moves; it is locked to its goroutine), so that it lies where the
		// next nsh's sweep looks.
		done := make(chan *cleanup.Journal)
		go func() { done <- createJournal() }()
		return <-done
	}
}

// createJournal makes this process's journal in its state directory.
func createJournal() *cleanup.Journal {
	dir, err := leftover.Dir()
	if err != nil {
		return nil
	}
	pid := os.Getpid()
	start, _ := statedir.StartTime(pid)
	j, err := cleanup.OpenJournal(dir, pid, start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh:", err)
		return nil
	}
	os.Setenv(cleanup.JournalEnv, j.Path()) // for ns.clone children
	return j
}

// closeJournal undoes what the journal still holds (what children left)
// and removes it, from another thread than the Lua thread, for the reason
// the Opener makes it from one: the journal's path is the one of the mount
// namespace nsh started in.
func closeJournal(j *cleanup.Journal) {
	if j == nil {
		return
	}
	done := make(chan leftover.Report)
	go func() {
		rep := leftover.Finish(j)
		statedir.Tidy(leftover.Sub)
		done <- rep
	}()
	for _, err := range (<-done).Errs {
		fmt.Fprintln(os.Stderr, "nsh: cleanup:", err)
	}
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
