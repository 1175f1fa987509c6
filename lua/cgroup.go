package lua

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
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
	gone bool // removed with cg:remove()
}

func init() {
	extraModules = append(extraModules, func(s *Session) *Module { return s.cgroupModule() })
	extraViews = append(extraViews, func(s *Session) Func {
		return Func{Name: "cgroup", Args: "([pid])", Fn: s.viewCgroup,
			Doc: "The cgroups of a process (default: the shell's thread) in every hierarchy of the host: one row per line of /proc/PID/cgroup " +
				"(v1 hierarchies with their controllers, and the v2 line 0::), with the limits that apply there under portable names and the usage " +
				"(cpu time, memory current/peak, pids). Returns {pid=, mode=, cgroups={{id=, version=, controllers={...}, name=, path=, dir=, " +
				"limits={[\"memory.max\"]=...}, usage={[\"memory.current\"]=...}}}}.",
			Example: "local cg = cgroup.create(\"demo\", {pids_max = 20})\nlocal h = ns.spawn{\"/bin/sleep\", \"5\", cgroup = cg}\nprint(view.cgroup(h.pid))\nh:kill(9); h:wait()"}
	})
	extraSpawnOptions["cgroup"] = cgroupSpawnOption
}

// cgLimitKeys are the limit options of cgroup.create, in the order they are
// applied (memory before swap: v1 wants memsw >= limit).
var cgLimitKeys = []string{"cpu_weight", "cpu_shares", "cpu_max", "cpuset_cpus", "cpuset_mems", "memory_max", "memory_swap_max", "pids_max"}

func limitName(key string) string { return strings.ReplaceAll(key, "_", ".") }

func (s *Session) cgroupModule() *Module {
	s.installCgroupType()
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
					"controller). The limit options are set right away under their portable names (cpu_weight=200 becomes cpu.shares=5196 on v1; " +
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
	{Name: "set", Args: "(name, value)", Doc: "Sets a limit. Portable names (cpu.weight, cpu.shares, cpu.max, memory.max, memory.swap.max, pids.max, cpuset.cpus, cpuset.mems; \"_\" works for \".\") are mapped to this host's file and checked against their range; any other name is written as is.", Example: "cg:set(\"memory.max\", \"64M\")\ncg:set(\"cpu_weight\", 200)"},
	{Name: "get", Args: "(name)", Doc: "Reads a limit in portable form (cpu.weight from v1 cpu.shares, \"max\" for unlimited, memory in bytes); other names are read as is.", Example: "print(cg:get(\"pids.max\"))"},
	{Name: "write", Args: "(file, value)", Doc: "Writes an interface file of the group as is, found by its controller prefix (cpu.shares in the v1 cpu tree, cgroup.* in the v2 one).", Example: "cg:write(\"cpu.shares\", 200)"},
	{Name: "read", Args: "(file)", Doc: "Reads an interface file of the group as text (trimmed).", Example: "print(cg:read(\"memory.events\"))"},
	{Name: "add", Args: "(pid|handle)", Doc: "Moves a process into the group in every hierarchy (writes cgroup.procs). Its children started later are born there.", Example: "cg:add(h)"},
	{Name: "procs", Args: "()", Doc: "The pids in the group itself (not its child groups), from every hierarchy, sorted.", Example: "print(#cg:procs())"},
	{Name: "stats", Args: "()", Doc: "Usage counters: {cpu_usage_ns=, cpu_usage_s=, memory_current=, memory_peak=, pids_current=, pids_peak=} (bytes, tasks); a field is nil when the host has no file for it or the group lacks the controller.", Example: "local st = cg:stats()\nprint(st.cpu_usage_s, st.memory_peak)"},
	{Name: "events", Args: "()", Doc: "Event counters from the group's own files (never the kernel log): {oom=, oom_kill= (v2 memory.events, v1 memory.oom_control), memory_max= (limit hits: v2 memory.events max, v1 memory.failcnt), pids_max= (forks refused: pids.events), populated=, frozen= (v2 cgroup.events)}; nil where the host has no counter.", Example: "print(cg:events().oom_kill)"},
	{Name: "freeze", Args: "()", Doc: "Stops every process in the group and waits until the kernel says frozen (v1 freezer.state, v2 cgroup.freeze).", Example: "cg:freeze(); cg:thaw()"},
	{Name: "thaw", Args: "()", Doc: "Lets a frozen group run again.", Example: "cg:thaw()"},
	{Name: "frozen", Args: "()", Doc: "true while the group is frozen.", Example: "print(cg:frozen())"},
	{Name: "kill", Args: "()", Doc: "SIGKILLs every process in the group and its children and waits until they are gone (v2 cgroup.kill; v1: kill every pid until none is left).", Example: "cg:kill()"},
	{Name: "remove", Args: "()", Doc: "Kills what is left and removes the group's directories in every hierarchy (a second remove does nothing). nsh does this at exit anyway.", Example: "cg:remove()"},
	{Name: "keep", Args: "()", Doc: "Leaves the group on the host when nsh ends.", Example: "cg:keep()"},
	{Name: "paths", Args: "()", Doc: "The group's directories, one per hierarchy.", Example: "for _, p in ipairs(cg:paths()) do print(p) end"},
}

