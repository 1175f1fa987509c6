package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"nsh/runtime/netlab"
	"nsh/runtime/nsproc"
	"nsh/runtime/statedir"
)

// enterNode is `nsh --enter NAME [cmd...]`: it drops into a lab node from
// any terminal, with the node's variables set, like Samba's
// st/ENV/nsenter.sh. NAME is a node of a running lab of the caller's
// (NODE, LAB/NODE or LAB-NODE; the lab's generated nsenter.sh does the
// work), or a network namespace pinned under /run/netns. Only what the
// caller or root owns, in directories no one else can write, is run
// (netlab.LabHelpers, statedir.Trusted); the script runs from the text
// that was checked. Joining a user namespace needs a single-threaded
// process, which a Go program is not, so nsh hands over to nsenter(1)
// through exec.
func enterNode(name string, cmd []string) int {
	if name == "" || strings.HasPrefix(name, "-") {
		fmt.Fprintln(os.Stderr, "nsh: --enter needs a node name: nsh --enter NODE [command...]")
		return 2
	}
	helpers, skipped := netlab.LabHelpers(name)
	for _, why := range skipped {
		fmt.Fprintln(os.Stderr, "nsh: --enter: ignored:", why)
	}
	switch {
	case len(helpers) > 1:
		fmt.Fprintf(os.Stderr, "nsh: --enter %s: several running labs have a node of that name; say LAB/NODE:\n", name)
		for _, h := range helpers {
			fmt.Fprintln(os.Stderr, "  "+h)
		}
		return 2
	case len(helpers) == 1:
		return runHelper(helpers[0], cmd)
	}
	pinned := filepath.Join(nsproc.NetnsDir, name)
	if _, err := os.Stat(pinned); err == nil && !strings.Contains(name, "/") && name != ".." {
		if err := statedir.Trusted(pinned, false); err != nil {
			fmt.Fprintln(os.Stderr, "nsh: --enter:", err)
			return 1
		}
		nsenter, err := exec.LookPath("nsenter")
		if err != nil {
			fmt.Fprintln(os.Stderr, "nsh: --enter: nsenter(1) is needed:", err)
			return 1
		}
		if len(cmd) == 0 {
			sh := os.Getenv("SHELL")
			if sh == "" {
				sh = "/bin/sh"
			}
			cmd = []string{sh}
		}
		argv := append([]string{"nsenter", "--net=" + pinned, "--"}, cmd...)
		err = syscall.Exec(nsenter, argv, os.Environ())
		fmt.Fprintln(os.Stderr, "nsh: --enter: exec nsenter:", err)
		return 1
	}
	where := ""
	if labs, err := netlab.LabsDir(); err == nil {
		where = " (under " + labs + ")"
	}
	fmt.Fprintf(os.Stderr, "nsh: --enter %s: none of your running labs%s has a node of that name, and %s does not exist\n", name, where, pinned)
	return 1
}

// runHelper runs a node's nsenter.sh from the text that was checked (read
// through one descriptor), so the file cannot be swapped in between.
func runHelper(path string, cmd []string) int {
	text, err := statedir.ReadTrusted(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh: --enter:", err)
		return 1
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh: --enter:", err)
		return 1
	}
	err = syscall.Exec(sh, append([]string{"sh", "-c", string(text), path}, cmd...), os.Environ())
	fmt.Fprintln(os.Stderr, "nsh: --enter: exec", path+":", err)
	return 1
}
