package lua

import (
	"sort"

	glua "github.com/yuin/gopher-lua"
)

// Modules are installed on first use. A session starts with the module
// names only; the first read of the global `ns` (a script's, a shipped
// function's, help()'s or completion's) builds the table, its functions
// and their help, exactly as they would have been at start. `nsh -e ''`
// and a cloned child running `function() return 0 end` build none of the
// eight modules' 400 functions. What lists the modules (help(), completion,
// docs/api.md, Modules) installs them all first, in the order of help().

// lazyModule is a module not installed yet: its global name and its
// constructor.
type lazyModule struct {
	name string
	make func() *Module
}

// lazyModules registers mods (in help()'s order) to be installed when
// their global is first read: _G gets an __index that installs one. A
// global the script assigns first keeps the script's value.
func (s *Session) lazyModules(mods ...lazyModule) {
	s.pending = mods
	s.moduleRank = make(map[string]int, len(mods))
	for i, m := range mods {
		s.moduleRank[m.name] = i
	}
	mt := s.L.NewTable()
	mt.RawSetString("__index", s.L.NewFunction(func(L *glua.LState) int {
		if name, ok := L.Get(2).(glua.LString); ok {
			if t := s.installPending(string(name)); t != nil {
				L.Push(t)
				return 1
			}
		}
		L.Push(glua.LNil)
		return 1
	}))
	s.L.SetMetatable(s.L.G.Global, mt)
}

// installPending installs the pending module name, if it is one, and
// returns its table.
func (s *Session) installPending(name string) *glua.LTable {
	for i, m := range s.pending {
		if m.name != name {
			continue
		}
		s.pending = append(s.pending[:i:i], s.pending[i+1:]...)
		mod := m.make()
		if mod.Name != name {
			panic("lua: lazy module " + name + " builds module " + mod.Name) // a wrong record in NewSession
		}
		t := s.install(mod)
		if s.baseGlobals != nil {
			s.baseGlobals[name] = t // nsh's own: a shipped function does not send it
		}
		if len(s.pending) == 0 {
			s.L.SetMetatable(s.L.G.Global, glua.LNil)
		}
		return t
	}
	return nil
}

// loadModules installs every pending module (a global the script gave a
// value of its own keeps it) and puts s.modules in help()'s order.
func (s *Session) loadModules() {
	for len(s.pending) > 0 {
		m := s.pending[0]
		if own := s.L.G.Global.RawGetString(m.name); own != glua.LNil {
			// the script's own global of that name: the module's records
			// and help are built, the global stays the script's
			s.pending = s.pending[1:]
			s.install(m.make())
			s.L.G.Global.RawSetString(m.name, own)
			if len(s.pending) == 0 {
				s.L.SetMetatable(s.L.G.Global, glua.LNil)
			}
			continue
		}
		s.installPending(m.name)
	}
	sort.SliceStable(s.modules, func(i, j int) bool { return s.rank(s.modules[i].Name) < s.rank(s.modules[j].Name) })
}

// rank is a module's place in help()'s order; modules installed by hand
// (tests) come after nsh's own, in their order.
func (s *Session) rank(name string) int {
	if r, ok := s.moduleRank[name]; ok {
		return r
	}
	return len(s.moduleRank)
}
