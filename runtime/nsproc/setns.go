package nsproc

import (
	"fmt"
	"os"
	"strings"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// A Source names where to find namespaces to join: a process (Pid), or one
// file per type (Paths, e.g. a pinned /run/netns/NAME or an open /proc fd
// path). With Pid, Paths is ignored.
type Source struct {
	Pid   int
	Paths map[string]string
}

func (s Source) path(t Type) string {
	if s.Paths != nil {
		if p, ok := s.Paths[t.Name]; ok {
			return p
		}
	}
	return NSPath(s.Pid, t.Name)
}

func (s Source) String() string {
	if s.Paths != nil && s.Pid == 0 {
		var parts []string
		for _, t := range Types {
			if p, ok := s.Paths[t.Name]; ok {
				parts = append(parts, p)
			}
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(s.Pid)
}

// Setns moves the calling (locked) thread into the namespaces of src. All
// namespace files are opened first, so that joining a mount namespace (whose
// /proc may differ) cannot make the remaining ones unreachable.
func Setns(src Source, types Set) error {
	call := fmt.Sprintf("setns(%s, %q)", src, types.String())
	if types.Has(PID) {
		primeBeforePIDNS()
	}
	if types.Has(User) {
		return &kerr.Error{Call: call, Errno: unix.EINVAL, Err: ErrUserInPlace, Rule: ErrUserInPlace.Error()}
	}
	files := make([]*os.File, 0, types.Len())
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, t := range types.Types() {
		f, err := os.Open(src.path(t))
		if err != nil {
			return nsErr(fmt.Sprintf("open(%q)", src.path(t)), err)
		}
		files = append(files, f)
	}
	return setnsFiles(call, types.Types(), files)
}

// SetnsFD moves the calling (locked) thread into the namespace open at fd
// (setns(2) by descriptor). With t nil the kernel takes any type (nstype 0);
// otherwise the file must be a namespace of type t. The descriptor stays
// the caller's: it is neither closed nor owned here, and a closed one (-1)
// gets the kernel's own EBADF.
func SetnsFD(fd int, t *Type) error {
	name, flag := "any", 0
	if t != nil {
		name, flag = t.Name, int(t.Flag)
		if t.Set() == User {
			return &kerr.Error{Call: fmt.Sprintf("setns(%d, %q)", fd, name), Errno: unix.EINVAL, Err: ErrUserInPlace, Rule: ErrUserInPlace.Error()}
		}
		if t.Set() == PID {
			primeBeforePIDNS()
		}
		if t.Set() == Mnt {
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return kerr.New("unshare(CLONE_FS) before setns(mnt)", err, unshareRules)
			}
		}
	}
	return kerr.New(fmt.Sprintf("setns(%d, %q)", fd, name), unix.Setns(fd, flag), setnsRules)
}

func setnsFiles(call string, types []Type, files []*os.File) error {
	for i, t := range types {
		if t.Set() == Mnt {
			// setns(CLONE_NEWNS) needs a thread whose fs_struct is not
			// shared with other threads (else EINVAL).
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return kerr.New("unshare(CLONE_FS) before setns(mnt)", err, unshareRules)
			}
		}
		if err := unix.Setns(int(files[i].Fd()), int(t.Flag)); err != nil {
			return kerr.New(fmt.Sprintf("%s [joining %s]", call, t.Name), err, setnsRules)
		}
	}
	return nil
}

// Home holds open descriptors to the namespaces a thread started in, so the
// thread can always go back (ns.restore): a descriptor keeps its namespace
// reachable even after the thread's /proc view or mount namespace changed.
type Home struct {
	files map[string]*os.File
	ids   map[string]uint64
}

// OpenHome records the calling thread's namespaces now.
func OpenHome() (*Home, error) {
	h := &Home{files: map[string]*os.File{}, ids: map[string]uint64{}}
	// the files are opened relative to the thread's ns directory, so that
	// /proc/thread-self/ns is looked up once, not once a type
	dir, err := unix.Open(NSPath(0, ""), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		dir = unix.AT_FDCWD
	} else {
		defer unix.Close(dir)
	}
	for _, t := range Types {
		// the namespace the thread itself is in (for pid and time too:
		// pid_for_children is what unshare changes, and what restoring
		// resets)
		// A plain open(2): os.Open would also try the fd in the poller (an
		// epoll set made for it, four fcntl), eight times at every start.
		path := NSPath(0, t.Name)
		name := path
		if dir != unix.AT_FDCWD {
			name = t.Name
		}
		fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			h.ids[t.Name] = st.Ino
		}
		h.files[t.Name] = os.NewFile(uintptr(fd), path)
	}
	return h, nil
}

// IDs is the inode of each home namespace.
func (h *Home) IDs() map[string]uint64 { return h.ids }

// Restore moves the calling thread back into its home namespaces of the
// given types (all but user when types is empty), skipping those it is in.
// (Transition: callers outside nsproc still pass []Type; RestoreSet is the
// typed form.)
func (h *Home) Restore(types []Type) error { return h.RestoreSet(SetOf(types...)) }

// RestoreSet moves the calling thread back into its home namespaces of the
// types of s (all but user when s is empty), skipping those it is in.
func (h *Home) RestoreSet(s Set) error {
	explicit := !s.Empty()
	if !explicit {
		s = All
	}
	for _, t := range s.Without(User).Types() {
		f, ok := h.files[t.Name]
		if !ok {
			continue
		}
		cur := NSPath(0, t.ChildrenFile())
		if ino, err := Inode(cur); err == nil && ino == h.ids[t.Name] {
			continue
		}
		if t.Set() == Mnt {
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return kerr.New("unshare(CLONE_FS) before setns(mnt)", err, unshareRules)
			}
		}
		if err := unix.Setns(int(f.Fd()), int(t.Flag)); err != nil {
			if err == unix.EUSERS && t.Set() == Time && !explicit {
				continue // cannot be done by a Go program; ns.restore("time") says why
			}
			rules := setnsRules
			if err == unix.EPERM {
				rules = kerr.Rules{{Errno: unix.EPERM, Rule: "the " + t.Name + " namespace this thread started in is owned by a user namespace where the caller " +
					"has no CAP_SYS_ADMIN: a process in a user namespace of its own can leave such a namespace but not come back"}}
			}
			return kerr.New(fmt.Sprintf("setns(home %s namespace)", t.Name), err, rules)
		}
	}
	return nil
}
