package nsproc

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// SpecError is a Spec that breaks a rule of the kernel (or of the way
// nsproc starts children) and so is refused before anything starts.
type SpecError struct {
	Field string // the part of the spec at fault, as the kernel names it: "uid_map", "hostname", "join", ...
	Needs Set    // the new namespaces Field needs and Types lacks (0 for other rules)
	Rule  string // why, in one sentence
}

func (e *SpecError) Error() string { return e.Field + ": " + e.Rule }

// MaxID is the largest uid or gid a process can take: (uid_t)-1 means "no
// change" to setresuid(2) and is no id.
const MaxID = 1<<32 - 2

// maxName is __NEW_UTS_LEN, the kernel's limit on hostname and domainname.
const maxName = 64

// Validate checks spec against the rules a child's start must follow,
// before anything is created: id maps and names need the namespaces they
// are written into, names fit the kernel's buffer, and join names known
// types other than user.
func (s *Spec) Validate() error {
	if (len(s.UIDMap) > 0 || len(s.GIDMap) > 0) && !s.Types.Has(User) {
		return &SpecError{Field: "uid_map/gid_map", Needs: User,
			Rule: "id maps are written into a new user namespace, and the spec creates none"}
	}
	if s.Setgroups != "" && s.Setgroups != "allow" && s.Setgroups != "deny" {
		return &SpecError{Field: "setgroups", Rule: fmt.Sprintf("the kernel takes \"allow\" or \"deny\", not %q", s.Setgroups)}
	}
	if err := checkUTSName("hostname", s.Setup.Hostname); err != nil {
		return err
	}
	if err := checkUTSName("domainname", s.Setup.Domainname); err != nil {
		return err
	}
	if (s.Setup.Hostname != "" || s.Setup.Domainname != "") && !s.Types.Has(UTS) {
		return &SpecError{Field: "hostname/domainname", Needs: UTS,
			Rule: "a name is set in a new UTS namespace (else the host's name would change)"}
	}
	for _, id := range []struct {
		field string
		v     *int
	}{{"uid", s.UID}, {"gid", s.GID}, {"uid", s.MapUID}, {"gid", s.MapGID}} {
		if id.v != nil && (*id.v < 0 || *id.v > MaxID) {
			return &SpecError{Field: id.field, Rule: fmt.Sprintf("an id is a whole number from 0 to %d, got %d", MaxID, *id.v)}
		}
	}
	if s.Path != "" && (s.needsReexec() || len(s.SetTID) > 0) {
		return &SpecError{Field: "path", Rule: "a path apart from argv[0] is for a program nsh executes directly (no set-up steps, hold or set_tid)"}
	}
	if err := checkNUL(s); err != nil {
		return err
	}
	if err := s.checkSetTID(); err != nil {
		return err
	}
	return checkJoin(s.Join)
}

// checkNUL: execve(2) takes C strings, which end at the first NUL byte, so no
// argument, environment string or directory may hold one (Go refuses them
// with EINVAL before it forks).
func checkNUL(s *Spec) error {
	for _, l := range []struct {
		field string
		v     []string
	}{{"argv", s.Argv}, {"env", s.Env}, {"cwd", []string{s.Dir}}} {
		for i, a := range l.v {
			if strings.IndexByte(a, 0) >= 0 {
				return &SpecError{Field: l.field, Rule: fmt.Sprintf("item %d (%q) holds a NUL byte: execve(2) takes C strings, which end at the first NUL", i+1, a)}
			}
		}
	}
	return nil
}

// Defaults fills in what the spec leaves to nsproc. A process that creates a
// user namespace keeps its uid, which the new uid_map may not map (root
// mapping "0 65534 1" is not itself inside): like unshare(1) --map-user, the
// child becomes the first mapped id then, so it is who the map says (root
// inside, 65534 outside). Ids already chosen are kept.
func (s *Spec) Defaults() {
	if !s.Types.Has(User) {
		return
	}
	if s.MapUID == nil && len(s.UIDMap) > 0 && !mapsOutside(s.UIDMap, os.Geteuid()) {
		id := s.UIDMap[0].Inside
		s.MapUID = &id
	}
	if s.MapGID == nil && len(s.GIDMap) > 0 && !mapsOutside(s.GIDMap, os.Getegid()) {
		id := s.GIDMap[0].Inside
		s.MapGID = &id
	}
}

func mapsOutside(m []IDMap, id int) bool {
	for _, l := range m {
		if id >= l.Outside && id-l.Outside < l.Count {
			return true
		}
	}
	return false
}

// checkUTSName: a hostname or domainname fits the kernel's buffer.
func checkUTSName(field, name string) error {
	if len(name) > maxName {
		return &SpecError{Field: field, Rule: fmt.Sprintf("at most %d bytes (the kernel's __NEW_UTS_LEN), got %d", maxName, len(name))}
	}
	return nil
}

// IsSpecError says whether err is a refused spec (not a kernel failure).
func IsSpecError(err error) bool {
	var se *SpecError
	return errors.As(err, &se)
}
