package lua

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"nsh/runtime/cgroups"
	"nsh/runtime/cleanup"
	"nsh/runtime/nsproc"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// The cgroup module: control groups on v1, v2 and hybrid hosts, through
// runtime/cgroups. Every group made here is registered for removal at exit.

const cgroupType = "nsh.cgroup"

// cgHandle is the Lua side of a cgroup nsh made.
type cgHandle struct {
	g    *cgroups.Group
	item *cleanup.Item
}

func (s *Session) cgroupModule() *Module {
	return &Module{
		Name: "cgroup",
		Doc: "Control groups on v1, v2 and hybrid hosts. cgroup.create makes nsh/NAME in every hierarchy it needs (v1 controllers each in " +
			"their own tree, the v2 tree when mounted) and returns a handle: limits under portable names mapped to the host's files " +
			"(cpu.weight <-> v1 cpu.shares, cpu.max <-> cfs_quota/period, memory.max <-> memory.limit_in_bytes, memory.swap.max, pids.max, " +
			"cpuset.cpus/mems), raw file access, processes, stats, events, freeze, kill, remove. Every group nsh makes is removed when the " +
			"script or session ends, however it ends. An ordinary user (nsh's automatic user namespace) cannot create cgroups without a " +
			"delegated subtree: see docs/cgroups.md.",
		Funcs: []Func{
			{Name: "layout", Args: "()", Fn: s.cgLayout,
				Doc: "Where the cgroup hierarchies and controllers live on this host (as the shell's mount namespace sees them): " +
					"mode \"v1\", \"v2\", \"hybrid\" or \"none\", each hierarchy with version, mount point and controllers, and for each controller " +
					"the mount holding it. Returns {mode=, v2=mount or nil, hierarchies={{version=, mount=, root=, controllers={...}, name=}}, " +
					"controllers={cpu=\"/sys/fs/cgroup/cpu\", ...}}.",
				Example: "local l = cgroup.layout()\nprint(l.mode, l.controllers.memory)\nprint(l)"},
			{Name: "create", Args: "(name, [{controllers=, cpu_weight=, cpu_shares=, cpu_max=, cpuset_cpus=, cpuset_mems=, memory_max=, memory_swap_max=, pids_max=, keep=}])", Fn: s.cgCreate,
				Doc: "Creates the cgroup nsh/NAME (NAME may nest: \"lab/a\") and returns its handle. controllers: the ones it needs, a list or " +
					"\"cpu,memory\" (default: every controller of the host); {} makes only the v2 directory (freeze, kill, CLONE_INTO_CGROUP need no " +
					"controller). The limit options are set right away under their portable names (cpu_weight=200 becomes cpu.shares=5219 on v1; " +
					"memory_max takes \"64M\"; cpu_max \"50000 100000\" is 50% of a CPU). keep=true leaves the group when nsh ends. " +
					"EEXIST if the name is taken, EACCES/EPERM without write permission on the cgroup tree (ordinary users: see docs/cgroups.md).",
				Example: "local cg = cgroup.create(\"demo\", {controllers = \"cpu,memory,pids\", cpu_weight = 200, memory_max = \"64M\", pids_max = 50})\nprint(cg)\ncg:remove()"},
			{Name: "limits", Args: "()", Fn: s.cgLimits,
				Doc:     "The portable limit names cg:set and cg:get accept, with the file each maps to on v1 and on v2.",
				Example: "for _, l in ipairs(cgroup.limits()) do print(l.name, l.v1, l.v2) end"},
		},
	}
}

