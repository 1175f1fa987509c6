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
// function that gives it back to nsh.
func foreground(pgid int) func() {
	if !onTerminal() {
		return func() {}
	}
	mine, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err != nil {
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