func (s *Session) installCgroupType() {
	L := s.L
	mt := L.NewTypeMetatable(cgroupType)
	bind := map[string]glua.LGFunction{
		"set": s.cgSet, "get": s.cgGet, "write": s.cgWrite, "read": s.cgRead, "add": s.cgAdd,
		"procs": s.cgProcs, "stats": s.cgStats, "events": s.cgEvents, "freeze": s.cgFreeze(true),
		"thaw": s.cgFreeze(false), "frozen": s.cgFrozen, "kill": s.cgKill, "remove": s.cgRemove,
		"keep": s.cgKeep, "paths": s.cgPaths,
	}
	methods := s.methodTable("cgroup handle", "cg:", cgMethods, bind)
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
			L.Push(methods.RawGetString(key))
		}
		return 1
	}))
	L.SetField(mt, "__tostring", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(checkCg(L, 1).String()))
		return 1
	}))
	L.SetField(mt, "__eq", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LBool(checkCg(L, 1).g == checkCg(L, 2).g))
		return 1
	}))
}

// String is how a handle prints: name, layout, controllers, processes, dirs.
func (h *cgHandle) String() string {
	if h.gone {
		return fmt.Sprintf("cgroup %s/%s (removed)", cgroups.Parent, h.g.Name())
	}
	ctrls := strings.Join(h.g.Controllers(), ",")
	if ctrls == "" {
		ctrls = "no controllers"
	}
	n := "?"
	if p, err := h.g.Procs(); err == nil {
		n = strconv.Itoa(len(p))
	}
	return fmt.Sprintf("cgroup %s/%s (%s host; %s; %s processes) at %s", cgroups.Parent, h.g.Name(),
		h.g.Layout().Mode, ctrls, n, strings.Join(h.g.Paths(), " "))
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

// live is checkCg for methods that need the group to exist.
func liveCg(L *glua.LState, fn string) *cgHandle {
	h := checkCg(L, 1)
	if h.gone {
		L.RaiseError("%s: cgroup %s/%s was removed (cg:remove()); create a new one", fn, cgroups.Parent, h.g.Name())
	}
	return h
}

// cgRaise is raise with a word for the ordinary user in nsh's own user
// namespace, who is root there but owns nothing under /sys/fs/cgroup.
func cgRaise(L *glua.LState, fn string, err error) int {
	if (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) && os.Getenv("NSH_USERNS") == "1" {
		err = fmt.Errorf("%w (nsh runs as an ordinary user here, root only inside its own user namespace: the cgroup tree belongs to the real root; "+
			"cgroups need a subtree delegated to you, e.g. systemd-run --user -p Delegate=yes --scope nsh ...; see docs/cgroups.md)", err)
	}
	return raise(L, fn, err)
}

// cgOptions reads create's options table into controllers, ordered limits
// and keep. Wrong keys or values give an error naming the valid ones.
type cgOpts struct {
	name   string
	ctrls  []string
	limits [][2]string
	keep   bool
}

func readCgOptions(L *glua.LState, t *glua.LTable, allowName bool) (*cgOpts, error) {
	o := &cgOpts{}
	vals := map[string]string{}
	var err error
	valid := append([]string{"controllers", "keep"}, cgLimitKeys...)
	if allowName {
		valid = append([]string{"name"}, valid...)
	}
	t.ForEach(func(k, v glua.LValue) {
		if err != nil {
			return
		}
		key, ok := k.(glua.LString)
		if !ok {
			err = fmt.Errorf("options must be named fields (%s), got a %s key", strings.Join(valid, ", "), typeName(k))
			return
		}
		switch string(key) {
		case "name":
			if !allowName {
				break
			}
			sv, ok := v.(glua.LString)
			if !ok {
				err = fmt.Errorf("name must be a string, got %s", typeName(v))
				return
			}
			o.name = string(sv)
			return
		case "controllers":
			words, e := stringList(L, v, "controllers")
			if e != nil {
				err = e
				return
			}
			o.ctrls = []string{}
			for _, w := range words {
				for _, c := range strings.Split(w, ",") {
					if c = strings.TrimSpace(c); c != "" {
						o.ctrls = append(o.ctrls, c)
					}
				}
			}
			return
		case "keep":
			b, ok := v.(glua.LBool)
			if !ok {
				err = fmt.Errorf("keep must be true or false, got %s", typeName(v))
				return
			}
			o.keep = bool(b)
			return
		default:
			for _, lk := range cgLimitKeys {
				if string(key) == lk {
					switch v := v.(type) {
					case glua.LString:
						vals[lk] = string(v)
					case glua.LNumber:
						vals[lk] = numString(float64(v))
					default:
						err = fmt.Errorf("%s must be a number or a string, got %s", lk, typeName(v))
					}
					return
				}
			}
		}
		err = fmt.Errorf("unknown option %q (valid options: %s)", string(key), strings.Join(valid, ", "))
	})
	if err != nil {
		return nil, err
	}
	for _, k := range cgLimitKeys {
		if v, ok := vals[k]; ok {
			o.limits = append(o.limits, [2]string{limitName(k), v})
		}
	}
	return o, nil
}

// numString prints a whole number without exponent or fraction.
func numString(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// newCgroup creates and registers a group and applies its limits; on any
// failure nothing is left behind.
func (s *Session) newCgroup(name string, o *cgOpts) (*cgHandle, error) {
	g, err := cgroups.Create(name, o.ctrls)
	if err != nil {
		return nil, err
	}
	h := &cgHandle{g: g}
	h.item = s.Reg.Add("cgroup "+cgroups.Parent+"/"+name, g.Remove)
	for _, l := range o.limits {
		if err := g.Set(l[0], l[1]); err != nil {
			g.Remove()
			h.item.Forget()
			return nil, err
		}
	}
	if o.keep {
		h.item.Keep()
	}
	return h, nil
}

func (s *Session) pushCg(L *glua.LState, h *cgHandle) {
	ud := L.NewUserData()
	ud.Value = h
	L.SetMetatable(ud, L.GetTypeMetatable(cgroupType))
	L.Push(ud)
}

func (s *Session) cgCreate(L *glua.LState) int {
	nv, ok := L.Get(1).(glua.LString)
	if !ok || string(nv) == "" {
		return argErr(L, 1, "name expected: a word like \"demo\" or \"lab/a\" (the group becomes nsh/NAME in each hierarchy), got "+typeName(L.Get(1)))
	}
	name := string(nv)
	if strings.HasPrefix(name, "/") || strings.Contains(name, "//") || strings.Contains(name, "..") || name == "." {
		return argErr(L, 1, fmt.Sprintf("name %q must be relative words separated by \"/\" (no leading \"/\", \"..\" or empty parts)", name))
	}
	o := &cgOpts{}
	switch v := L.Get(2).(type) {
	case *glua.LNilType:
	case *glua.LTable:
		var err error
		if o, err = readCgOptions(L, v, false); err != nil {
			return argErr(L, 2, err.Error())
		}
	default:
		return argErr(L, 2, "options table expected ({controllers=, cpu_weight=, memory_max=, pids_max=, ...}), got "+typeName(v))
	}
	if o.ctrls != nil {
		l, err := cgroups.Detect()
		if err != nil {
			return raise(L, "cgroup.create", err)
		}
		for _, c := range o.ctrls {
			if _, ok := l.Controller(c); !ok {
				return argErr(L, 2, fmt.Sprintf("unknown controller %q (this %s host has: %s)", c, l.Mode, strings.Join(l.Controllers(), ", ")))
			}
		}
	}
	h, err := s.newCgroup(name, o)
	if err != nil {
		return cgRaise(L, "cgroup.create", err)
	}
	s.pushCg(L, h)
	return 1
}

func (s *Session) cgLayout(L *glua.LState) int {
	l, err := cgroups.Detect()
	if err != nil {
		return raise(L, "cgroup.layout", err)
	}
	t := L.NewTable()
	t.RawSetString("mode", glua.LString(l.Mode.String()))
	if l.V2 != nil {
		t.RawSetString("v2", glua.LString(l.V2.Mount))
	}
	hs := L.NewTable()
	ctrls := L.NewTable()
	var b strings.Builder
	fmt.Fprintf(&b, "cgroup layout: %s\n", l.Mode)
	fmt.Fprintf(&b, "  %-3s %-28s %-10s %s\n", "VER", "MOUNT", "ROOT", "CONTROLLERS")
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
		what := strings.Join(h.Controllers, ",")
		if h.Name != "" {
			what = strings.TrimPrefix(what+",", ",") + "name=" + h.Name
		}
		if what == "" {
			what = "(none available)"
		}
		fmt.Fprintf(&b, "  v%-2d %-28s %-10s %s\n", h.Version, h.Mount, h.Root, what)
	}
	t.RawSetString("hierarchies", hs)
	t.RawSetString("controllers", ctrls)
	switch l.Mode {
	case cgroups.ModeHybrid:
		b.WriteString("  (hybrid: controllers bound to a v1 hierarchy are not available in v2; the v2 tree still gives cgroup.kill, cgroup.freeze, CLONE_INTO_CGROUP)\n")
	case cgroups.ModeNone:
		b.WriteString("  (no cgroup file system is mounted here)\n")
	}
	L.Push(withText(L, t, strings.TrimRight(b.String(), "\n")))
	return 1
}

func (s *Session) cgLimits(L *glua.LState) int {
	rows := [][3]string{
		{"cpu.weight", "cpu.shares (converted: weight 100 = 2597 shares)", "cpu.weight (1..10000)"},
		{"cpu.shares", "cpu.shares (2..262144)", "cpu.weight (converted)"},
		{"cpu.max", "cpu.cfs_quota_us + cpu.cfs_period_us", "cpu.max \"QUOTA PERIOD\""},
		{"memory.max", "memory.limit_in_bytes", "memory.max"},
		{"memory.swap.max", "memory.memsw.limit_in_bytes (= limit + swap)", "memory.swap.max"},
		{"pids.max", "pids.max", "pids.max"},
		{"cpuset.cpus", "cpuset.cpus", "cpuset.cpus"},
		{"cpuset.mems", "cpuset.mems", "cpuset.mems"},
	}
	t := L.NewTable()
	var b strings.Builder
	fmt.Fprintf(&b, "  %-16s %-46s %s\n", "NAME", "V1 FILE", "V2 FILE")
	for _, r := range rows {
		e := L.NewTable()
		e.RawSetString("name", glua.LString(r[0]))
		e.RawSetString("v1", glua.LString(r[1]))
		e.RawSetString("v2", glua.LString(r[2]))
		t.Append(e)
		fmt.Fprintf(&b, "  %-16s %-46s %s\n", r[0], r[1], r[2])
	}
	L.Push(withText(L, t, strings.TrimRight(b.String(), "\n")))
	return 1
}

// cgValue reads a value argument: string or number.
func cgValue(L *glua.LState, n int, what string) string {
	switch v := L.Get(n).(type) {
	case glua.LString:
		return string(v)
	case glua.LNumber:
		return numString(float64(v))
	case glua.LBool:
		if v {
			return "1"
		}
		return "0"
	}
	argErr(L, n, fmt.Sprintf("%s must be a string or a number, got %s", what, typeName(L.Get(n))))
	return ""
}

// cgName reads a file or limit name; "_" stands for "." in portable names.
func cgName(L *glua.LState, n int, portable bool) string {
	v, ok := L.Get(n).(glua.LString)
	if !ok || v == "" {
		if portable {
			return argErr2(L, n, "limit name expected: one of "+strings.Join(cgroups.Portable, ", ")+", or any interface file name, got "+typeName(L.Get(n)))
		}
		return argErr2(L, n, "interface file name expected (e.g. \"cpu.shares\", \"memory.events\", \"cgroup.procs\"), got "+typeName(L.Get(n)))
	}
	name := string(v)
	if strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return argErr2(L, n, fmt.Sprintf("%q is not an interface file name (a plain name like \"pids.max\", no \"/\")", name))
	}
	if portable {
		if alt := limitName(name); contains(cgroups.Portable, alt) {
			return alt
		}
	}
	return name
}

