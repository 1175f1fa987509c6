package procview

import (
	"fmt"
	"strconv"
	"strings"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// MapLine is one line of uid_map or gid_map.
type MapLine struct {
	Inside, Outside, Count int
}

// IDView is a process's user-namespace identity.
type IDView struct {
	Pid       int
	UIDMap    []MapLine
	GIDMap    []MapLine
	Setgroups string // "allow", "deny"
	UserNS    uint64
	UID, GID  int // real ids as the reader (outside) sees them; 65534 = unmapped here
	InUID     int // the uid the process has inside its namespace (-1: not mapped)
	InGID     int
	Overflow  int // /proc/sys/kernel/overflowuid
	Root      bool
	Unmappeds bool // the map is still empty
}

func parseMap(text string) []MapLine {
	var out []MapLine
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		a, _ := strconv.Atoi(f[0])
		b, _ := strconv.Atoi(f[1])
		c, _ := strconv.ParseInt(f[2], 10, 64)
		out = append(out, MapLine{a, b, int(c)})
	}
	return out
}

// toInside maps an outside id through m; -1 when unmapped.
func toInside(m []MapLine, outside int) int {
	for _, l := range m {
		if outside >= l.Outside && outside-l.Outside < l.Count {
			return l.Inside + outside - l.Outside
		}
	}
	return -1
}

// toOutside maps an inside id through m; -1 when unmapped.
func toOutside(m []MapLine, inside int) int {
	for _, l := range m {
		if inside >= l.Inside && inside-l.Inside < l.Count {
			return l.Outside + inside - l.Inside
		}
	}
	return -1
}

func selfUserNS() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/user", &st); err != nil {
		return 0, kerr.New(`stat("/proc/thread-self/ns/user")`, err, procRules)
	}
	return st.Ino, nil
}

// IDMaps reads uid_map, gid_map, setgroups and the ids of a process.
func (p *Proc) IDMaps(pid int) (*IDView, error) {
	base := strconv.Itoa(pid)
	st, err := p.ReadStatus(pid)
	if err != nil {
		return nil, err
	}
	v := &IDView{Pid: pid, UID: st.Uid[0], GID: st.Gid[0], Overflow: 65534}
	if b, err := p.ReadFile(base + "/uid_map"); err == nil {
		v.UIDMap = parseMap(string(b))
	}
	if b, err := p.ReadFile(base + "/gid_map"); err == nil {
		v.GIDMap = parseMap(string(b))
	}
	if b, err := p.ReadFile(base + "/setgroups"); err == nil {
		v.Setgroups = strings.TrimSpace(string(b))
	}
	if ino, err := p.Inode(pid, "user"); err == nil {
		v.UserNS = ino
	}
	if b, err := p.ReadFile("sys/kernel/overflowuid"); err == nil {
		v.Overflow, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	v.Unmappeds = len(v.UIDMap) == 0
	if mine, err := selfUserNS(); err == nil && mine == v.UserNS {
		// Read from inside the same user namespace, status shows the ids
		// as they are inside; the map gives the outside ones.
		v.InUID, v.InGID = v.UID, v.GID
		v.UID, v.GID = toOutside(v.UIDMap, v.InUID), toOutside(v.GIDMap, v.InGID)
	} else {
		v.InUID, v.InGID = toInside(v.UIDMap, v.UID), toInside(v.GIDMap, v.GID)
	}
	v.Root = v.InUID == 0
	return v, nil
}

func fmtMap(m []MapLine) string {
	if len(m) == 0 {
		return "    (empty: nothing mapped yet)\n"
	}
	var b strings.Builder
	for _, l := range m {
		fmt.Fprintf(&b, "    %10d %10d %10d\n", l.Inside, l.Outside, l.Count)
	}
	return b.String()
}

// Sentence explains the ids in one sentence.
func (v *IDView) Sentence() string {
	switch {
	case v.Unmappeds:
		return fmt.Sprintf("Process %d is in user namespace user:[%d] whose uid_map is still empty: inside, every id shows as the overflow uid %d until a map is written.", v.Pid, v.UserNS, v.Overflow)
	case v.InUID < 0:
		return fmt.Sprintf("Process %d runs as uid %d outside, which its namespace does not map: it appears as %d.", v.Pid, v.UID, v.Overflow)
	case v.InUID == v.UID && len(v.UIDMap) == 1 && v.UIDMap[0].Count > 1<<30:
		return fmt.Sprintf("Process %d is uid %d, in a user namespace with the identity map (the initial one, or a copy of it): inside and outside agree.", v.Pid, v.UID)
	default:
		who := fmt.Sprintf("uid %d", v.InUID)
		if v.InUID == 0 {
			who = "root (uid 0)"
		}
		return fmt.Sprintf("Process %d is %s inside user:[%d], and uid %d (gid %d) outside: what it does to things outside its namespaces is checked as uid %d.", v.Pid, who, v.UserNS, v.UID, v.GID, v.UID)
	}
}

// String prints the maps with the explanation.
func (v *IDView) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "id maps of %d (user:[%d]), setgroups = %s\n", v.Pid, v.UserNS, v.Setgroups)
	fmt.Fprintf(&b, "  uid_map      inside    outside      count\n%s", fmtMap(v.UIDMap))
	fmt.Fprintf(&b, "  gid_map      inside    outside      count\n%s", fmtMap(v.GIDMap))
	fmt.Fprintf(&b, "  uid outside %s -> inside %s; gid outside %s -> inside %s\n", idText(v.UID), idText(v.InUID), idText(v.GID), idText(v.InGID))
	b.WriteString("  " + v.Sentence())
	return b.String()
}

func idText(id int) string {
	if id < 0 {
		return "unmapped"
	}
	return fmt.Sprint(id)
}
