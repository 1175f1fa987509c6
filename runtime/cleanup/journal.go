package cleanup

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Record is one thing an nsh process made, written down so that another
// nsh can undo it after this one died without cleaning up (SIGKILL, a
// crash, the machine's OOM killer).
type Record struct {
	// Kind is "child", "pin", "mount", "cgroup", "dir", "link" or "ipc".
	Kind string `json:"kind"`
	// Path is the pin's file, the mount's target, the cgroup's or the
	// directory's path, the link's name, or the System V kind ("sem",
	// "shm", "msg").
	Path string `json:"path,omitempty"`
	// Pid and Start (field 22 of /proc/PID/stat) name a child for its
	// whole life: a pid reused by another process does not match.
	Pid   int    `json:"pid,omitempty"`
	Start uint64 `json:"start,omitempty"`
	// NS is the inode of the namespace the thing lives in: the mount
	// namespace of a pin, a mount or a directory, the network namespace
	// of a link.
	NS uint64 `json:"ns,omitempty"`

	// Identity, proved before anything is removed: paths, System V ids,
	// peer groups and namespace inodes are reused, and another process
	// may hold the same name now.
	//
	// Dev and Ino are stat(2)'s st_dev and st_ino of Path when it was
	// recorded: a cgroup's or a directory's own inode, a pin's namespace
	// file (or, recorded before its bind mount, the pin file itself).
	// Btime is its birth time (statx STATX_BTIME, nanoseconds), where the
	// filesystem keeps one: inode numbers are reused at once.
	Dev   uint64 `json:"dev,omitempty"`
	Ino   uint64 `json:"ino,omitempty"`
	Btime int64  `json:"btime,omitempty"`
	// MntID is a mount's unique id (statx STATX_MNT_ID_UNIQUE: never
	// reused while the machine runs).
	MntID uint64 `json:"mnt_id,omitempty"`
	// Group, for a mount a child made in a mount namespace of its own
	// under a shared mount: the peer group its copies elsewhere share;
	// the record then names its copies in namespace NS, which also have
	// the filesystem MntDev ("major:minor").
	Group  int    `json:"group,omitempty"`
	MntDev string `json:"mnt_dev,omitempty"`
	// Index is a link's ifindex in its network namespace.
	Index int `json:"index,omitempty"`
	// A System V object (Kind "ipc"): its id, key, creation time
	// (IPC_STAT's ctime, seconds), creator uid, and for a shared memory
	// segment the creator's pid (as IPC_STAT shows it); NS is the IPC
	// namespace's inode.
	IPCID int   `json:"ipc_id,omitempty"`
	Key   int   `json:"key,omitempty"`
	Ctime int64 `json:"ctime,omitempty"`
	Cuid  int   `json:"cuid,omitempty"`
	Cpid  int   `json:"cpid,omitempty"`
}

func (r Record) String() string {
	switch r.Kind {
	case "child":
		return fmt.Sprintf("child %d", r.Pid)
	case "ipc":
		return fmt.Sprintf("System V %s %d", r.Path, r.IPCID)
	case "mount":
		if r.Group != 0 {
			return fmt.Sprintf("mount %s (copies in peer group %d)", r.Path, r.Group)
		}
		return "mount " + r.Path
	default:
		return r.Kind + " " + r.Path
	}
}

// Journal is the durable record of one nsh process: the file
// DIR/PID.START, appended to ("+ID JSON" when a thing is made, "-ID" when
// it is undone, kept or forgotten, "~PREFIX" when a child whose ids start
// with PREFIX is kept) before the binding that made it returns. The process holds an exclusive flock(2) on it for its whole
// life, so a journal whose lock can be taken belongs to a dead process.
type Journal struct {
	mu     sync.Mutex
	f      *os.File
	path   string
	prefix string // of this process's ids: "" for the owner, "c<random>." for a child
	next   int
	live   int
	owner  bool
	seen   journalIndex // what Entries has read of the file (journalindex.go)
}

// JournalName is the file name of process pid's journal.
func JournalName(pid int, start uint64) string {
	return strconv.Itoa(pid) + "." + strconv.FormatUint(start, 10)
}

// OpenJournal creates this process's journal in dir (a directory only its
// owner can write: runtime/statedir) and locks it.
func OpenJournal(dir string, pid int, start uint64) (*Journal, error) {
	p := filepath.Join(dir, JournalName(pid, start))
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|unix.O_APPEND|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", p, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("journal %s: flock: %w", p, err)
	}
	return &Journal{f: os.NewFile(uintptr(fd), p), path: p, owner: true}, nil
}

// JournalEnv names the journal of the nsh that started a re-executed
// child (ns.clone): the child writes what it makes into its parent's
// journal, so what outlives the child is the parent's to undo.
const JournalEnv = "NSH_JOURNAL"

// PrefixEnv carries the prefix of a child's ids in the journal, chosen by
// its parent (ChildPrefix), so that the parent can name everything the
// child and its own children record (KeepPrefix).
const PrefixEnv = "NSH_JOURNAL_PREFIX"