var cgMethods = []Func{
	{Name: "set", Args: "(name, value)", Doc: "Sets a limit. Portable names (cpu.weight, cpu.shares, cpu.max, memory.max, memory.swap.max, pids.max, cpuset.cpus, cpuset.mems; \"_\" works for \".\") are mapped to this host's file and checked against their range; any other name is written as is.", Example: "cg:set(\"memory.max\", \"64M\")\ncg:set(\"cpu_weight\", 200)", Method: (*Session).cgSet},
	{Name: "get", Args: "(name)", Doc: "Reads a limit in portable form (cpu.weight from v1 cpu.shares, \"max\" for unlimited, memory in bytes); other names are read as is.", Example: "print(cg:get(\"pids.max\"))", Method: (*Session).cgGet},
	{Name: "write", Args: "(file, value)", Doc: "Writes an interface file of the group as is, found by its controller prefix (cpu.shares in the v1 cpu tree, cgroup.* in the v2 one).", Example: "cg:write(\"cpu.shares\", 200)", Method: (*Session).cgWrite},
	{Name: "read", Args: "(file)", Doc: "Reads an interface file of the group as text (trimmed).", Example: "local cg = cgroup.create(\"readdemo\")\nprint(cg:read(\"cgroup.procs\")) -- a file of v1 and v2 alike; memory.events is v2 only\ncg:remove()", Method: (*Session).cgRead},
	{Name: "add", Args: "(pid|handle)", Doc: "Moves a process into the group in every hierarchy (writes cgroup.procs). Its children started later are born there.", Example: "cg:add(h)", Method: (*Session).cgAdd},
	{Name: "procs", Args: "()", Doc: "The pids in the group itself (not its child groups), from every hierarchy, sorted.", Example: "print(#cg:procs())", Method: (*Session).cgProcs},
	{Name: "stats", Args: "()", Doc: "Usage counters: {cpu_usage_ns=, cpu_usage_s=, memory_current=, memory_peak=, pids_current=, pids_peak=} (bytes, tasks); a field is nil when the host has no file for it or the group lacks the controller.", Example: "local st = cg:stats()\nprint(st.cpu_usage_s, st.memory_peak)", Method: (*Session).cgStats},
	{Name: "events", Args: "()", Doc: "Event counters from the group's own files (never the kernel log): {oom=, oom_kill= (v2 memory.events, v1 memory.oom_control), memory_max= (limit hits: v2 memory.events max, v1 memory.failcnt), pids_max= (forks refused: pids.events), populated=, frozen= (v2 cgroup.events)}; nil where the host has no counter.", Example: "print(cg:events().oom_kill)", Method: (*Session).cgEvents},
	{Name: "freeze", Args: "()", Doc: "Stops every process in the group and waits until the kernel says frozen (v1 freezer.state, v2 cgroup.freeze).", Example: "cg:freeze(); cg:thaw()", Method: (*Session).cgFreeze},
	{Name: "thaw", Args: "()", Doc: "Lets a frozen group run again.", Example: "cg:thaw()", Method: (*Session).cgThaw},
	{Name: "frozen", Args: "()", Doc: "true while the group is frozen.", Example: "print(cg:frozen())", Method: (*Session).cgFrozen},
	{Name: "kill", Args: "()", Doc: "SIGKILLs every process in the group and its children and waits until they are gone (v2 cgroup.kill; v1: kill every pid until none is left).", Example: "cg:kill()", Method: (*Session).cgKill},
	{Name: "remove", Args: "()", Doc: "Kills what is left and removes the group's directories in every hierarchy (a second remove does nothing). nsh does this at exit anyway.", Example: "cg:remove()", Method: (*Session).cgRemove},
	{Name: "keep", Args: "()", Doc: "Leaves the group on the host when nsh ends.", Example: "local cg = cgroup.create(\"kept\")\ncg:keep()   -- still there after nsh ends; remove it with cg:remove() or rmdir\ncg:remove()", Method: (*Session).cgKeep},
	{Name: "paths", Args: "()", Doc: "The group's directories, one per hierarchy.", Example: "for _, p in ipairs(cg:paths()) do print(p) end", Method: (*Session).cgPaths},
}

func (s *Session) installCgroupType() {
	L := s.L
	mt := L.NewTypeMetatable(cgroupType)
	methods := s.lazyMethods("cgroup handle", "cg:", func() []Func { return cgMethods })
	L.SetField(mt, "__index", L.NewFunction(func(L *glua.LState) int {
		h := checkCg(L, 1)
		switch key := L.CheckString(2); key {
		case "name":
			L.Push(glua.LString(h.g.Name()))
		case "controllers":
			L.Push(strList(L, h.g.Controllers()))
		case "mode":
			L.Push(glua.LString(h.g.Layout().Mode.String()))
		default:
			m := methods().RawGetString(key)
			if m == glua.LNil {
				return noSuchMember(L, cgroupType, L.Get(1), key)
			}
			L.Push(m)
		}
		return 1
	}))
	L.SetField(mt, "__tostring", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(checkCg(L, 1).g.String()))
		return 1
	}))
}

func checkCg(L *glua.LState, n int) *cgHandle {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if h, ok := ud.Value.(*cgHandle); ok {
			return h
		}
	}
	argErr(L, n, "cgroup handle expected (from cgroup.create; call methods with a colon: cg:stats()), got "+typeName(L.Get(n)))
	return nil
}

// liveCg is checkCg for methods that need the group to exist.
func liveCg(L *glua.LState) *cgHandle {
	h := checkCg(L, 1)
	if h.g.Removed() {
		raiseErr(L, fmt.Errorf("cgroup %s/%s was removed (cg:remove()); create a new one", cgroups.Parent, h.g.Name()))
	}
	return h
}

