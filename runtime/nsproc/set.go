package nsproc

import (
	"math/bits"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Set is a set of namespace types. Its bits are the types' CLONE_NEW* flags,
// so a Set is also the clone(2)/unshare(2) flag mask of its types.
type Set uint64

// The namespace types, each a one-element Set.
const (
	Mnt    Set = unix.CLONE_NEWNS
	UTS    Set = unix.CLONE_NEWUTS
	IPC    Set = unix.CLONE_NEWIPC
	PID    Set = unix.CLONE_NEWPID
	Net    Set = unix.CLONE_NEWNET
	User   Set = unix.CLONE_NEWUSER
	Cgroup Set = unix.CLONE_NEWCGROUP
	Time   Set = unix.CLONE_NEWTIME

	// All is every type the kernel has.
	All = Mnt | UTS | IPC | PID | Net | User | Cgroup | Time
)

// SetOf is the set of the given types.
func SetOf(ts ...Type) Set {
	var s Set
	for _, t := range ts {
		s |= Set(t.Flag)
	}
	return s
}

// ParseSet reads type names as ParseTypes does ("pid,mnt", {"pid", "mnt"},
// aliases such as "mount"). An empty list is an error.
func ParseSet(words ...string) (Set, error) {
	ts, err := ParseTypes(words...)
	return SetOf(ts...), err
}

// Has says whether s holds every type of t (t non-empty): s.Has(User).
func (s Set) Has(t Set) bool { return t != 0 && s&t == t }

// Add is s with the types of t added.
func (s Set) Add(t Set) Set { return s | t }

// Without is s with the types of t removed.
func (s Set) Without(t Set) Set { return s &^ t }

// Empty says whether s holds no type.
func (s Set) Empty() bool { return s&All == 0 }

// Len is the number of types in s.
func (s Set) Len() int { return bits.OnesCount64(uint64(s & All)) }

// Flags is the CLONE_NEW* mask of s, for clone(2), unshare(2), setns(2).
func (s Set) Flags() uintptr { return uintptr(s & All) }

// Types lists the types of s in the canonical order of Types.
func (s Set) Types() []Type {
	var out []Type
	for _, t := range Types {
		if s.Has(Set(t.Flag)) {
			out = append(out, t)
		}
	}
	return out
}

// Type is the one type of a one-element set (false for any other set).
func (s Set) Type() (Type, bool) {
	ts := s.Types()
	if len(ts) != 1 {
		return Type{}, false
	}
	return ts[0], true
}

// Names lists the names of s in the canonical order of Types.
func (s Set) Names() []string {
	var out []string
	for _, t := range s.Types() {
		out = append(out, t.Name)
	}
	return out
}

// String is the comma-separated names of s in alphabetical order
// ("mnt,pid"), as nsh prints them in calls and handles.
func (s Set) String() string {
	n := s.Names()
	sort.Strings(n)
	return strings.Join(n, ",")
}

// GoString shows s as Go code, for test failures.
func (s Set) GoString() string {
	if s.Empty() {
		return "nsproc.Set(0)"
	}
	var parts []string
	for _, t := range s.Types() {
		parts = append(parts, "nsproc."+constName(t.Name))
	}
	return strings.Join(parts, "|")
}

// constName is the name of the constant of the type called name.
func constName(name string) string {
	switch name {
	case "uts", "ipc", "pid":
		return strings.ToUpper(name)
	}
	return strings.ToUpper(name[:1]) + name[1:] // Mnt, Net, User, Cgroup, Time
}

// Set is the one-element set of t.
func (t Type) Set() Set { return Set(t.Flag) }

// ForChildren are the types whose unshare(2) or setns(2) moves only the
// thread's next children, not the thread itself.
const ForChildren = PID | Time

// ChildrenFile is the name, in /proc/PID/ns, of the namespace the thread's
// next children get: "pid_for_children" and "time_for_children" for the
// ForChildren types, else the type's own name.
func (t Type) ChildrenFile() string {
	if ForChildren.Has(t.Set()) {
		return t.Name + "_for_children"
	}
	return t.Name
}
