package netlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"nsh/runtime/nsproc"
)

// A lab in a user namespace of its own (LabOptions.UserNS), the trick
// Samba's selftest plays with `unshare --user --map-root-user`: every
// namespace of the lab is owned by one new user namespace, where the
// nodes' processes are root, with every capability over the lab's
// namespaces and none over the machine's.
//
// A Go program cannot enter a user namespace (setns(2) of one needs a
// single-threaded caller), and a namespace belongs to the user namespace
// of the process that creates it. So the lab's namespaces are created by
// processes inside it: the hub by the user namespace's own first process
// (cloned with CLONE_NEWUSER|CLONE_NEWNET, the lab's "userns holder"), each
// node by nsenter(1) --user into it, then unshare(1) of the node's types,
// then its holder. nsh, root in the user namespace's parent, reaches all of
// them from outside (setns needs CAP_SYS_ADMIN over the owner: it has it).

// userNSRoot is the outside uid (and gid) of root inside a lab's user
// namespace: nobody (65534) when nsh runs in the machine's initial user
// namespace as root — mapping root to root, as `unshare --map-root-user`
// run by root does, would leave the nodes uid 0 for every file on the
// machine (/etc, /proc/sys/kernel/*) —, else nsh's own root (the ordinary
// user who started nsh, outside).
func userNSRoot() int {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err == nil && strings.Fields(string(b)) != nil && strings.Join(strings.Fields(string(b)), " ") == "0 0 4294967295" {
		return 65534
	}
	return os.Geteuid()
}

// startUserNS starts the lab's user namespace with its first process,
// which also holds the hub's network namespace, and opens the hub.
func (l *Lab) startUserNS() (*NS, error) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		return nil, fmt.Errorf("a lab's user namespace is held by sleep(1): %v", err)
	}
	out := userNSRoot()
	zero := 0
	// Mapped to nobody by root: setgroups allowed (root has CAP_SETGID over
	// the parent), so that nsenter(1) --user may set root's groups there as
	// it enters. Mapped to nsh's own root (an ordinary user): "deny", the
	// one way an id map of one's own id is written without privilege;
	// nsenter then keeps nsh's ids (--preserve-credentials), root there.
	setgroups := "deny"
	if out != os.Geteuid() {
		setgroups = "allow"
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	p, err := nsproc.Start(nsproc.Spec{Argv: []string{sleep, "infinity"}, Types: nsproc.User | nsproc.Net,
		UIDMap: []nsproc.IDMap{{Inside: 0, Outside: out, Count: 1}}, GIDMap: []nsproc.IDMap{{Inside: 0, Outside: out, Count: 1}},
		Setgroups: setgroups, MapUID: &zero, MapGID: &zero, Stdin: null, Stdout: null, Stderr: null})
	if err != nil {
		return nil, err
	}
	l.userNS, l.userNSRoot = p, out
	l.note("child", strconv.Itoa(p.Pid))
	ns, err := Open(PID(p.Pid))
	if err != nil {
		return nil, err
	}
	ns.name = l.name + " (outer)"
	if err := ns.prepare(l.sysctls...); err != nil {
		ns.Close()
		return nil, err
	}
	return ns, nil
}

// UserNS is the path of the lab's own user namespace, "" when it has none.
func (l *Lab) UserNS() string {
	if l.userNS == nil || !l.userNS.Alive() {
		return ""
	}
	return nsproc.NSPath(l.userNS.Pid, "user")
}

// UserNSRoot is the outside uid of root in the lab's user namespace.
func (l *Lab) UserNSRoot() int { return l.userNSRoot }

// userNSTypes are what a node of a user-namespace lab may have besides its
// network namespace: what unshare(1) makes without forking.
var userNSTypes = nsproc.UTS | nsproc.Mnt | nsproc.IPC | nsproc.Cgroup