func argErr2(L *glua.LState, n int, msg string) string { argErr(L, n, msg); return "" }

func (s *Session) cgSet(L *glua.LState) int {
	h := liveCg(L, "cg:set")
	name := cgName(L, 2, true)
	val := cgValue(L, 3, "value")
	if err := h.g.Set(name, val); err != nil {
		return cgRaise(L, "cg:set", err)
	}
	return 0
}

func (s *Session) cgGet(L *glua.LState) int {
	h := liveCg(L, "cg:get")
	name := cgName(L, 2, true)
	v, err := h.g.Get(name)
	if err != nil {
		return cgRaise(L, "cg:get", err)
	}
	if strings.HasPrefix(name, "cpuset.") { // lists like "0-1,3": keep "0" a string too
		L.Push(glua.LString(v))
		return 1
	}
	pushNumOrString(L, v)
	return 1
}

// pushNumOrString pushes a whole number as a number, anything else as text.
func pushNumOrString(L *glua.LState, v string) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		L.Push(glua.LNumber(n))
		return
	}
	L.Push(glua.LString(v))
}

func (s *Session) cgWrite(L *glua.LState) int {
	h := liveCg(L, "cg:write")
	file := cgName(L, 2, false)
	if err := h.g.Write(file, cgValue(L, 3, "value")); err != nil {
		return cgRaise(L, "cg:write", err)
	}
	return 0
}

