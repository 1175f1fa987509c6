// Package statedir is where nsh keeps the state other nsh processes of the
// same user read (lab directories with their nsenter.sh helpers and
// markers): a directory only its owner can write, and the checks that a
// file found there may be trusted before nsh runs or believes it.
//
// The directory is, for the host's root, /run/nsh; for another user,
// $XDG_RUNTIME_DIR/nsh when that directory is the user's own and closed to
// others, else TMPDIR/nsh-UID, made mode 0700 and refused if someone else
// made it first. An nsh running inside its own user namespace (an ordinary
// user's, or nsh -U) uses the directory of the host user its ids map to, so
// that `nsh --enter` from the host finds what it made.
package statedir

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// HostUID is the uid that this process's effective uid stands for in the
// parent of its user namespace (the process's own uid in the initial
// namespace), read from /proc/self/uid_map.
func HostUID() int {
	euid := os.Geteuid()
	b, err := readProcFile("/proc/self/uid_map")
	if err != nil {
		return euid
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		inside, err1 := strconv.ParseInt(f[0], 10, 64)
		outside, err2 := strconv.ParseInt(f[1], 10, 64)
		n, err3 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if int64(euid) >= inside && int64(euid) < inside+n {
			return int(outside + int64(euid) - inside)
		}
	}
	return euid
}

// readProcFile reads a small /proc file with plain open(2) and read(2):
// os.ReadFile would first try the descriptor in Go's poller, and being the
// first file nsh opens at start it made the poller (epoll_create1, an
// eventfd, two epoll_ctl and four fcntl) for nothing.
func readProcFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var b []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return b, nil
		}
		b = append(b, buf[:n]...)
	}
}

// Dir is nsh's state directory for this user, created (mode 0700) when
// missing and checked when present: it must be a real directory (not a
// symbolic link), owned by this process's effective uid, and writable by
// no one else. (/run/nsh also holds root's pins, made 0755.)
func Dir() (string, error) {
	dir := candidate()
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("state directory %s: %w", dir, err)
	}
	if err := checkOwnDir(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// StateDirEnv names another state directory (tests, or a user who wants
// one elsewhere); it is checked like any other.
const StateDirEnv = "NSH_STATE_DIR"

func candidate() string {
	if d := os.Getenv(StateDirEnv); d != "" {
		return d
	}
	uid := HostUID()
	if uid == 0 {
		return "/run/nsh"
	}
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" && filepath.IsAbs(x) && checkOwnDir(x) == nil {
		return filepath.Join(x, "nsh")
	}
	return filepath.Join(os.TempDir(), "nsh-"+strconv.Itoa(uid))
}

// Existing is Dir()/name when it exists, checked like Dir; it creates
// nothing (an fs.ErrNotExist error when missing).
func Existing(name string) (string, error) {
	p := filepath.Join(candidate(), name)
	if _, err := os.Lstat(p); err != nil {
		return "", err
	}
	if err := checkOwnDir(filepath.Dir(p)); err != nil {
		return "", err
	}
	if err := checkOwnDir(p); err != nil {
		return "", err
	}
	return p, nil
}

// Tidy removes Dir()/name and then Dir() when they are empty, so that
// nothing nsh made stays behind once its last lab is gone.
func Tidy(name string) {
	d := candidate()
	if checkOwnDir(d) != nil {
		return
	}
	os.Remove(filepath.Join(d, name)) // fails harmlessly when not empty
	os.Remove(d)
}

// Sub is Dir()/name, created (mode 0700) and checked like Dir.
func Sub(name string) (string, error) {
	d, err := Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(d, name)
	if err := os.Mkdir(p, 0o700); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("state directory %s: %w", p, err)
	}
	if err := checkOwnDir(p); err != nil {
		return "", err
	}
	return p, nil
}

// checkOwnDir: a directory, no link, ours, writable by us alone.
func checkOwnDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("state directory %s is not a directory (a symbolic link or file put there by someone else?): refusing it", dir)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("state directory %s belongs to uid %d, not to you (uid %d): refusing it", dir, st.Uid, os.Geteuid())
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("state directory %s has mode %04o: others may write in it; refusing it (chmod 700 it, or remove it)", dir, st.Mode&0o7777)
	}
	return nil
}

// Trusted checks that path may be believed or run, as OpenSSH's
// StrictModes does: it and every directory above it are owned by this
// process's effective uid or by root, none is a symbolic link, and none is
// writable by group or others, except directories above it with the sticky
// bit (such as /tmp), where others cannot replace what is ours. The path
// itself must be of the kind wanted (a directory or a regular file).
func Trusted(path string, wantDir bool) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	euid := os.Geteuid()
	for p, first := abs, true; ; p, first = filepath.Dir(p), false {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		kind := st.Mode & unix.S_IFMT
		switch {
		case kind == unix.S_IFLNK:
			return fmt.Errorf("%s is a symbolic link: not trusted", p)
		case first && wantDir && kind != unix.S_IFDIR, !first && kind != unix.S_IFDIR:
			return fmt.Errorf("%s is not a directory: not trusted", p)
		case first && !wantDir && kind != unix.S_IFREG:
			return fmt.Errorf("%s is not a regular file: not trusted", p)
		}
		if int(st.Uid) != euid && st.Uid != 0 {
			return fmt.Errorf("%s belongs to uid %d (neither you, uid %d, nor root): not trusted", p, st.Uid, euid)
		}
		sticky := kind == unix.S_IFDIR && st.Mode&unix.S_ISVTX != 0
		if st.Mode&0o022 != 0 && (first || !sticky) {
			return fmt.Errorf("%s is writable by others (mode %04o): not trusted", p, st.Mode&0o7777)
		}
		if p == "/" {
			return nil
		}
	}
}

// ReadTrusted reads a small file after Trusted, through one descriptor
// opened without following links and checked again with fstat, so the file
// read is the file checked.
func ReadTrusted(path string) ([]byte, error) {
	if err := Trusted(path, false); err != nil {
		return nil, err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || (int(st.Uid) != os.Geteuid() && st.Uid != 0) || st.Mode&0o022 != 0 {
		return nil, fmt.Errorf("%s changed while being checked: not trusted", path)
	}
	b := make([]byte, 1<<20)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return nil, err
	}
	return b[:n], nil
}

// StartTime is field 22 of /proc/PID/stat (clock ticks after boot): with
// the pid, it names one process for its whole life, so a marker that
// records both cannot be made to point at another process.
func StartTime(pid int) (uint64, error) {
	b, err := readProcFile("/proc/" + strconv.Itoa(pid) + "/stat") // once per child started: no poller round trip
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: "/proc/" + strconv.Itoa(pid) + "/stat", Err: err}
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// after ")" come field 3 (state) onwards: starttime is field 22
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}
