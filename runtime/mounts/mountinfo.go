package mounts

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"nsh/runtime/kerr"
)

// Entry is one line of /proc/<pid>/mountinfo (see proc(5)).
type Entry struct {
	ID, Parent   int    // mount ID and the ID of the parent mount
	Major, Minor int    // st_dev of files on this mount
	Root         string // the directory of the filesystem shown here ("/" unless a bind of a subtree)
	Target       string // the mount point, relative to the reader's root
	Options      string // per-mount options (ro, nosuid, relatime, ...)
	FSType       string // e.g. "ext4", "tmpfs", "fuse.sshfs"
	Source       string // filesystem-specific source, "none" when empty
	SuperOptions string // per-superblock options

	// Propagation is the raw optional fields ("shared:5", "master:3",
	// "propagate_from:2", "unbindable"), or ["private"] when there are none.
	Propagation []string
	// Shared is the peer group this mount shares events with (0: not shared).
	Shared int
	// Master is the peer group this mount receives events from (0: not a slave).
	Master int
	// PropagateFrom is the nearest dominant peer group reachable from this
	// namespace when the master itself is not (0: not shown).
	PropagateFrom int
}

// Kind is the propagation type the way findmnt's PROPAGATION column spells
// it: "shared" or "private", then ",slave" for a slave and ",unbindable".
func (e Entry) Kind() string {
	k := "private"
	if e.Shared != 0 {
		k = "shared"
	}
	if e.Master != 0 {
		k += ",slave"
	}
	for _, p := range e.Propagation {
		if p == "unbindable" {
			k += ",unbindable"
		}
	}
	return k
}

// List reads the mount table of process pid from /proc/<pid>/mountinfo;
// pid 0 reads /proc/thread-self/mountinfo, the calling thread's table.
func List(pid int) ([]Entry, error) {
	path := "/proc/thread-self/mountinfo"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/mountinfo", pid)
	}
	f, err := os.Open(path)
	if err != nil {
		rule := "no such process (or it has exited)"
		var st unix.Statfs_t
		if unix.Statfs("/proc", &st) != nil || st.Type != unix.PROC_SUPER_MAGIC {
			rule = "/proc is not a procfs in this mount namespace: mount tables are read from a mounted proc"
		}
		return nil, kerr.New(fmt.Sprintf("open(%q)", path), err, kerr.Rules{{Errno: unix.ENOENT, Rule: rule}})
	}
	defer f.Close()
	return ParseMountinfo(f)
}

// ParseMountinfo parses text in the format of /proc/<pid>/mountinfo.
func ParseMountinfo(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		e, err := parseLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// parseLine parses one mountinfo line:
// 36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
func parseLine(line string) (Entry, error) {
	f := strings.Split(line, " ")
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 10 || sep < 0 || len(f) < sep+4 {
		return Entry{}, fmt.Errorf("malformed: %q", line)
	}
	var e Entry
	var err error
	if e.ID, err = strconv.Atoi(f[0]); err != nil {
		return e, fmt.Errorf("mount ID %q: %w", f[0], err)
	}
	if e.Parent, err = strconv.Atoi(f[1]); err != nil {
		return e, fmt.Errorf("parent ID %q: %w", f[1], err)
	}
	maj, min, ok := strings.Cut(f[2], ":")
	if !ok {
		return e, fmt.Errorf("major:minor %q", f[2])
	}
	if e.Major, err = strconv.Atoi(maj); err != nil {
		return e, fmt.Errorf("major %q: %w", maj, err)
	}
	if e.Minor, err = strconv.Atoi(min); err != nil {
		return e, fmt.Errorf("minor %q: %w", min, err)
	}
	e.Root = Unescape(f[3])
	e.Target = Unescape(f[4])
	e.Options = f[5]
	for _, opt := range f[6:sep] {
		e.Propagation = append(e.Propagation, opt)
		tag, num, _ := strings.Cut(opt, ":")
		n, _ := strconv.Atoi(num)
		switch tag {
		case "shared":
			e.Shared = n
		case "master":
			e.Master = n
		case "propagate_from":
			e.PropagateFrom = n
		}
	}
	if len(e.Propagation) == 0 {
		e.Propagation = []string{"private"}
	}
	e.FSType = Unescape(f[sep+1])
	e.Source = Unescape(f[sep+2])
	e.SuperOptions = Unescape(strings.Join(f[sep+3:], " "))
	return e, nil
}

// Unescape undoes the kernel's octal escapes in mountinfo fields: space
// (\040), tab (\011), newline (\012) and backslash (\134).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			n, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '7' {
			return false
		}
	}
	return s[0] <= '3'
}
