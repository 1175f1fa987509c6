package lua

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"nsh/runtime/caps"
	"nsh/runtime/mounts"
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
)

// The options table of ns.spawn and ns.clone, read into an nsproc.Spec. The
// rules a spec must follow (id maps need "user", names need "uts", ...) and
// its defaults are nsproc's (Spec.Validate, Spec.Defaults); this file only
// reads the table.

// spawnOption is one key of the options table: its help line and the
// function that reads its value (present, not nil) into the spec. A read
// function raises argument errors itself (through o) or returns an error,
// which is reported as a kernel failure when it is one (a cgroup that could
// not be made), else as a bad argument.
type spawnOption struct {
	Name string
	Doc  string
	Read func(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error
}

// spawnOptions are every option, in the order they are read and listed.
var spawnOptions = []spawnOption{
	{"ns", "namespace types to create: \"pid,mnt\" or {\"pid\", \"mnt\"}", readNS},
	{"uid_map", "uid_map lines, e.g. \"0 1000 1\" (needs \"user\" in ns)", readIDMap},
	{"gid_map", "gid_map lines, e.g. \"0 1000 1\" (needs \"user\" in ns)", readIDMap},
	{"setgroups", "\"allow\" or \"deny\" (written before gid_map; default deny)", readSetgroups},
	{"hold", "true: the child waits after clone until h:release()", readFlag},
	{"hostname", "hostname set in the child (needs \"uts\")", readName},
	{"domainname", "NIS domain name set in the child (needs \"uts\")", readName},
	{"env", "environment: a table {NAME=\"value\"} or list {\"NAME=value\"} (default: nsh's)", readEnvOption},
	{"cwd", "working directory of the child", readCwd},
	{"stdin", "\"inherit\" (default), \"null\", or a file path", readStdio},
	{"stdout", "\"inherit\" (default), \"null\", or a file path (appended)", readStdio},
	{"stderr", "\"inherit\" (default), \"null\", or a file path (appended)", readStdio},
	{"uid", "uid to switch to in the child (after its set-up steps)", readID},
	{"gid", "gid to switch to in the child (after its set-up steps)", readID},
	{"keep", "true: leave the child running when nsh ends (and give it no parent-death signal)", readFlag},
	{"pgroup", "true: own process group (the terminal's Ctrl-C does not reach it; the default on a terminal)", readFlag},
	{"setsid", "true: a session of its own (setsid(2) before exec; leader of session and group, no controlling terminal; nsh does not hand it the terminal)", readFlag},
	{"cap_drop", "capability names to drop from the child's bounding set before it runs (PR_CAPBSET_DROP: no execve gives them back), e.g. {\"setfcap\"}", readCapsStep},
	{"no_new_privs", "true: the child runs with no_new_privs (setuid bits and file capabilities no longer grant anything)", readCapsStep},
	{"ctty", "true: setsid, and its stdin (a terminal not yet another session's) becomes the session's controlling terminal (TIOCSCTTY)", readFlag},
	{"join", "existing namespaces to start in: a pid or handle (its namespaces of join_ns types), or {net=\"/run/netns/x\", uts=path}", readJoin},
	{"join_ns", "with join=pid or a handle: which of its namespaces to join (default all but user)", readJoinNS},
	{"set_tid", "the child's PID: N, or {N1, N2, ...} one per PID namespace level, the child's own namespace first (clone3's set_tid, as checkpoint/restore " +
		"chooses PIDs; with \"pid\" in ns the first is 1); nsh then forks with its own clone3 and execve, which support only " + nsproc.SetTIDFields, readSetTID},
	{"cgroup", "a cgroup handle (cgroup.create), a name (a new group nsh/NAME) or a table {name=, pids_max=, ...} (a new group with those limits, removed with the child); " +
		"on v2 the child is born in it (CLONE_INTO_CGROUP), v1 memberships are added while it is held", readCgroup},
	{"rootfs", "directory to pivot_root into (the child makes / rprivate, binds it onto itself, pivots, detaches the old root); needs \"mnt\"", readContainer},
	{"proc", "true: mount a new proc at /proc (with \"pid\": only the container's processes); needs \"mnt\"", readContainer},
	{"sys", "true: mount sysfs read-only at /sys (in a user namespace needs \"net\" too); needs \"mnt\"", readContainer},
	{"dev", "\"minimal\" (tmpfs /dev: console, full, null, ptmx, random, urandom, tty, zero, pts, shm, fd, stdin, stdout, stderr) " +
		"or \"devtmpfs\" (the kernel's, every host device; refused in a user namespace); needs \"mnt\"", readContainer},
	{"mqueue", "true: mount an mqueue at /dev/mqueue (the ipc namespace's POSIX queues); needs \"mnt\"", readContainer},
	{"mask", "true: hide runc's masked paths (/proc/kcore, /proc/keys, /sys/firmware, ...), or a list of paths; needs \"mnt\"", readContainer},
	{"readonly", "true: runc's read-only paths (/proc/sys, /proc/sysrq-trigger, /proc/bus, ...), or a list of paths; needs \"mnt\"", readContainer},
	{"unsafe", "protections of the container to go without, for a lesson: a list of " + protectionChoices +
		" (default none: a container keeps only Docker's 14 default capabilities, gets no_new_privs, a seccomp filter refusing mount, unshare, " +
		"module loading, kexec, bpf, keyctl, ... with EPERM, and no descriptor above 2 reaches its program); needs a container option (rootfs=, proc=, ...)", readContainer},
}

// protectionChoices is choices(mounts.Protections...), spelled out as a
// constant so that the options table needs no code at start
// (TestProtectionChoices keeps the two equal).
const protectionChoices = `"` + mounts.ProtectFDs + `", "` + mounts.ProtectCaps + `", "` + mounts.ProtectNoNewPrivs + `" or "` + mounts.ProtectSeccomp + `"`

// spawnOptionNames are the keys the table accepts.
func spawnOptionNames() []string {
	names := make([]string, len(spawnOptions))
	for i, o := range spawnOptions {
		names[i] = o.Name
	}
	return names
}

// spawnOptionsDoc is the options part of help(ns.spawn): one line each.
func spawnOptionsDoc() string {
	// built at every start (help(ns.spawn) is a record): no fmt, one buffer
	const head = "Options (every key of the table that is not a number):\n"
	n := len(head)
	for _, o := range spawnOptions {
		n += len(o.Name) + len(o.Doc) + 6
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(head)
	for _, o := range spawnOptions {
		b.WriteString("\n- ")
		b.WriteString(o.Name)
		b.WriteString("=: ")
		b.WriteString(o.Doc)
	}
	return b.String()
}

// spawnOpts holds what reading produced beyond the spec.
type spawnOpts struct {
	keep  bool
	files []*os.File // to close after start
	// afterStart steps run in the parent while the child is held (e.g.
	// adding it to a v1 cgroup); the child is released after them unless
	// the user asked for hold=true.
	afterStart []func(p *nsproc.Process) error
	// onEnd runs when nsh cleans the child up (e.g. removing its cgroup).
	onEnd     []func() error
	joinPid   int
	pgroupSet bool
	joinTypes nsproc.Set
	joinNS    bool // join_ns was given
	// checks run once every option is read (an option that needs another,
	// such as rootfs needing "mnt" in ns, whatever the table's order).
	checks []func(spec *nsproc.Spec) error
}

// undo closes what reading opened and removes what it made, when the child
// is not started after all.
func (so *spawnOpts) undo() {
	closeAll(so)
	runAll(so.onEnd)
}

// readSpawnOptions reads the named fields of table t, argument n, into
// spec (numbered fields, argv, are the caller's). A wrong option raises an
// argument error naming it; whatever the options had made is undone then.
func (s *Session) readSpawnOptions(L *glua.LState, n int, t *glua.LTable, spec *nsproc.Spec, so *spawnOpts) {
	done := false
	defer func() {
		if !done {
			so.undo()
		}
	}()
	o := optionsOf(L, n, t, append([]string{"[argv]"}, spawnOptionNames()...)...)
	for _, opt := range spawnOptions {
		if !o.Has(opt.Name) {
			continue
		}
		if err := opt.Read(s, o, opt.Name, spec, so); err != nil {
			inputErr(L, n, err, spawnHint(L, err, spec))
		}
	}
	for _, c := range so.checks {
		if err := c(spec); err != nil {
			inputErr(L, n, err, spawnHint(L, err, spec))
		}
	}
	if so.joinNS && so.joinPid == 0 {
		argErr(L, n, "option join_ns needs join= a pid or a process handle (whose namespaces to join)")
	}
	if so.joinPid > 0 {
		spec.Join = nsproc.JoinPaths(so.joinPid, so.joinTypes)
	}
	if err := spec.Validate(); err != nil {
		inputErr(L, n, err, spawnHint(L, err, spec))
	}
	spec.Defaults()
	done = true
}

func readNS(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	words := o.Strings(key)
	if len(words) == 0 {
		return nil // {}: no new namespaces
	}
	ts, err := nsproc.ParseSet(words...)
	if err != nil {
		argErr(o.L, o.n, "option ns: "+err.Error())
	}
	spec.Types = ts
	return nil
}

func readIDMap(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	m, err := nsproc.ParseIDMap(o.String(key, ""))
	if err != nil {
		argErr(o.L, o.n, "option "+key+": "+err.Error())
	}
	if key == "uid_map" {
		spec.UIDMap = m
	} else {
		spec.GIDMap = m
	}
	return nil
}

func readSetgroups(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	spec.Setgroups = o.Choice(key, "", "allow", "deny")
	return nil
}

func readFlag(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	b := o.Bool(key, false)
	switch key {
	case "hold":
		spec.Hold = b
	case "keep":
		so.keep = b
		spec.NoPdeath = b
	case "pgroup":
		spec.OwnPgroup = b
		so.pgroupSet = true
	case "setsid":
		spec.Setsid = b
	case "ctty":
		spec.Ctty = b
	}
	return nil
}

func readCapsStep(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	var a caps.StepArgs
	if key == "no_new_privs" {
		if a.NoNewPrivs = o.Bool(key, false); !a.NoNewPrivs {
			return nil
		}
	} else {
		for _, w := range o.Strings(key) {
			c, ok := caps.Number(w)
			if !ok {
				return fmt.Errorf("option cap_drop: unknown capability %q (valid: %s)", w, strings.Join(caps.Known(), ", "))
			}
			a.Drop = append(a.Drop, c)
		}
	}
	spec.Setup.Steps = append(spec.Setup.Steps, caps.StepFor(a))
	return nil
}

func readName(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	if key == "hostname" {
		spec.Setup.Hostname = o.String(key, "")
	} else {
		spec.Setup.Domainname = o.String(key, "")
	}
	return nil
}

func readEnvOption(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	spec.Env = readEnv(o, key)
	return nil
}

// readEnv reads an environment option: a table {NAME="value"} or a list
// {"NAME=value"}, sorted.
func readEnv(o options, key string) []string {
	env := []string{}
	o.Tbl(key).ForEach(func(k, v glua.LValue) {
		switch k.(type) {
		case glua.LString:
			env = append(env, k.String()+"="+v.String())
		case glua.LNumber:
			if _, ok := v.(glua.LString); !ok || !strings.Contains(v.String(), "=") {
				argErr(o.L, o.n, "option "+key+": list entries must be \"NAME=value\" strings, got "+describe(v))
			}
			env = append(env, v.String())
		default:
			argErr(o.L, o.n, "option "+key+": keys must be names, got "+describe(k))
		}
	})
	sort.Strings(env)
	return env
}

func readCwd(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	spec.Dir = o.String(key, "")
	return nil
}

func readStdio(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	f, err := openStdio(key, o.String(key, "inherit"))
	if err != nil {
		return err
	}
	if f != nil {
		so.files = append(so.files, f)
	}
	switch key {
	case "stdin":
		spec.Stdin = f
	case "stdout":
		spec.Stdout = f
	default:
		spec.Stderr = f
	}
	return nil
}

func openStdio(key, text string) (*os.File, error) {
	switch text {
	case "inherit", "":
		return nil, nil
	case "null":
		return os.OpenFile(os.DevNull, os.O_RDWR, 0)
	}
	if key == "stdin" {
		f, err := os.Open(text)
		if err != nil {
			return nil, fmt.Errorf("option stdin: %v", err)
		}
		return f, nil
	}
	f, err := os.OpenFile(text, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("option %s: %v", key, err)
	}
	return f, nil
}

func readID(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	id := o.Int(key, 0, 0, nsproc.MaxID)
	if key == "uid" {
		spec.UID = &id
	} else {
		spec.GID = &id
	}
	return nil
}

// readJoin reads join = pid | handle | {type = path}.
func readJoin(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	switch v := o.Value(key).(type) {
	case glua.LNumber:
		so.joinPid = o.Int(key, 0, 1, maxPid)
		return nil
	case *glua.LUserData:
		if h, ok := v.Value.(*procHandle); ok {
			so.joinPid = h.p.Pid
			return nil
		}
	case *glua.LTable:
		m := map[string]string{}
		v.ForEach(func(k, p glua.LValue) {
			t, ok := nsproc.LookupType(k.String())
			if !ok {
				argErr(o.L, o.n, fmt.Sprintf("option join: unknown namespace type %q (valid types: %s)", k.String(), nsproc.TypeNames()))
			}
			path, ok := p.(glua.LString)
			if !ok || path == "" {
				argErr(o.L, o.n, fmt.Sprintf("option join: %s must be the path of a namespace file, got %s", t.Name, describe(p)))
			}
			m[t.Name] = string(path)
		})
		spec.Join = m
		return nil
	}
	argErr(o.L, o.n, "option join must be a pid, a process handle or a table {net=path, ...}, got "+describe(o.Value(key)))
	return nil
}

func readJoinNS(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	ts, err := nsproc.ParseSet(o.Strings(key)...)
	if err != nil {
		argErr(o.L, o.n, "option join_ns: "+err.Error())
	}
	so.joinTypes, so.joinNS = ts, true
	return nil
}

// readSetTID reads set_tid = N | {N1, N2, ...}: pid_t numbers (the kernel
// judges their range, count and the right to choose them).
func readSetTID(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	const lo, hi = math.MinInt32, math.MaxInt32
	switch v := o.Value(key).(type) {
	case glua.LNumber:
		spec.SetTID = []int{o.Int(key, 0, lo, hi)}
	case *glua.LTable:
		n := v.Len()
		v.ForEach(func(k, _ glua.LValue) {
			if i, ok := k.(glua.LNumber); !ok || float64(i) != math.Trunc(float64(i)) || i < 1 || int(i) > n {
				argErr(o.L, o.n, "option set_tid must be a PID or a list of PIDs {N1, N2, ...}, got a table with key "+describe(k))
			}
		})
		if n == 0 {
			argErr(o.L, o.n, "option set_tid: an empty list chooses nothing (give at least the PID in the child's own namespace)")
		}
		for i := 1; i <= n; i++ {
			spec.SetTID = append(spec.SetTID, wholeNumber(o.L, o.n, fmt.Sprintf("option set_tid[%d]", i), v.RawGetInt(i), lo, hi))
		}
	default:
		argErr(o.L, o.n, "option set_tid must be a PID or a list of PIDs {N1, N2, ...}, got "+describe(v))
	}
	var others []string
	o.t.ForEach(func(k, _ glua.LValue) {
		if name, ok := k.(glua.LString); ok && !setTIDOption(string(name)) {
			others = append(others, string(name))
		}
	})
	if len(others) > 0 {
		sort.Strings(others)
		argErr(o.L, o.n, "option set_tid cannot be combined with "+strings.Join(others, ", ")+": with set_tid nsh starts the program by its own clone3 and execve, which support only "+nsproc.SetTIDFields)
	}
	return nil
}

// setTIDOption says whether option name goes with set_tid.
func setTIDOption(name string) bool {
	switch name {
	case "set_tid", "ns", "join", "join_ns", "env", "cwd", "stdin", "stdout", "stderr", "keep", "pgroup":
		return true
	}
	return false
}

// readCgroup: the cgroup binding reads it (lua/cgroup.go).
func readCgroup(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	return cgroupSpawnOption(s, o.Value(key), spec, so)
}

// readContainer: the container options fill one set-up step, read by the
// mount binding (lua/mount_spawn.go).
func readContainer(s *Session, o options, key string, spec *nsproc.Spec, so *spawnOpts) error {
	if key == "unsafe" && !hasContainerOption(o) {
		argErr(o.L, o.n, "option unsafe turns protections of a container off: it needs rootfs=, proc=, sys=, dev=, mqueue=, mask= or readonly= too")
	}
	return containerSpawnOption(s, key, o.Value(key), spec, so)
}

// hasContainerOption says whether the table has a container option that
// makes the set-up (unsafe= only changes it).
func hasContainerOption(o options) bool {
	for _, k := range containerKeys {
		if k != "unsafe" && o.Has(k) {
			return true
		}
	}
	return false
}

// hasType is for lab.go until it uses nsproc.Set (transition; nothing
// else calls it).
func hasType(ts []nsproc.Type, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

// The container options of ns.spawn and ns.clone (listed, with their help,
// in spawnOptions in lua/spawnopts.go). They all fill one mounts.Container
// that the child runs as the set-up step mounts.ContainerStep, after its
// hostname and before it executes.

// containerKeys are the container options, in the order of the set-up.
var containerKeys = []string{"rootfs", "proc", "sys", "dev", "mqueue", "readonly", "mask", "unsafe"}

// containerSpawnOption reads one container option of ns.spawn/ns.clone
// into the child's container set-up.
func containerSpawnOption(s *Session, key string, v glua.LValue, spec *nsproc.Spec, so *spawnOpts) error {
	added, err := mounts.EditSetup(&spec.Setup, func(c *mounts.Container) error { return containerOption(c, key, v) })
	if err != nil {
		return fmt.Errorf("option %v", err)
	}
	if added {
		so.checks = append(so.checks, func(spec *nsproc.Spec) error {
			if !spec.Types.Has(nsproc.Mnt) {
				return fmt.Errorf("rootfs, proc, sys, dev, mqueue, mask and readonly need a new mount namespace: add \"mnt\" to ns (else the mounts would land in nsh's own)")
			}
			if c, _, _ := mounts.ContainerOf(spec.Setup); !spec.Types.Has(nsproc.User) && !c.Protected(mounts.ProtectCaps) {
				s.warnHostCaps()
			}
			return nil
		})
	}
	return nil
}

// containerOption converts the Lua value of one container option (shared
// by ns.spawn's options and mount.container); mounts.Container.Validate
// judges the paths.
func containerOption(c *mounts.Container, key string, v glua.LValue) error {
	flag := func() (bool, error) {
		b, ok := v.(glua.LBool)
		if !ok {
			return false, fmt.Errorf("%s must be true or false, got %s", key, describe(v))
		}
		return bool(b), nil
	}
	// paths reads true (def), false (none) or a list of paths
	paths := func(def []string) ([]string, error) {
		if b, ok := v.(glua.LBool); ok {
			if b {
				return def, nil
			}
			return nil, nil
		}
		l, err := stringList(nil, v, key)
		if err != nil {
			return nil, fmt.Errorf("%s must be true or a list of absolute paths, got %s", key, describe(v))
		}
		return l, nil
	}
	var err error
	switch key {
	case "rootfs":
		sv, ok := v.(glua.LString)
		if !ok {
			return fmt.Errorf("rootfs must be an absolute directory path, got %s", describe(v))
		}
		c.Rootfs = string(sv)
	case "proc":
		c.Proc, err = flag()
	case "sys":
		c.Sys, err = flag()
	case "mqueue":
		c.Mqueue, err = flag()
	case "dev":
		switch sv, _ := v.(glua.LString); sv {
		case "minimal", "tmpfs":
			c.Dev, c.DevPts, c.Shm = mounts.DevMinimal, true, true
		case "devtmpfs":
			c.Dev, c.DevPts, c.Shm = mounts.DevKernel, true, true
		default:
			return fmt.Errorf("dev must be %s, got %s", choices("minimal", "devtmpfs"), v.String())
		}
	case "mask":
		c.MaskPaths, err = paths(mounts.DefaultMaskPaths)
	case "readonly":
		c.ReadonlyPaths, err = paths(mounts.DefaultReadonlyPaths)
	case "unsafe":
		c.Unsafe, err = stringList(nil, v, key)
		if err != nil {
			return fmt.Errorf("unsafe must be a list of protections (%s), got %s", choices(mounts.Protections...), describe(v))
		}
	default:
		return fmt.Errorf("unknown container option %q (valid: %s)", key, choices(containerKeys...))
	}
	return err
}

// warnHostCaps warns once per session that a container without a user
// namespace, its capabilities kept (unsafe "caps"), has root's power over
// the machine.
func (s *Session) warnHostCaps() {
	if s.warnedCaps || !nsproc.InitialUserNS() {
		return
	}
	s.warnedCaps = true
	fmt.Fprintln(os.Stderr, "nsh: warning: this container has no user namespace and keeps every capability (unsafe \"caps\"): "+
		"its root is the machine's root (it can load modules, mount over the host, write host-wide sysctls); "+
		"by default only Docker's 14 capabilities stay, without CAP_SYS_ADMIN or CAP_SYS_MODULE")
}