func (s *Session) cgRead(L *glua.LState) int {
	h := liveCg(L, "cg:read")
	v, err := h.g.Read(cgName(L, 2, false))
	if err != nil {
		return cgRaise(L, "cg:read", err)
	}
	L.Push(glua.LString(v))
	return 1
}

func (s *Session) cgAdd(L *glua.LState) int {
	h := liveCg(L, "cg:add")
	pid := s.checkPid(L, 2, false)
	if err := h.g.Add(pid); err != nil {
		return cgRaise(L, "cg:add", err)
	}
	return 0
}

func (s *Session) cgProcs(L *glua.LState) int {
	h := liveCg(L, "cg:procs")
	p, err := h.g.Procs()
	if err != nil {
		return cgRaise(L, "cg:procs", err)
	}
	L.Push(intList(L, p))
	return 1
}

func setNonNeg(t *glua.LTable, k string, v int64) {
	if v >= 0 {
		t.RawSetString(k, glua.LNumber(v))
	}
}

func (s *Session) cgStats(L *glua.LState) int {
	h := liveCg(L, "cg:stats")
	st, err := h.g.Stats()
	if err != nil {
		return cgRaise(L, "cg:stats", err)
	}
	t := L.NewTable()
	setNonNeg(t, "cpu_usage_ns", st.CPUUsageNs)
	if st.CPUUsageNs >= 0 {
		t.RawSetString("cpu_usage_s", glua.LNumber(float64(st.CPUUsageNs)/1e9))
	}
	setNonNeg(t, "memory_current", st.MemoryCurrent)
	setNonNeg(t, "memory_peak", st.MemoryPeak)
	setNonNeg(t, "pids_current", st.PidsCurrent)
	setNonNeg(t, "pids_peak", st.PidsPeak)
	text := fmt.Sprintf("%s/%s: cpu %s, memory %s (peak %s), pids %s (peak %s)", cgroups.Parent, h.g.Name(),
		orDash(st.CPUUsageNs, func(v int64) string { return fmt.Sprintf("%.3f s", float64(v)/1e9) }),
		orDash(st.MemoryCurrent, humanBytes), orDash(st.MemoryPeak, humanBytes),
		orDash(st.PidsCurrent, itoa64), orDash(st.PidsPeak, itoa64))
	L.Push(withText(L, t, text))
	return 1
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

func orDash(v int64, f func(int64) string) string {
	if v < 0 {
		return "-"
	}
	return f(v)
}

// humanBytes prints 67108864 as 64.0M.
func humanBytes(v int64) string {
	units := []string{"", "K", "M", "G", "T"}
	f := float64(v)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprintf("%.1f%s", f, units[i])
}

func (s *Session) cgEvents(L *glua.LState) int {
	h := liveCg(L, "cg:events")
	ev, err := h.g.Events()
	if err != nil {
		return cgRaise(L, "cg:events", err)
	}
	t := L.NewTable()
	fields := []struct {
		k string
		v int64
	}{{"oom", ev.OOM}, {"oom_kill", ev.OOMKill}, {"memory_max", ev.MemoryMax}, {"under_oom", ev.UnderOOM},
		{"pids_max", ev.PidsMax}, {"populated", ev.Populated}, {"frozen", ev.Frozen}}
	var parts []string
	for _, f := range fields {
		setNonNeg(t, f.k, f.v)
		if f.v >= 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", f.k, f.v))
		}
	}
	L.Push(withText(L, t, fmt.Sprintf("%s/%s events: %s", cgroups.Parent, h.g.Name(), strings.Join(parts, " "))))
	return 1
}

