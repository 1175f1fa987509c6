package lua

import (
	"fmt"
	"sort"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// A methodSet documents the methods of one of nsh's userdata types (process
// handles, cgroup handles, labs, lab nodes, DNS hubs), for help() and
// docs/api.md, as Module does for module functions.
type methodSet struct {
	Kind   string // "process handle"
	Prefix string // how methods are written: "h:"
	Type   string // the metatable's type name
	Doc    string
	Fields []string // what obj.NAME reads besides methods, for completion
	Funcs  []Func
}

func methodSets() []methodSet {
	return []methodSet{
		{Kind: "process handle", Prefix: "h:", Type: handleType, Funcs: handleMethods, Fields: []string{"pid", "argv"},
			Doc: "What ns.spawn and ns.clone return. Fields: h.pid (the child's PID in nsh's PID namespace), h.argv."},
		{Kind: "cgroup handle", Prefix: "cg:", Type: cgroupType, Funcs: cgMethods, Fields: []string{"name", "controllers", "mode"},
			Doc: "What cgroup.create returns. Fields: cg.name, cg.controllers, cg.mode."},
		{Kind: "lab", Prefix: "lab:", Type: labType, Funcs: labMethods(), Fields: []string{"name", "dir", "pinned", "pin_message", "path", "userns"},
			Doc: "What net.lab returns. lab.NAME is the node called NAME; fields lab.name, lab.dir, lab.pinned, lab.pin_message, lab.path (a file naming the hub's network namespace), lab.userns (the lab's own user namespace, with userns=true)."},
		{Kind: "lab node", Prefix: "node:", Type: nodeType, Funcs: nodeMethods(), Fields: []string{"name", "ip", "addrs", "path", "pid", "running", "hostname", "env", "router"},
			Doc: "A node of a lab (lab:node, or lab.NAME): a set of namespaces with its interfaces. Fields: node.pid (its first process, " +
				"the holder, while it runs; nil once stopped), node.running, node.path (a file naming its network namespace: its pin, or " +
				"/proc/PID/ns/net of the holder), node.ip, node.addrs, node.hostname, node.env, node.router."},
		{Kind: "DNS hub", Prefix: "hub:", Type: dnsType, Funcs: dnsHubMethods, Fields: []string{"addr"},
			Doc: "What net.dns_hub returns: a DNS responder inside a namespace. Field hub.addr."},
		{Kind: "capture", Prefix: "c:", Type: captureType, Funcs: captureHandleMethods,
			Doc: "What node:capture_start and lab:capture_start return: a packet capture running on one link."},
	}
}

// setOf finds the method set of a userdata value.
func (s *Session) setOf(v glua.LValue) (methodSet, bool) {
	ud, ok := v.(*glua.LUserData)
	if !ok {
		return methodSet{}, false
	}
	mt, _ := s.L.GetMetatable(ud).(*glua.LTable)
	for _, set := range methodSets() {
		if mt != nil && (mt == s.L.GetTypeMetatable(set.Type) || mt.RawGetString("__name") == glua.LString(set.Type)) {
			return set, true
		}
	}
	return methodSet{}, false
}

// methodByName finds "h:wait", "lab:pingall", ... (also "handle.wait").
func methodByName(name string) (*Func, methodSet, bool) {
	for _, set := range methodSets() {
		short := strings.TrimSuffix(set.Prefix, ":")
		for _, p := range []string{set.Prefix, short + ".", strings.ReplaceAll(set.Kind, " ", "") + "."} {
			if rest, ok := strings.CutPrefix(name, p); ok {
				for i := range set.Funcs {
					if set.Funcs[i].Name == rest {
						return &set.Funcs[i], set, true
					}
				}
			}
		}
	}
	return nil, methodSet{}, false
}

// setByName finds a set by its prefix or kind ("h", "handle", "lab", "node").
func setByName(name string) (methodSet, bool) {
	name = strings.TrimSuffix(strings.TrimSuffix(name, ":"), ".")
	for _, set := range methodSets() {
		if name == strings.TrimSuffix(set.Prefix, ":") || name == set.Kind || strings.HasSuffix(set.Kind, " "+name) || name == set.Type {
			return set, true
		}
	}
	return methodSet{}, false
}

func (set methodSet) help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\n", set.Kind, wrap(set.Doc, 78))
	fs := append([]Func(nil), set.Funcs...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s%s%s\n", set.Prefix, f.Name, f.Args)
	}
	fmt.Fprintf(&b, "\nhelp(\"%s%s\") explains one.\n", set.Prefix, fs[0].Name)
	return b.String()
}

func (set methodSet) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "## %s methods (`%s`)\n\n%s\n\n", strings.ToUpper(set.Kind[:1])+set.Kind[1:], set.Prefix, set.Doc)
	fs := append([]Func(nil), set.Funcs...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	for i := range fs {
		b.WriteString("### `" + set.Prefix + fs[i].Name + fs[i].Args + "`\n\n" + fs[i].Doc + "\n\n")
		if fs[i].Example != "" {
			b.WriteString("```lua\n" + fs[i].Example + "\n```\n\n")
		}
	}
}

// methodDoc formats one method's help.
func methodDoc(f *Func, set methodSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s%s\n\n%s\n", set.Prefix, f.Name, f.Args, wrap(f.Doc, 78))
	if f.Example != "" {
		b.WriteString("\nExample:\n")
		for _, line := range strings.Split(f.Example, "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	return b.String()
}

// methodTable builds the table of a userdata type's methods from its
// records: each record's Method is wrapped with its Lua name (for argument
// errors) and given its help.
func (s *Session) methodTable(kind, prefix string, funcs []Func) *glua.LTable {
	t := s.L.NewTable()
	for i := range funcs {
		f := &funcs[i]
		m := f.Method
		if m == nil {
			panic("nsh: no implementation for " + prefix + f.Name)
		}
		fn := s.L.NewFunction(named(prefix+f.Name, func(L *glua.LState) int { return m(s, L) }))
		t.RawSetString(f.Name, fn)
		s.addDoc(fn, Doc{Module: kind, Func: f})
	}
	return t
}

// lazyMethods is methodTable built on the first call (the first method
// looked up on an object of the type): a session's start made the tables
// of all six types, some 150 functions and their help records, that a
// chunk which never holds a lab or a handle does not use.
func (s *Session) lazyMethods(kind, prefix string, funcs func() []Func) func() *glua.LTable {
	var t *glua.LTable
	return func() *glua.LTable {
		if t == nil {
			t = s.methodTable(kind, prefix, funcs())
		}
		return t
	}
}

// noSuchMember raises the error for obj.key on an object of type typ that
// has no method or field key, with the closest ones: `h.wiat is not a
// function of a process handle: did you mean h:wait?`.
func noSuchMember(L *glua.LState, typ string, obj glua.LValue, key string) int {
	for _, set := range methodSets() {
		if set.Type != typ {
			continue
		}
		short := strings.TrimSuffix(set.Prefix, ":")
		members := map[string]string{}
		for _, f := range objectFields(set, obj) {
			members[f] = short + "." + f
		}
		for _, m := range set.methodNames() {
			members[m] = short + ":" + m
		}
		return noSuchField(L, short+"."+key, "a method or field of a "+set.Kind, key, short, members)
	}
	L.Push(glua.LNil)
	return 1
}

// isMember tells whether key is a method or field of objects of type typ.
func isMember(typ string, obj glua.LValue, key string) bool {
	for _, set := range methodSets() {
		if set.Type == typ {
			return contains(objectFields(set, obj), key) || contains(set.methodNames(), key)
		}
	}
	return false
}
