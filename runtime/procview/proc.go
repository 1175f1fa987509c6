// Package procview reads what the kernel shows in /proc about processes and
// their namespaces, and assembles it into views: the PID a process has at
// every level (struct pid / struct upid), process trees with one PID column
// per PID-namespace level, id maps, and the namespace hierarchy.
//
// Every read goes through a Proc: a descriptor of one procfs instance opened
// once. Which /proc you read decides the answer (a procfs shows the PIDs of
// the PID namespace it was mounted for), so nsh opens the initial one at
// start and keeps it even if the shell later moves to another mount
// namespace.
package procview

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// Proc is one procfs instance, held open.
type Proc struct {
	fd   int
	Path string
}

// Open holds the procfs mounted at path.
func Open(path string) (*Proc, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, kerr.New(fmt.Sprintf("open(%q)", path), err, kerr.Rules{
			{Errno: unix.ENOENT, Rule: "no such directory: mount a procfs there first (mount -t proc proc " + path + ")"},
		})
	}
	return &Proc{fd: fd, Path: path}, nil
}

// ReadFile reads PID/name ("self" and "thread-self" work as in /proc).
func (p *Proc) ReadFile(rel string) ([]byte, error) {
	fd, err := unix.Openat(p.fd, rel, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, p.procErr("open", rel, err)
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	var b []byte
	buf := make([]byte, 8192)
	for {
		n, err := f.Read(buf)
		b = append(b, buf[:n]...)
		if err == io.EOF || n == 0 && err == nil {
			break
		}
		if err != nil {
			// e.g. ESRCH: the process exited between open and read
			return nil, p.procErr("read", rel, err)
		}
	}
	return b, nil
}

// Inode is the inode of the namespace file PID/ns/TYPE.
func (p *Proc) Inode(pid int, typ string) (uint64, error) {
	var st unix.Stat_t
	rel := strconv.Itoa(pid) + "/ns/" + typ
	if err := unix.Fstatat(p.fd, rel, &st, 0); err != nil {
		return 0, p.procErr("stat", rel, err)
	}
	return st.Ino, nil
}

// OpenNS opens PID/ns/TYPE (for ioctl_ns queries); the caller closes it.
func (p *Proc) OpenNS(pid int, typ string) (int, error) {
	rel := strconv.Itoa(pid) + "/ns/" + typ
	fd, err := unix.Openat(p.fd, rel, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, p.procErr("open", rel, err)
	}
	return fd, nil
}

// Pids lists the processes this procfs shows, ascending.
func (p *Proc) Pids() ([]int, error) {
	fd, err := unix.Openat(p.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, p.procErr("open", ".", err)
	}
	d := os.NewFile(uintptr(fd), p.Path)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, p.procErr("getdents", ".", err)
	}
	var pids []int
	for _, n := range names {
		if id, err := strconv.Atoi(n); err == nil {
			pids = append(pids, id)
		}
	}
	sort.Ints(pids)
	return pids, nil
}

// Status is the part of /proc/PID/status the views use.
type Status struct {
	Pid    int
	Name   string
	State  string
	PPid   int
	NSpid  []int // outermost (this procfs's namespace) first
	Uid    [4]int
	Gid    [4]int
	CapEff uint64
	CapPrm uint64
	CapBnd uint64
	Thread int
	// SigBlk, SigIgn, SigCgt: blocked, ignored and caught signals, bit
	// n-1 for signal n (as /proc shows them).
	SigBlk, SigIgn, SigCgt uint64
}

// Ignores says whether the process ignores signal sig (SIG_IGN).
func (s *Status) Ignores(sig int) bool { return sig > 0 && sig <= 64 && s.SigIgn&(1<<(sig-1)) != 0 }

// ReadStatus parses PID/status; pid 0 is the calling thread
// (thread-self/status).
func (p *Proc) ReadStatus(pid int) (*Status, error) {
	dir := strconv.Itoa(pid)
	if pid == 0 {
		dir = "thread-self"
	}
	b, err := p.ReadFile(dir + "/status")
	if err != nil {
		return nil, err
	}
	return ParseStatus(pid, string(b)), nil
}

func ParseStatus(pid int, text string) *Status {
	s := &Status{Pid: pid}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			s.Name = v
		case "Pid":
			if s.Pid == 0 {
				s.Pid, _ = strconv.Atoi(v)
			}
		case "State":
			s.State = v
		case "PPid":
			s.PPid, _ = strconv.Atoi(v)
		case "NSpid":
			for _, f := range strings.Fields(v) {
				n, _ := strconv.Atoi(f)
				s.NSpid = append(s.NSpid, n)
			}
		case "Uid", "Gid":
			f := strings.Fields(v)
			for i := 0; i < 4 && i < len(f); i++ {
				n, _ := strconv.Atoi(f[i])
				if k == "Uid" {
					s.Uid[i] = n
				} else {
					s.Gid[i] = n
				}
			}
		case "CapEff":
			s.CapEff, _ = strconv.ParseUint(v, 16, 64)
		case "CapPrm":
			s.CapPrm, _ = strconv.ParseUint(v, 16, 64)
		case "CapBnd":
			s.CapBnd, _ = strconv.ParseUint(v, 16, 64)
		case "Threads":
			s.Thread, _ = strconv.Atoi(v)
		case "SigBlk":
			s.SigBlk, _ = strconv.ParseUint(v, 16, 64)
		case "SigIgn":
			s.SigIgn, _ = strconv.ParseUint(v, 16, 64)
		case "SigCgt":
			s.SigCgt, _ = strconv.ParseUint(v, 16, 64)
		}
	}
	if len(s.NSpid) == 0 {
		s.NSpid = []int{pid}
	}
	return s
}

// Cmdline is the process's command line joined by spaces, or [name] for a
// kernel thread or a zombie.
func (p *Proc) Cmdline(pid int, name string) string {
	b, err := p.ReadFile(strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return "[" + name + "]"
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}
