package nsproc

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"nsh/runtime/kerr"

	"golang.org/x/sys/unix"
)

// Go's process start writes the id maps of a new user namespace (uid_map,
// setgroups, gid_map) and switches the child's ids (setgid, setuid) between
// clone and exec, and reports whatever failed as the one errno of Start. The
// clone of a user namespace itself refuses little (EPERM in a chroot or where
// user namespaces are disabled), so with maps in the spec an EINVAL or EPERM
// is the maps' or the ids': mapErr finds which, from the kernel's rules
// (map_write in kernel/user_namespace.c, and setuid/setgid of unmapped ids).

// ErrIDMap marks a start refused for the new user namespace's id maps.
var ErrIDMap = errors.New("the id maps of the new user namespace were refused")

// checkCredMaps refuses, before anything starts, a child that would switch to
// a uid (or gid) its new user namespace does not map: Go changes the gid and
// the uid together, and setgid(2)/setuid(2) refuse an unmapped id (EINVAL).
// It happens when uid_map does not map the caller (so the child becomes the
// first mapped uid, to keep its capabilities through exec) and there is no
// gid_map line for the caller's gid.
// It is called only for a child given credentials in a new user namespace.
func (s *Spec) checkCredMaps(uid, gid int) error {
	if !mapsInside(s.UIDMap, uid) {
		return &SpecError{Field: "uid_map", Rule: fmt.Sprintf("the child switches to uid %d before exec, and uid_map maps no uid %d inside "+
			"(setuid(2) refuses an id its user namespace does not map: EINVAL); a uid and a gid are set together here, so give uid_map a line for it", uid, uid)}
	}
	if !mapsInside(s.GIDMap, gid) {
		return &SpecError{Field: "gid_map", Rule: fmt.Sprintf("the child switches to uid %d before exec (keeping its capabilities), and its gid %d with it, "+
			"which no gid_map line maps (setgid(2) refuses an id its user namespace does not map: EINVAL); give a gid_map, e.g. \"%d %d 1\"",
			uid, gid, gid, os.Getegid())}
	}
	return nil
}

func mapsInside(m []IDMap, id int) bool {
	for _, l := range m {
		if id >= l.Inside && id-l.Inside < l.Count {
			return true
		}
	}
	return false
}

// mapErr explains a failed start of a child with id maps, or returns nil
// when the maps are not at fault.
func mapErr(spec Spec, errno unix.Errno) error {
	type one struct {
		file string
		m    []IDMap
		own  int
		cap  string
	}
	maps := []one{{"uid_map", spec.UIDMap, os.Geteuid(), "CAP_SETUID"}, {"gid_map", spec.GIDMap, os.Getegid(), "CAP_SETGID"}}
	call := func(o one) string {
		return fmt.Sprintf("write(\"/proc/CHILD/%s\", %q) between clone and exec", o.file, strings.TrimSpace(FormatIDMap(o.m)))
	}
	switch errno {
	case unix.EINVAL:
		for _, o := range maps {
			for _, l := range o.m {
				if uint64(l.Inside)+uint64(l.Count) >= 1<<32 || uint64(l.Outside)+uint64(l.Count) >= 1<<32 {
					return &kerr.Error{Call: call(o), Errno: errno, Err: ErrIDMap, Rule: fmt.Sprintf("line %q: a range may not reach 2^32 "+
						"(INSIDE+COUNT and OUTSIDE+COUNT must be below 4294967296; the kernel refuses a range that wraps)", l)}
				}
			}
		}
		for _, o := range maps {
			if len(o.m) > 0 {
				return &kerr.Error{Call: call(o), Errno: errno, Err: ErrIDMap, Rule: "the kernel refused the map (uid_map/gid_map: a malformed line, overlapping ranges, " +
					"more than 340 lines), or the child's switch to an id the map does not cover (setuid/setgid of an unmapped id)"}
			}
		}
	case unix.EPERM:
		for _, o := range maps {
			parent, err := readOwnMap(o.file)
			if err != nil {
				continue
			}
			for _, l := range o.m {
				if !covered(parent, l.Outside, l.Count) {
					return &kerr.Error{Call: call(o), Errno: errno, Err: ErrIDMap, Rule: fmt.Sprintf("line %q: the ids %d..%d outside are not all mapped in the parent user namespace "+
						"(the writer's /proc/self/%s), and a map can give only ids the parent has", l, l.Outside, l.Outside+l.Count-1, o.file)}
				}
			}
		}
		for _, o := range maps {
			if len(o.m) == 0 || (len(o.m) == 1 && o.m[0].Count == 1 && o.m[0].Outside == o.own) || hasCap(capBit(o.cap)) {
				continue
			}
			return &kerr.Error{Call: call(o), Errno: errno, Err: ErrIDMap, Rule: fmt.Sprintf("a writer without %s in the parent user namespace may map only its own id "+
				"(%d), in one line of count 1; mapping other ids needs %s there (newuidmap(1)/newgidmap(1) are setuid helpers that grant the ranges of /etc/subuid and /etc/subgid)",
				o.cap, o.own, o.cap)}
		}
		if len(spec.GIDMap) > 0 && spec.Setgroups == "allow" && !hasCap(unix.CAP_SETGID) {
			return &kerr.Error{Call: call(maps[1]), Errno: errno, Err: ErrIDMap, Rule: "a writer without CAP_SETGID in the parent user namespace must write \"deny\" to " +
				"/proc/PID/setgroups before gid_map (so the mapped root cannot drop supplementary groups); setgroups=\"allow\" needs CAP_SETGID"}
		}
	}
	return nil
}

func capBit(name string) int {
	if name == "CAP_SETUID" {
		return unix.CAP_SETUID
	}
	return unix.CAP_SETGID
}

// hasCap: the calling thread has capability bit c in its effective set.
func hasCap(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<uint(c%32)) != 0
}

// readOwnMap reads the caller's /proc/self/uid_map or gid_map.
func readOwnMap(file string) ([]IDMap, error) {
	b, err := os.ReadFile("/proc/self/" + file)
	if err != nil {
		return nil, err
	}
	var out []IDMap
	for _, line := range strings.Split(string(b), "\n") {
		var l IDMap
		if n, _ := fmt.Sscan(line, &l.Inside, &l.Outside, &l.Count); n == 3 {
			out = append(out, l)
		}
	}
	return out, nil
}

// covered: ids first..first+count-1 are all inside m (the ranges may touch).
func covered(m []IDMap, first, count int) bool {
	for count > 0 {
		found := false
		for _, l := range m {
			if first >= l.Inside && first-l.Inside < l.Count {
				n := l.Inside + l.Count - first
				if n > count {
					n = count
				}
				first, count, found = first+n, count-n, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