// cgHint attaches a word for the ordinary user in nsh's own user namespace,
// who is root there but owns nothing under /sys/fs/cgroup, to an
// EACCES/EPERM.
func cgHint(err error) error {
	if os.Getenv("NSH_USERNS") != "1" {
		return err
	}
	return withHint(err, hintIf(err, "nsh runs as an ordinary user here, root only inside its own user namespace: the cgroup tree belongs to the real root; "+
		"cgroups need a subtree delegated to you, e.g. systemd-run --user -p Delegate=yes --scope nsh ...; see docs/cgroups.md", unix.EACCES, unix.EPERM))
}

// cgRaise reports a failure of a method without arguments.
func cgRaise(L *glua.LState, err error) int { return raiseErr(L, cgHint(err)) }

// cgFail reports a failure of a method taking (name[, value]): a kernel
// failure as such, a refused value as bad argument 3, any other refusal
// (unknown file, controller the group lacks) as bad argument 2.
func cgFail(L *glua.LState, err error) int {
	var ve *cgroups.ValueError
	if errors.As(err, &ve) {
		return argErr(L, 3, err.Error())
	}
	return inputErr(L, 2, cgHint(err))
}

// cgOptionKeys are the keys of cgroup.create's options table.
func cgOptionKeys() []string {
	keys := []string{"controllers", "keep"}
	for _, l := range cgroups.Limits {
		keys = append(keys, l.Key())
	}
	return keys
}

// cgSpec is what an options table asks of a new group.
type cgSpec struct {
	ctrls  []string // nil: every controller of the host
	limits []cgroups.Setting
	keep   bool
}

// readCgSpec reads the options of cgroup.create (or of ns.spawn's cgroup=
// table) from o.
func readCgSpec(o options) cgSpec {
	var sp cgSpec
	if o.Has("controllers") { // {} or "": none (only the v2 directory)
		sp.ctrls = append([]string{}, o.Strings("controllers")...)
	}
	for _, l := range cgroups.Limits {
		if o.Has(l.Key()) {
			sp.limits = append(sp.limits, cgroups.Setting{Name: l.Name, Value: o.String(l.Key(), "")})
		}
	}
	sp.keep = o.Bool("keep", false)
	return sp
}

// newCgroup creates a group with its limits (runtime/cgroups leaves nothing
// behind on failure) and registers it for removal.
func (s *Session) newCgroup(name string, sp cgSpec) (*cgHandle, error) {
	g, err := cgroups.Create(name, sp.ctrls, sp.limits...)
	if err != nil {
		return nil, cgHint(err)
	}
	h := &cgHandle{g: g}
	var recs []cleanup.Record
	for _, p := range g.Paths() {
		recs = append(recs, cgroupRec(p))
	}
	h.item = s.Reg.Add("cgroup "+cgroups.Parent+"/"+name, g.Remove, recs...)
	if sp.keep {
		h.item.Keep()
	}
	return h, nil
}

func (s *Session) cgCreate(L *glua.LState) int {
	name := argString(L, 1, "name (a word like \"demo\" or \"lab/a\": the group becomes nsh/NAME in each hierarchy)")
	if err := cgroups.CheckName(name); err != nil {
		return argErr(L, 1, err.Error())
	}
	sp := readCgSpec(argOptions(L, 2, cgOptionKeys()...))
	h, err := s.newCgroup(name, sp)
	if err != nil {
		return inputErr(L, 2, err)
	}
	ud := L.NewUserData()
	ud.Value = h
	L.SetMetatable(ud, L.GetTypeMetatable(cgroupType))
	L.Push(ud)
	return 1
}

func (s *Session) cgLayout(L *glua.LState) int {
	l, err := cgroups.Detect()
	if err != nil {
		return raiseErr(L, err)
	}
	t := L.NewTable()
	t.RawSetString("mode", glua.LString(l.Mode.String()))
	if l.V2 != nil {
		t.RawSetString("v2", glua.LString(l.V2.Mount))
	}
	hs, ctrls := L.NewTable(), L.NewTable()
	for _, h := range l.Hierarchies {
		e := L.NewTable()
		e.RawSetString("version", glua.LNumber(h.Version))
		e.RawSetString("mount", glua.LString(h.Mount))
		e.RawSetString("root", glua.LString(h.Root))
		e.RawSetString("controllers", strList(L, h.Controllers))
		if h.Name != "" {
			e.RawSetString("name", glua.LString(h.Name))
		}
		hs.Append(e)
		for _, c := range h.Controllers {
			ctrls.RawSetString(c, glua.LString(h.Mount))
		}
	}
	t.RawSetString("hierarchies", hs)
	t.RawSetString("controllers", ctrls)
	L.Push(withText(L, t, l.String()))
	return 1
}