// startUserNSHolder starts a node's holder inside the lab's user namespace:
// nsenter(1) joins it (as root there), unshare(1) makes the node's network
// namespace and its other types, setpriv(1) gives the holder a
// parent-death signal again (the change of ids cleared nsh's), and sh says
// ready and becomes sleep(1); one process all along. A hostname and /etc
// files are then set from outside, by a child of nsh joining the node.
func (n *Node) startUserNSHolder() (*NS, error) {
	if extra := n.types.Without(userNSTypes); !extra.Empty() {
		return nil, fmt.Errorf("a node of a lab with userns has no %s namespace of its own (unshare(1) would have to fork); it may have uts, mnt, ipc, cgroup", extra)
	}
	var paths []string
	for _, t := range []string{"nsenter", "unshare", "setpriv", "sh", "sleep"} {
		p, err := exec.LookPath(t)
		if err != nil {
			return nil, fmt.Errorf("a node of a lab with userns is started by nsenter(1), unshare(1) and setpriv(1): %v", err)
		}
		paths = append(paths, p)
	}
	argv := []string{paths[0], "--user=" + n.lab.UserNS()}
	if n.lab.userNSRoot == os.Geteuid() {
		argv = append(argv, "--preserve-credentials")
	}
	argv = append(argv, "--", paths[1], "--net")
	for _, t := range n.types.Types() {
		argv = append(argv, "--"+NsenterFlag(t.Name))
	}
	argv = append(argv, "--", paths[2], "--pdeathsig", "KILL", "--", paths[3], "-c", "echo ready; exec "+paths[4]+" infinity")
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		return nil, err
	}
	defer null.Close()
	p, err := nsproc.Start(nsproc.Spec{Argv: argv, Stdin: null, Stdout: w, Stderr: null})
	w.Close()
	if err != nil {
		return nil, err
	}
	n.holder = p
	n.lab.note("child", strconv.Itoa(p.Pid))
	// nsh reaches the node through the holder's pidfd (nsproc's, opened
	// before the holder could be reaped, so it names the holder)
	if err := p.UsePidfd(func(int) error { return nil }); err != nil {
		return nil, fmt.Errorf("pidfd_open(%d) of node %s's holder: %w", p.Pid, n.Name, err)
	}
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	if nr, _ := r.Read(buf); string(buf[:nr]) != holderReady {
		n.killHolder()
		return nil, fmt.Errorf("the node's holder did not start in the lab's user namespace (nsenter/unshare exit code %d)", p.Status().Code)
	}
	ns, err := n.Open()
	if err != nil {
		return nil, err
	}
	if err := ns.prepare(n.lab.sysctls...); err != nil {
		ns.Close()
		return nil, err
	}
	if err := n.configure(); err != nil {
		ns.Close()
		return nil, err
	}
	return ns, nil
}

// configure sets the node's hostname and /etc files from outside (nsh,
// root in the user namespace's parent, may): the hostname on a thread
// that joins the holder's UTS namespace and is then retired, the files by
// a child of nsh that joins its mount namespace and runs the set-up step.
func (n *Node) configure() error {
	files, err := n.etcFiles(n.opts)
	if err != nil {
		return err
	}
	if n.hostname != "" {
		fds, err := n.openNS("uts")
		if err != nil {
			return err
		}
		err = setHostnameIn(fds[0], n.hostname)
		unix.Close(fds[0])
		if err != nil {
			return fmt.Errorf("hostname %s in node %s: %w", n.hostname, n.Name, err)
		}
	}
	if len(files) == 0 {
		return nil
	}
	fds, err := n.openNS("mnt")
	if err != nil {
		return err
	}
	defer unix.Close(fds[0])
	truePath, err := exec.LookPath("true")
	if err != nil {
		return fmt.Errorf("the node's /etc files are mounted by a child that then runs true(1): %v", err)
	}
	p, err := nsproc.Start(nsproc.Spec{Argv: []string{truePath}, Join: map[string]string{"mnt": fmt.Sprintf("/proc/thread-self/fd/%d", fds[0])},
		Setup: nsproc.Setup{Steps: []nsproc.Step{{Name: EtcStep, Args: EtcArgs(files)}}}})
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		p.Signal(unix.SIGKILL)
		return errors.New("mounting the node's /etc files timed out")
	}
	if st := p.Status(); st.Code != 0 {
		return fmt.Errorf("mounting node %s's /etc files: %s (exit code %d)", n.Name, st.ErrorMsg, st.Code)
	}
	return nil
}

// setHostnameIn sets the hostname of the UTS namespace fd on a thread of
// its own, never unlocked, so that it is retired with the namespace it
// joined (it forked nothing).
func setHostnameIn(fd int, name string) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
			ch <- fmt.Errorf("setns(uts): %w", err)
			return
		}
		ch <- unix.Sethostname([]byte(name))
	}()
	return <-ch
}

// prepare writes sysctls (KEY, VALUE pairs) in the namespace and brings
// lo up, as newNetNS does for the namespaces nsh makes itself.
func (ns *NS) prepare(sysctls ...string) error {
	err := ns.Do(func() error {
		for i := 0; i+1 < len(sysctls); i += 2 {
			if err := writeSysctl(sysctls[i], sysctls[i+1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ns.SetUp("lo")
}
