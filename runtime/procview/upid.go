package procview

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// UPID is one entry of the kernel's struct pid numbers[]: the process's
// number in one PID namespace.
type UPID struct {
	Nr      int    // the PID at this level
	NS      uint64 // inode of that PID namespace
	Init    int    // the PID (as this procfs sees it) of that namespace's PID 1; 0 if none is alive
	InitCmd string
}

// PIDView is the kernel's struct pid of one process: Level is the depth of
// its PID namespace (0 = the namespace of this procfs), Numbers[0] the
// outermost and Numbers[Level] the process's own namespace.
type PIDView struct {
	Pid     int
	Level   int
	Numbers []UPID
	Cmd     string
}

// UPIDs reads the struct pid of a process: NSpid from its status (through
// this procfs), and the PID namespaces of each level by walking
// NS_GET_PARENT up from the process's own.
func (p *Proc) UPIDs(pid int) (*PIDView, error) {
	st, err := p.ReadStatus(pid)
	if err != nil {
		return nil, err
	}
	v := &PIDView{Pid: pid, Level: len(st.NSpid) - 1, Cmd: p.Cmdline(pid, st.Name)}
	chain, err := p.pidnsChain(pid)
	if err != nil {
		return nil, err
	}
	// chain is innermost first; NSpid is outermost first
	inits := p.initsOf(chain)
	for i, nr := range st.NSpid {
		u := UPID{Nr: nr}
		ci := len(st.NSpid) - 1 - i
		if ci < len(chain) {
			u.NS = chain[ci]
			if ip, ok := inits[u.NS]; ok {
				u.Init = ip
				if s, err := p.ReadStatus(ip); err == nil {
					u.InitCmd = p.Cmdline(ip, s.Name)
				}
			}
		}
		v.Numbers = append(v.Numbers, u)
	}
	return v, nil
}

// pidnsChain is the process's PID namespace and its ancestors, innermost
// first, as far up as the caller may see.
func (p *Proc) pidnsChain(pid int) ([]uint64, error) {
	fd, err := p.OpenNS(pid, "pid")
	if err != nil {
		return nil, err
	}
	var chain []uint64
	for i := 0; i < 40; i++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			chain = append(chain, st.Ino)
		}
		parent, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
		unix.Close(fd)
		if err != nil {
			break
		}
		fd = parent
	}
	return chain, nil
}

// initsOf finds, for each namespace in nss, the process that is its PID 1.
func (p *Proc) initsOf(nss []uint64) map[uint64]int {
	want := map[uint64]bool{}
	for _, n := range nss {
		want[n] = true
	}
	out := map[uint64]int{}
	pids, _ := p.Pids()
	for _, pid := range pids {
		ino, err := p.Inode(pid, "pid")
		if err != nil {
			// some inits hide their ns links (not dumpable); the
			// outermost namespace's init is still the one numbered
			// [1] at level 0
			if st, serr := p.ReadStatus(pid); serr == nil && len(st.NSpid) == 1 && st.NSpid[0] == 1 && len(nss) > 0 {
				ino = nss[len(nss)-1]
			} else {
				continue
			}
		}
		if !want[ino] {
			continue
		}
		if _, done := out[ino]; done {
			continue
		}
		st, err := p.ReadStatus(pid)
		if err == nil && st.NSpid[len(st.NSpid)-1] == 1 {
			out[ino] = pid
		}
	}
	return out
}

// String draws the struct pid as the kernel holds it.
func (v *PIDView) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "struct pid of %d (%s): level = %d\n", v.Pid, clip(v.Cmd, 50), v.Level)
	for i, u := range v.Numbers {
		init := "no PID 1 alive"
		if u.Init != 0 {
			init = fmt.Sprintf("its PID 1 is %d %s", u.Init, clip(u.InitCmd, 30))
		}
		mark := ""
		if i == v.Level {
			mark = "  <- its own namespace"
		}
		fmt.Fprintf(&b, "  numbers[%d] = { nr = %-6d ns = pid:[%d] }  %s%s\n", i, u.Nr, u.NS, init, mark)
	}
	return strings.TrimRight(b.String(), "\n")
}