// JoinJournal opens the parent's journal at path for appending, with ids
// of this process's own: prefix (from the parent), or a random one.
func JoinJournal(path, prefix string) (*Journal, error) {
	// read as well as appended to: Entries reads through this descriptor
	// (the path may not resolve any more where the child has moved)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_APPEND|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if prefix == "" {
		prefix = randomPrefix("")
	}
	return &Journal{f: os.NewFile(uintptr(fd), path), path: path, prefix: prefix}, nil
}

func randomPrefix(parent string) string {
	var rnd [4]byte
	unix.Getrandom(rnd[:], 0)
	return fmt.Sprintf("%sc%x.", parent, rnd)
}

// ChildPrefix is a new prefix for the ids of a child this process starts:
// its own prefix and a random part, so that a child's children share it.
func (j *Journal) ChildPrefix() string {
	if j == nil {
		return ""
	}
	return randomPrefix(j.prefix)
}

// KeepPrefix writes down that the records with ids of prefix (a child
// h:keep() leaves running, and its children) are kept: no one undoes
// them, as with any kept thing.
func (j *Journal) KeepPrefix(prefix string) {
	if j == nil || prefix == "" {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.write("~" + prefix + "\n")
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

func (j *Journal) add(recs []Record) []string {
	if j == nil || len(recs) == 0 {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var b strings.Builder
	ids := make([]string, len(recs))
	for i, r := range recs {
		j.next++
		ids[i] = j.prefix + strconv.Itoa(j.next)
		js, _ := json.Marshal(r)
		fmt.Fprintf(&b, "+%s %s\n", ids[i], js)
	}
	j.live += len(recs)
	j.write(b.String())
	return ids
}

// write appends entries in one write(2), starting on a line of its own
// (after a torn write, from a full disk say, the next entry is still
// read).
func (j *Journal) write(s string) {
	if j.f == nil {
		return // closed: the process is ending
	}
	j.f.WriteString("\n" + s)
}

func (j *Journal) drop(ids []string) {
	if j == nil || len(ids) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "-%s\n", id)
	}
	j.live -= len(ids)
	j.write(b.String())
}

// Close closes the journal. The owner removes it when it records nothing
// any more (see Left), and otherwise leaves it, unlocked, for the next nsh
// to clean up.
func (j *Journal) Close() {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return
	}
	if j.owner {
		if recs, err := ReadJournal(j.path); err == nil && len(recs) == 0 {
			os.Remove(j.path)
		}
	}
	j.f.Close()
	j.f = nil
}

// Truncate empties the journal: everything it recorded is undone.
func (j *Journal) Truncate() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil {
		j.f.Truncate(0)
	}
}

// Left lists what the journal still records, oldest first: what this
// process has not undone yet, and what its children (ns.clone) made and
// did not undo before they ended.
func (j *Journal) Left() ([]Record, error) {
	if j == nil {
		return nil, nil
	}
	return ReadJournal(j.path)
}

// ReadJournal lists what a journal still records, oldest first.
func ReadJournal(path string) ([]Record, error) {
	es, err := readEntries(path)
	out := make([]Record, 0, len(es))
	for _, e := range es {
		out = append(out, e.Rec)
	}
	return out, err
}

// Entry is one record a journal still holds, with its id.
type Entry struct {
	ID  string
	Rec Record
}

// Entries lists what the journal still records under ids of prefix (a
// child's, and its own children's), oldest first: what the child left
// when it ended, for its parent to adopt. It reads only what was written
// since its last call (journalindex.go): a script that clones 2,000
// times wrote 4,000 lines, and reading them all at every child's end made
// each clone slower than the one before.
func (j *Journal) Entries(prefix string) []Entry {
	if j == nil || prefix == "" {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	j.seen.update(j.f, false)
	return j.seen.entries(prefix)
}

func readEntries(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var x journalIndex
	err = x.update(f, true)
	return x.entries(""), err
}

func keptBy(id string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

// Locked reports whether a live process holds the journal at path (its
// owner, or another nsh cleaning it up right now). When it does not, the
// returned unlock function keeps the journal locked for the caller until
// called.
func Locked(path string) (bool, func()) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return true, nil
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		return true, nil
	}
	return false, func() { unix.Close(fd) }
}

// StatID is st_dev, st_ino and the birth time (nanoseconds; 0 where the
// filesystem keeps none) of path, following a last symlink and a mount on
// it, for a Record's Dev, Ino and Btime; zeros when it cannot be read.
func StatID(path string) (dev, ino uint64, btime int64) {
	var st unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, path, unix.AT_NO_AUTOMOUNT, unix.STATX_INO|unix.STATX_BTIME, &st) != nil {
		return 0, 0, 0
	}
	if st.Mask&unix.STATX_BTIME != 0 {
		btime = st.Btime.Sec*1e9 + int64(st.Btime.Nsec)
	}
	return unix.Mkdev(st.Dev_major, st.Dev_minor), st.Ino, btime
}

// ThreadNS is the inode of the calling thread's namespace of type typ
// ("mnt", "net"), for a Record's NS; 0 when it cannot be read.
func ThreadNS(typ string) uint64 {
	var st unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/"+typ, &st) != nil {
		return 0
	}
	return st.Ino
}
