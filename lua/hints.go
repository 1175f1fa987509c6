package lua

import (
	"errors"
	"fmt"
	"strings"

	"nsh/runtime/mounts"
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// nsh's advice on a refusal: what to type instead. A runtime error says what
// the kernel did and the kernel's rule (kerr.Error); only the Lua layer knows
// nsh's functions, so the binding that failed adds the advice, here.

// An advice is the hint for one kind of failure of some bindings. (A spec
// refused for lack of a namespace gets "add "user" to ns".)
type advice struct {
	fns   []string // the Lua functions it applies to
	cause error    // the errno or sentinel error that calls for it
	text  string
}

var hints = []advice{
	{[]string{"ns.unshare", "ns.setns"}, nsproc.ErrUserInPlace,
		"use ns.clone or ns.spawn with \"user\" to get a child in a new user namespace, or start nsh with -U so the whole shell runs in one (nsh -U)"},
	{[]string{"ns.spawn", "ns.clone"}, nsproc.ErrUserInPlace,
		"run the command with nsenter(1) --user, or start nsh itself inside that user namespace"},
	{[]string{"ns.spawn", "ns.clone"}, nsproc.ErrIDMap,
		"map only ids you have (sys.getuid(), sys.getgid(), and /proc/self/uid_map for nsh's own user namespace), or run nsh as root"},
	{[]string{"ns.unshare"}, nsproc.ErrPIDAgain, "ns.restore(\"pid\") first, to start another new PID namespace"},
	{[]string{"ns.unshare"}, unix.EPERM, "run nsh as root, or start nsh in a user namespace of its own with nsh -U"},
	{[]string{"ns.spawn", "ns.clone"}, unix.EPERM, "a user namespace needs no privilege: add \"user\" with a uid_map to ns, or run nsh -U"},
	{[]string{"ns.spawn", "ns.clone"}, unix.ENOMEM, "unshare a fresh PID namespace (ns.unshare(\"pid\")) or restore (ns.restore(\"pid\"))"},
	{[]string{"ns.setns", "ns.restore"}, unix.EUSERS,
		"nsh can create one (ns.unshare(\"time\"), ns.clone/ns.spawn with \"time\") but not move into an existing one; a fresh ns.unshare(\"time\") gives children clocks without offsets again"},
	{[]string{"ns.restore"}, unix.EPERM, "nsh runs in a user namespace of its own; run nsh as root to move freely"},
	{[]string{"ns.pin"}, nsproc.ErrPinExists, "remove it with ns.unpin"},
	{[]string{"sys.hostname", "sys.domainname"}, unix.EPERM, "create a new UTS namespace first: ns.unshare(\"uts\")"},
	{[]string{"rootfs.tmpdir"}, unix.EACCES, tmpdirHint},
	{[]string{"rootfs.tmpdir"}, unix.ENOENT, tmpdirHint},
	{[]string{"net.tap"}, unix.EACCES, "make tap links with nsh run as root (sudo nsh): an ordinary user's nsh is root only in its own user namespace, and /dev/net/tun is the host's"},
	{[]string{"sys.setsid"}, unix.EPERM, "call it in a child that leads no group: ns.clone(function() sys.setsid() ... end), or start a program with ns.spawn{..., setsid=true}"},
}

const tmpdirHint = "the directory is made under $TMPDIR (else /tmp): point TMPDIR at a directory you can write, or unset it"

// hint is the advice for err, a failure of the running binding, or "" (the
// first that fits; raiseErr and inputErr print it as a line of its own).
func hint(L *glua.LState, err error) string {
	fn := bindingName(L)
	if (fn == "ns.clone" || fn == "ns.spawn") && errors.Is(err, unix.EPERM) && !nsproc.OwnIDsMapped() {
		return "give the enclosing child a map (ns.clone({ns=\"user,pid\", uid_map=\"0 0 1\", gid_map=\"0 0 1\"}, fn) or the map of your own ids), so that the next level's creator has mapped ids"
	}
	if (fn == "ns.clone" || fn == "ns.spawn") && strings.Contains(err.Error(), nsproc.ForeignProcRule) {
		return "mount this PID namespace's own proc first: start the enclosing child with \"mnt\" too and call mount.make(\"/\", \"private\", true); mount.mount(\"proc\", \"/proc\", \"proc\")"
	}
	for _, h := range hints {
		if contains(h.fns, fn) && errors.Is(err, h.cause) {
			return h.text
		}
	}
	var se *nsproc.SpecError
	if errors.As(err, &se) && !se.Needs.Empty() {
		return fmt.Sprintf("add %q to ns", se.Needs.String())
	}
	return ""
}

// confinedHint is the advice for an EPERM in a process that runs with a
// container's protections (a function of ns.clone with rootfs=, or after
// mount.container), where it replaces every other: the capability is
// dropped, or the filter refused the call. "" otherwise.
func confinedHint(err error) string {
	if !errors.Is(err, unix.EPERM) || !mounts.Confined() {
		return ""
	}
	return "this process runs with a container's protections (Docker's 14 capabilities, no CAP_SYS_ADMIN; a seccomp filter answering EPERM to mount, unshare, setns, ...): " +
		"for a lesson that needs them, turn them off by name: unsafe={\"caps\", \"seccomp\"} in the ns.spawn/ns.clone table or mount.container"
}

// confinedOr is the confined hint for err when there is one (see
// confinedHint), else the binding's own hints.
func confinedOr(err error, own []string) []string {
	if h := confinedHint(err); h != "" {
		return []string{h}
	}
	return own
}

// nsenterHint is what to type instead of ns.spawn{..., join={user=...}}:
// nsenter(1), a single-threaded C program, joins first and then executes.
func nsenterHint(spec nsproc.Spec) string {
	user, ok := spec.Join["user"]
	if !ok {
		return ""
	}
	cmd := []string{"nsenter", "--user=" + user}
	for _, t := range nsproc.Types {
		if p, ok := spec.Join[t.Name]; ok && t.Name != "user" {
			cmd = append(cmd, "--"+t.Name+"="+p)
		}
	}
	cmd = append(cmd, "--preserve-credentials", "--")
	cmd = append(cmd, spec.Argv...)
	return "nsenter(1) does it: sys.run{\"" + strings.Join(cmd, "\", \"") + "\"} (or !" + strings.Join(cmd, " ") + ")"
}

// spawnHint is the hint for a failed ns.spawn/ns.clone: nsenter(1) for a
// user namespace to join, else the table's.
func spawnHint(L *glua.LState, err error, spec *nsproc.Spec) string {
	if h := nsenterHint(*spec); h != "" && errors.Is(err, nsproc.ErrUserInPlace) {
		return h
	}
	if len(spec.SetTID) > 0 && errors.Is(err, unix.EPERM) {
		// the rule names the capability and whose it must be; nsh's
		// general advice (a user namespace, nsh -U) may already be taken
		return "entries after the first name older PID namespaces (the one the child is born in, then its ancestors): " +
			"give entries only for PID namespaces owned by nsh's own user namespace, such as the ones it creates"
	}
	return hint(L, err)
}