func (s *Session) cgFreeze(freeze bool) glua.LGFunction {
	return func(L *glua.LState) int {
		fn := "cg:thaw"
		if freeze {
			fn = "cg:freeze"
		}
		h := liveCg(L, fn)
		var err error
		if freeze {
			err = h.g.Freeze()
		} else {
			err = h.g.Thaw()
		}
		if err != nil {
			return cgRaise(L, fn, err)
		}
		return 0
	}
}

func (s *Session) cgFrozen(L *glua.LState) int {
	h := liveCg(L, "cg:frozen")
	f, err := h.g.Frozen()
	if err != nil {
		return cgRaise(L, "cg:frozen", err)
	}
	L.Push(glua.LBool(f))
	return 1
}

func (s *Session) cgKill(L *glua.LState) int {
	h := liveCg(L, "cg:kill")
	if err := h.g.Kill(); err != nil {
		return cgRaise(L, "cg:kill", err)
	}
	return 0
}

func (s *Session) cgRemove(L *glua.LState) int {
	h := checkCg(L, 1)
	if h.gone {
		return 0
	}
	if err := h.g.Remove(); err != nil {
		return cgRaise(L, "cg:remove", err)
	}
	h.gone = true
	h.item.Forget()
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
// (a new group with those limits). On v2 the child is born in the group
// (CLONE_INTO_CGROUP); its v1 memberships are added while it is held,
// before it runs a single instruction of its own.
func cgroupSpawnOption(s *Session, v glua.LValue, spec *nsproc.Spec, so *spawnOpts) error {
	var h *cgHandle
	switch v := v.(type) {
	case *glua.LUserData:
		ch, ok := v.Value.(*cgHandle)
		if !ok {
			return fmt.Errorf("option cgroup must be a cgroup handle (cgroup.create), a name or a table {name=, pids_max=, ...}, got a %s", typeName(v))
		}
		if ch.gone {
			return fmt.Errorf("option cgroup: cgroup %s/%s was removed", cgroups.Parent, ch.g.Name())
		}
		h = ch
	case glua.LString, *glua.LTable:
		o := &cgOpts{}
		name := ""
		if str, ok := v.(glua.LString); ok {
			name = string(str)
		} else {
			var err error
			if o, err = readCgOptions(s.L, v.(*glua.LTable), true); err != nil {
				return fmt.Errorf("option cgroup: %v", err)
			}
			name = o.name
			if name == "" {
				return fmt.Errorf("option cgroup: a table needs name= (the group becomes nsh/NAME)")
			}
		}
		nh, err := s.newCgroup(name, o)
		if err != nil {
			if (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) && os.Getenv("NSH_USERNS") == "1" {
				err = fmt.Errorf("%w (an ordinary user needs a delegated cgroup subtree: see docs/cgroups.md)", err)
			}
			return fmt.Errorf("option cgroup: %w", err)
		}
		h = nh
		so.onEnd = append(so.onEnd, func() error {
			err := h.g.Remove()
			if err == nil {
				h.gone = true
				h.item.Forget()
			}
			return err
		})
	default:
		return fmt.Errorf("option cgroup must be a cgroup handle (cgroup.create), a name or a table {name=, pids_max=, ...}, got %s", typeName(v))
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

// viewCgroup is view.cgroup([pid]).
func (s *Session) viewCgroup(L *glua.LState) int {
	pid := s.checkPid(L, 1, true)
	l, err := cgroups.Detect()
	if err != nil {
		return raise(L, "view.cgroup", err)
	}
	ms, err := l.ProcessCgroups(pid)
	if err != nil {
		return raise(L, "view.cgroup", err)
	}
	t := L.NewTable()
	t.RawSetString("pid", glua.LNumber(pid))
	t.RawSetString("mode", glua.LString(l.Mode.String()))
	rows := L.NewTable()
	who := "the shell"
	if pid != 0 {
		who = fmt.Sprintf("process %d", pid)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cgroups of %s (%s host)\n", who, l.Mode)
	fmt.Fprintf(&b, "  %-3s %-18s %-28s %s\n", "ID", "HIERARCHY", "PATH", "LIMITS / USAGE")
	for _, m := range ms {
		e := L.NewTable()
		e.RawSetString("id", glua.LNumber(m.HierarchyID))
		e.RawSetString("version", glua.LNumber(m.Version))
		e.RawSetString("controllers", strList(L, m.Controllers))
		if m.Name != "" {
			e.RawSetString("name", glua.LString(m.Name))
		}
		e.RawSetString("path", glua.LString(m.Path))
		if m.Dir != "" {
			e.RawSetString("dir", glua.LString(m.Dir))
		}
		lim := L.NewTable()
		var info []string
		for _, k := range sortedKeys(m.Limits) {
			v := m.Limits[k]
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				lim.RawSetString(k, glua.LNumber(n))
				if strings.HasPrefix(k, "memory.") {
					v = humanBytes(n)
				}
			} else {
				lim.RawSetString(k, glua.LString(v))
			}
			info = append(info, k+"="+v)
		}
		use := L.NewTable()
		for _, k := range sortedKeys(m.Usage) {
			v := m.Usage[k]
			use.RawSetString(k, glua.LNumber(v))
			switch {
			case strings.HasPrefix(k, "memory."):
				info = append(info, k+"="+humanBytes(v))
			case k == "cpu.usage_ns":
				info = append(info, fmt.Sprintf("cpu=%.3fs", float64(v)/1e9))
			default:
				info = append(info, fmt.Sprintf("%s=%d", k, v))
			}
		}
		e.RawSetString("limits", lim)
		e.RawSetString("usage", use)
		rows.Append(e)
		hier := "v2 (unified)"
		if m.Version == 1 {
			hier = strings.Join(m.Controllers, ",")
			if m.Name != "" {
				hier = "name=" + m.Name
			}
		} else if len(m.Controllers) > 0 {
			hier = "v2: " + strings.Join(m.Controllers, ",")
		}
		if m.Dir == "" {
			info = append(info, "(not mounted here)")
		}
		fmt.Fprintf(&b, "  %-3d %-18s %-28s %s\n", m.HierarchyID, hier, m.Path, strings.Join(info, " "))
	}
	t.RawSetString("cgroups", rows)
	L.Push(withText(L, t, strings.TrimRight(b.String(), "\n")))
	return 1
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
