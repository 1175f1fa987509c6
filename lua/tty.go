package lua

import (
	"os/signal"
	"syscall"

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

// foreground gives the terminal to process group pgid and returns the
// function that gives it back. Only a process in the terminal's foreground
// group hands it on, as a shell does: an nsh that runs in the background
// (a cloned function the REPL did not wait for) leaves the terminal alone,
// so it cannot take the terminal away from the prompt.
func foreground(pgid int) func() {
	if !onTerminal() {
		return func() {}
	}
	mine, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err != nil || mine != unix.Getpgrp() {
		return func() {}
	}
	setpgrp := func(g int) {
		// a background process calling tcsetpgrp gets SIGTTOU: ignore it
		// just for the call (an ignored signal would be inherited by
		// children started later)
		signal.Ignore(syscall.SIGTTOU)
		unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, g)
		signal.Reset(syscall.SIGTTOU)
	}
	setpgrp(pgid)
	return func() { setpgrp(mine) }
}

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