func (s *Session) cgLimits(L *glua.LState) int {
	t := L.NewTable()
	var b strings.Builder
	fmt.Fprintf(&b, "  %-16s %-46s %s\n", "NAME", "V1 FILE", "V2 FILE")
	for _, l := range cgroups.Limits {
		e := L.NewTable()
		e.RawSetString("name", glua.LString(l.Name))
		e.RawSetString("v1", glua.LString(l.V1))
		e.RawSetString("v2", glua.LString(l.V2))
		t.Append(e)
		fmt.Fprintf(&b, "  %-16s %-46s %s\n", l.Name, l.V1, l.V2)
	}
	L.Push(withText(L, t, strings.TrimRight(b.String(), "\n")))
	return 1
}

// cgValue reads a value argument: a string, a number or a boolean (1/0).
func cgValue(L *glua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case glua.LString, glua.LNumber:
		return v.String()
	case glua.LBool:
		if v {
			return "1"
		}
		return "0"
	}
	argErr(L, n, "value must be a string or a number, got "+describe(L.Get(n)))
	return ""
}

// cgLimitArg reads a limit or file name argument.
func cgLimitArg(L *glua.LState, n int) string {
	return argString(L, n, "limit name (one of "+strings.Join(cgroups.Portable, ", ")+", or any interface file name)")
}

// cgFileArg reads an interface file name argument.
func cgFileArg(L *glua.LState, n int) string {
	return argString(L, n, "interface file name (e.g. \"cpu.shares\", \"memory.events\", \"cgroup.procs\")")
}

func (s *Session) cgSet(L *glua.LState) int {
	h := liveCg(L)
	if err := h.g.Set(cgLimitArg(L, 2), cgValue(L, 3)); err != nil {
		return cgFail(L, err)
	}
	return 0
}

func (s *Session) cgGet(L *glua.LState) int {
	h := liveCg(L)
	name := cgLimitArg(L, 2)
	v, err := h.g.Get(name)
	if err != nil {
		return cgFail(L, err)
	}
	if l, ok := cgroups.LookupLimit(name); ok && strings.HasPrefix(l.Name, "cpuset.") {
		L.Push(glua.LString(v)) // lists like "0-1,3": keep "0" a string too
	} else if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		L.Push(glua.LNumber(n))
	} else {
		L.Push(glua.LString(v))
	}
	return 1
}

func (s *Session) cgWrite(L *glua.LState) int {
	h := liveCg(L)
	if err := h.g.Write(cgFileArg(L, 2), cgValue(L, 3)); err != nil {
		return cgFail(L, err)
	}
	return 0
}

func (s *Session) cgRead(L *glua.LState) int {
	h := liveCg(L)
	v, err := h.g.Read(cgFileArg(L, 2))
	if err != nil {
		return cgFail(L, err)
	}
	L.Push(glua.LString(v))
	return 1
}

func (s *Session) cgAdd(L *glua.LState) int {
	h := liveCg(L)
	if err := h.g.Add(s.checkPid(L, 2, false)); err != nil {
		return inputErr(L, 2, cgHint(err))
	}
	return 0
}

func (s *Session) cgProcs(L *glua.LState) int {
	h := liveCg(L)
	p, err := h.g.Procs()
	if err != nil {
		return cgRaise(L, err)
	}
	L.Push(intList(L, p))
	return 1
}

// counterTable holds the counters the host has (>= 0).
func counterTable(L *glua.LState, cs []cgroups.Counter) *glua.LTable {
	t := L.NewTable()
	for _, c := range cs {
		if c.Value >= 0 {
			t.RawSetString(c.Name, glua.LNumber(c.Value))
		}
	}
	return t
}

func (s *Session) cgStats(L *glua.LState) int {
	h := liveCg(L)
	st, err := h.g.Stats()
	if err != nil {
		return cgRaise(L, err)
	}
	t := counterTable(L, st.Counters())
	if st.CPUUsageNs >= 0 {
		t.RawSetString("cpu_usage_s", glua.LNumber(float64(st.CPUUsageNs)/1e9))
	}
	L.Push(withText(L, t, fmt.Sprintf("%s/%s: %s", cgroups.Parent, h.g.Name(), st)))
	return 1
}

