package lua

import (
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// Complete returns the names that can follow word: globals ("pr" ->
// "print"), fields of a table ("ns.cl" -> "clone"), methods of a handle, lab,
// node or other object with methods ("h:wa" -> "wait", from its method
// records). Each candidate is the whole last component.
func (s *Session) Complete(word string) []string {
	s.loadModules()
	sep := strings.LastIndexAny(word, ".:")
	t := s.L.G.Global
	partial := word
	if sep >= 0 {
		partial = word[sep+1:]
		v, ok := s.resolve(word[:sep])
		if !ok {
			return nil
		}
		if set, ok := s.setOf(v); ok {
			if word[sep] == '.' {
				return filterPrefix(objectFields(set, v), partial)
			}
			return filterPrefix(set.methodNames(), partial)
		}
		if t, ok = v.(*glua.LTable); !ok {
			return nil
		}
	}
	var names []string
	t.ForEach(func(k, _ glua.LValue) {
		if ks, ok := k.(glua.LString); ok && strings.HasPrefix(string(ks), partial) && !strings.HasPrefix(string(ks), "__") {
			names = append(names, string(ks))
		}
	})
	if sep < 0 {
		for _, kw := range []string{"local", "function", "return", "while", "repeat", "until", "then", "else", "elseif", "end", "for", "in", "and", "not", "nil", "true", "false"} {
			if strings.HasPrefix(kw, partial) && partial != "" {
				names = append(names, kw)
			}
		}
	}
	return names
}

// objectFields is what obj.NAME reads on an object of set: its fields and,
// for a lab, its node names.
func objectFields(set methodSet, v glua.LValue) []string {
	fields := append([]string(nil), set.Fields...)
	if ud, ok := v.(*glua.LUserData); ok {
		if l, ok := ud.Value.(*luaLab); ok {
			for _, n := range l.l.Nodes() {
				fields = append(fields, n.Name) // lab.NAME is a node
			}
		}
	}
	return fields
}

func (set methodSet) methodNames() []string {
	var names []string
	for _, f := range set.Funcs {
		names = append(names, f.Name)
	}
	return names
}

func filterPrefix(xs []string, p string) []string {
	var out []string
	for _, x := range xs {
		if strings.HasPrefix(x, p) {
			out = append(out, x)
		}
	}
	return out
}

// resolve looks up a dotted global name ("ns", "lab.h1").
func (s *Session) resolve(path string) (glua.LValue, bool) {
	var v glua.LValue = s.L.G.Global
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '.' || r == ':' }) {
		if ud, ok := v.(*glua.LUserData); ok {
			// lab.NAME is a node; no other object field has methods
			l, ok := ud.Value.(*luaLab)
			if !ok {
				return nil, false
			}
			n := l.l.Node(part)
			if n == nil {
				return nil, false
			}
			v = s.nodeUD(n)
			continue
		}
		t, ok := v.(*glua.LTable)
		if !ok {
			return nil, false
		}
		v = t.RawGetString(part)
		if v == glua.LNil {
			return nil, false
		}
	}
	return v, true
}

// Differ lists the namespace types in which the shell's thread is not where
// it started (for the prompt).
func (s *Session) Differ() []string { return s.differ(0) }

// KillChildren kills every child nsh started that is still registered. Safe
// from any goroutine (signals and waits do not depend on the thread).
func (s *Session) KillChildren() {
	for _, it := range s.Reg.Pending() {
		if strings.HasPrefix(it.What, "child ") {
			it.Undo()
		}
	}
}
