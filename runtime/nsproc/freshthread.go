package nsproc

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// forkOnFreshThread starts cmd from a new OS thread that first takes on the
// calling thread's namespaces (all types but user), then the ones in join.
//
// Why not move the interpreter's own thread there and back: the way back
// may be closed. setns needs CAP_SYS_ADMIN over the namespace joined, and a
// shell running in a user namespace of its own has none over the host's
// namespaces it started in (nor may anyone re-enter an ancestor PID
// namespace). A fresh thread never has to come back. It stays alive (parked)
// until the child ends, because the child's parent-death signal fires when
// the thread that forked it exits; it is discarded afterwards.
func forkOnFreshThread(join map[string]string, cmd *exec.Cmd, done <-chan struct{}) error {
	return startOnFreshThread(join, &cmd.Dir, cmd.Start, done)
}

// startOnFreshThread is forkOnFreshThread for any start function: start
// forks from the fresh thread once it is in the namespaces; *dir, when
// empty, becomes nsh's working directory (setns into a mount namespace
// would otherwise leave the child wherever the thread lands).
func startOnFreshThread(join map[string]string, dir *string, start func() error, done <-chan struct{}) error {
	// what the calling thread is in now, held open so the fresh thread can
	// follow it there
	cur := map[string]*os.File{}
	defer func() {
		for _, f := range cur {
			f.Close()
		}
	}()
	for _, t := range Types {
		if t.Set() == User {
			continue
		}
		if _, joined := join[t.Name]; joined {
			continue
		}
		f, err := os.Open(NSPath(0, t.ChildrenFile()))
		if err != nil {
			continue
		}
		cur[t.Name] = f
	}
	if *dir == "" {
		if wd, err := os.Getwd(); err == nil {
			*dir = wd
		}
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is discarded with this goroutine
		err := func() error {
			for _, t := range Types {
				f, ok := cur[t.Name]
				if !ok {
					continue
				}
				here, err := Inode(NSPath(0, t.ChildrenFile()))
				if err == nil && here == inodeOfFD(int(f.Fd())) {
					continue
				}
				if t.Set() == Mnt {
					if err := unix.Unshare(unix.CLONE_FS); err != nil {
						return err
					}
				}
				if err := unix.Setns(int(f.Fd()), int(t.Flag)); err != nil {
					if t.Set() == Time && err == unix.EUSERS {
						// no process with threads may join a time
						// namespace: the child keeps nsh's own clocks
						continue
					}
					return fmt.Errorf("following the interpreter into its %s namespace: %w", t.Name, err)
				}
			}
			var types Set
			for _, t := range Types {
				path, ok := join[t.Name]
				if !ok {
					continue
				}
				// already there (e.g. the host's cgroup namespace, shared
				// with the target): joining would only ask for privileges
				here, err1 := Inode(NSPath(0, t.ChildrenFile()))
				there, err2 := Inode(path)
				if err1 == nil && err2 == nil && here == there {
					continue
				}
				types = types.Add(t.Set())
			}
			if err := Setns(Source{Paths: join}, types); err != nil {
				return err
			}
			return start()
		}()
		errc <- err
		if err == nil {
			<-done // keep the forking thread (and so the child's pdeathsig) until the child ends
		}
	}()
	return <-errc
}