// humanBytes prints 67108864 as 64.0M.
func humanBytes(v int64) string { return cgroups.HumanBytes(v) }

func (s *Session) cgEvents(L *glua.LState) int {
	h := liveCg(L)
	ev, err := h.g.Events()
	if err != nil {
		return cgRaise(L, err)
	}
	L.Push(withText(L, counterTable(L, ev.Counters()), fmt.Sprintf("%s/%s events: %s", cgroups.Parent, h.g.Name(), ev)))
	return 1
}

// cgDo runs a method that acts on a live group and returns nothing.
func cgDo(L *glua.LState, act func(*cgroups.Group) error) int {
	if err := act(liveCg(L).g); err != nil {
		return cgRaise(L, err)
	}
	return 0
}

func (s *Session) cgFreeze(L *glua.LState) int { return cgDo(L, (*cgroups.Group).Freeze) }
func (s *Session) cgThaw(L *glua.LState) int   { return cgDo(L, (*cgroups.Group).Thaw) }
func (s *Session) cgKill(L *glua.LState) int   { return cgDo(L, (*cgroups.Group).Kill) }

func (s *Session) cgFrozen(L *glua.LState) int {
	f, err := liveCg(L).g.Frozen()
	if err != nil {
		return cgRaise(L, err)
	}
	L.Push(glua.LBool(f))
	return 1
}

// remove removes the group (again: nothing) and forgets its cleanup.
func (h *cgHandle) remove() error {
	err := h.g.Remove()
	if err == nil {
		h.item.Forget()
	}
	return err
}

func (s *Session) cgRemove(L *glua.LState) int {
	if err := checkCg(L, 1).remove(); err != nil {
		return cgRaise(L, err)
	}
	return 0
}

func (s *Session) cgKeep(L *glua.LState) int {
	checkCg(L, 1).item.Keep()
	return 0
}

func (s *Session) cgPaths(L *glua.LState) int {
	L.Push(strList(L, checkCg(L, 1).g.Paths()))
	return 1
}

// cgroupSpawnOption is ns.spawn/ns.clone's cgroup= option: a handle, a
// name (a new group with every controller) or an options table with name=
// (a new group with those limits, removed with the child). Where the child
// is placed, and how, is runtime/cgroups' Placement: born in the v2
// directory (CLONE_INTO_CGROUP), joined to v1 ones while held.
func cgroupSpawnOption(s *Session, v glua.LValue, spec *nsproc.Spec, so *spawnOpts) error {
	h, err := s.spawnCgroup(v, so)
	if err != nil {
		return err
	}
	pl, err := h.g.Place()
	if err != nil {
		return fmt.Errorf("option cgroup: %w", err)
	}
	if pl.File != nil {
		so.files = append(so.files, pl.File)
		spec.CgroupFD = int(pl.File.Fd())
	}
	if pl.NeedsHold() {
		so.afterStart = append(so.afterStart, func(p *nsproc.Process) error { return pl.Join(p.Pid) })
	}
	return nil
}

// spawnCgroup is the group the cgroup= option names or makes.
func (s *Session) spawnCgroup(v glua.LValue, so *spawnOpts) (*cgHandle, error) {
	var name string
	var sp cgSpec
	bad := fmt.Errorf("option cgroup must be a cgroup handle (cgroup.create), a name or a table {name=, pids_max=, ...}, got %s", describe(v))
	switch v := v.(type) {
	case *glua.LUserData:
		h, ok := v.Value.(*cgHandle)
		if !ok {
			return nil, bad
		} else if h.g.Removed() {
			return nil, fmt.Errorf("option cgroup: cgroup %s/%s was removed", cgroups.Parent, h.g.Name())
		}
		return h, nil
	case glua.LString:
		name = string(v)
	case *glua.LTable:
		o := optionsOf(s.L, 1, v, append([]string{"name"}, cgOptionKeys()...)...)
		if name = o.String("name", ""); name == "" {
			return nil, fmt.Errorf("option cgroup: a table needs name= (the group becomes nsh/NAME)")
		}
		sp = readCgSpec(o)
	default:
		return nil, bad
	}
	if err := cgroups.CheckName(name); err != nil {
		return nil, fmt.Errorf("option cgroup: %w", err)
	}
	h, err := s.newCgroup(name, sp)
	if err != nil {
		return nil, fmt.Errorf("option cgroup: %w", err)
	}
	so.onEnd = append(so.onEnd, func() error { return h.remove() })
	return h, nil
}

// viewCgroup is view.cgroup([pid]).
