package nsproc

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// InUserNSEnv marks an nsh that was re-executed into its own user namespace,
// so it does not do it again.
const InUserNSEnv = "NSH_USERNS"

// ReexecInUserNS runs this same nsh command again in a new user namespace
// that maps the caller's uid and gid to root (like `unshare -r`), waits for
// it, and returns its exit code. It also gets its own copies of the mount,
// UTS and IPC namespaces (see below). A Go program cannot enter a user namespace
// itself (the kernel wants a single-threaded caller), so a new process is the
// only way. Terminal signals reach the child directly (same process group);
// SIGTERM and SIGHUP sent to this process are passed on.
func ReexecInUserNS(args []string) (int, error) {
	uid, gid := os.Getuid(), os.Getgid()
	cmd := exec.Command(exe(), args...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), InUserNSEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// With the user namespace come private copies of the mount, UTS
		// and IPC namespaces, owned by it: the shell starts with the same
		// view, but can always go back to them (ns.restore), which it
		// could not do to the host's (setns needs CAP_SYS_ADMIN in the
		// owning user namespace). The network stays the host's.
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}},
		// an unprivileged writer may map its gid only after denying setgroups
		GidMappingsEnableSetgroups: false,
		Pdeathsig:                  syscall.SIGKILL,
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGQUIT)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		return 1, startErr(Spec{Types: User, Argv: args}, err)
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	if cmd.ProcessState == nil {
		return 1, err
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return cmd.ProcessState.ExitCode(), nil
}
