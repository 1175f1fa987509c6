package lua

import (
	"bytes"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"nsh/runtime/nsproc"

	"golang.org/x/sys/unix"
)

// Job control, as a shell does it. When nsh runs on a terminal, its
// children get process groups of their own, so the terminal's Ctrl-C
// interrupts nsh's running chunk without killing children started earlier.
// While nsh waits for a child (h:wait), the child's group gets the terminal
// (an interactive shell in a container can read it, and Ctrl-C goes to it),
// and nsh takes the terminal back afterwards.

// onTerminal reports whether nsh's standard input is a terminal.
func onTerminal() bool {
	_, err := unix.IoctlGetTermios(0, unix.TCGETS)
	return err == nil
}

// jobControl says whether this nsh does job control: only the nsh the user
// started on a terminal, as only the interactive shell does. A re-executed
// child (a cloned function) keeps its own children in its process group,
// its job, so that when the REPL hands the job the terminal (h:wait),
// they have it too, and Ctrl-C reaches the whole job.
func jobControl() bool { return onTerminal() && !nsproc.IsChild() }

// ReclaimTerminal makes nsh's process group the terminal's foreground
// group again (the REPL calls it when a read fails because something took
// the terminal). It reports whether nsh now has the terminal.
func ReclaimTerminal() bool {
	if !onTerminal() {
		return false
	}
	signal.Ignore(syscall.SIGTTOU)
	err := unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, unix.Getpgrp())
	signal.Reset(syscall.SIGTTOU)
	return err == nil
}

// foregroundWhile gives the terminal to the process group of pid while it
// runs, as foreground does, except while the process ignores SIGINT: then
// nsh keeps the terminal, so that Ctrl-C always reaches nsh and brings the
// prompt back (a child that ignores Ctrl-C would otherwise hold the
// terminal until it ends). ignoresINT is asked every 100 ms; stop ends the
// watch and gives the terminal back to nsh.
func foregroundWhile(pgid int, ignoresINT func() bool) (stop func()) {
	if !jobControl() {
		return func() {}
	}
	mine, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err != nil || mine != unix.Getpgrp() {
		return func() {}
	}
	setpgrp := func(g int) {
		signal.Ignore(syscall.SIGTTOU)
		unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, g)
		signal.Reset(syscall.SIGTTOU)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		holder := -1
		ticks := 0 // since the terminal was last handed to pgid
		for {
			want := pgid
			if ignoresINT() {
				want = mine
			}
			if want != holder {
				setpgrp(want)
				holder, ticks = want, 0
			}
			if holder == pgid && ticks < 2 && stopped(pgid) {
				// it read the terminal before it was handed the terminal
				// (SIGTTIN stopped it): continue it, as a shell's fg does
				// when it hands over. Only then: a stop that comes later
				// (Ctrl-Z, kill -STOP) is the user's, and stays.
				unix.Kill(-pgid, unix.SIGCONT)
			}
			ticks++
			select {
			case <-done:
				setpgrp(mine)
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() { close(done); <-finished }
}

// stopped says whether process pid is stopped (state T in /proc/PID/stat).
func stopped(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'T'
}
