package lua

import (
	"sort"

	glua "github.com/yuin/gopher-lua"
)

// Modules are installed on first use (nsh's eight, and seven of gopher-lua's
// ten libraries). A session starts with the module
// names only; the first read of the global `ns` (a script's, a shipped
// function's, help()'s or completion's) builds the table, its functions
// and their help, exactly as they would have been at start. `nsh -e ''`
// and a cloned child running `function() return 0 end` build none of the
// eight modules' 400 functions. What lists the modules (help(), completion,
// docs/api.md, Modules) installs them all first, in the order of help().

// lazyModule is a module not installed yet: its global name and its
// constructor, or (for one of gopher-lua's own libraries: table, io, os,
// math, debug, channel, coroutine) the function that opens it.
type lazyModule struct {
	name string
	make func() *Module
	open func()
}

// stdLib opens gopher-lua's library name with fn (as LState.OpenLibs
// does: into _G and package.loaded), then runs after (nsh's changes to
// it).
func (s *Session) stdLib(name string, fn glua.LGFunction, after func()) lazyModule {
	return lazyModule{name: name, open: func() {
		s.L.Push(s.L.NewFunction(fn))
		s.L.Push(glua.LString(name))
		s.L.Call(1, 0)
		if after != nil {
			after()
		}
	}}
}

// openLibs opens what every chunk needs at once (package, the base
// functions, string, whose table is every string's metatable) and makes
// the other libraries of gopher-lua lazy like nsh's modules (a
// session's start opened all ten; require("io") finds a pending one
// through package.preload). It returns those.
func (s *Session) openLibs() []lazyModule {
	L := s.L
	for _, lib := range []struct {
		name string
		fn   glua.LGFunction
	}{{glua.LoadLibName, glua.OpenPackage}, {glua.BaseLibName, glua.OpenBase}, {glua.StringLibName, glua.OpenString}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(glua.LString(lib.name))
		L.Call(1, 0)
	}
	libs := []lazyModule{
		s.stdLib(glua.TabLibName, glua.OpenTable, nil),
		s.stdLib(glua.IoLibName, glua.OpenIo, nil),
		s.stdLib(glua.OsLibName, glua.OpenOs, s.replaceOsExit),
		s.stdLib(glua.MathLibName, glua.OpenMath, nil),
		s.stdLib(glua.DebugLibName, glua.OpenDebug, nil),
		s.stdLib(glua.ChannelLibName, glua.OpenChannel, nil),
		s.stdLib(glua.CoroutineLibName, glua.OpenCoroutine, nil),
	}
	s.completeIteration()
	if pkg, ok := L.GetGlobal("package").(*glua.LTable); ok {
		if loaded, ok := pkg.RawGetString("loaded").(*glua.LTable); ok {
			// package.loaded.io opens io, as if it had been opened at start
			mt := L.NewTable()
			mt.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
				if name, ok := L.Get(2).(glua.LString); ok && s.isPendingLib(string(name)) {
					s.installPending(string(name))
					L.Push(loaded.RawGetString(string(name)))
					return 1
				}
				L.Push(glua.LNil)
				return 1
			}))
			L.SetMetatable(loaded, mt)
		}
		if preload, ok := pkg.RawGetString("preload").(*glua.LTable); ok {
			for _, lib := range libs {
				name := lib.name
				preload.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
					L.Push(L.GetGlobal(name))
					return 1
				}))
			}
		}
	}
	return libs
}

// lazyModules registers mods (in help()'s order) to be installed when
// their global is first read: _G gets an __index that installs one. A
// global the script assigns first keeps the script's value.
func (s *Session) lazyModules(mods ...lazyModule) {
	s.pending = mods
	s.moduleRank = make(map[string]int, len(mods))
	for _, m := range mods {
		if m.make != nil {
			s.moduleRank[m.name] = len(s.moduleRank)
		}
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
		if m.open != nil {
			m.open()
			t, _ := s.L.G.Global.RawGetString(name).(*glua.LTable)
			s.donePending(name, t)
			return t
		}
		mod := m.make()
		if mod.Name != name {
			panic("lua: lazy module " + name + " builds module " + mod.Name) // a wrong record in NewSession
		}
		t := s.install(mod)
		s.donePending(name, t)
		return t
	}
	return nil
}

// donePending records the global name, just installed as t, as one of
// nsh's own, and drops _G's __index once nothing is pending.
func (s *Session) donePending(name string, t *glua.LTable) {
	if s.baseGlobals != nil && t != nil {
		s.baseGlobals[name] = t // nsh's own: a shipped function does not send it
	}
	if len(s.pending) == 0 {
		s.L.SetMetatable(s.L.G.Global, glua.LNil)
	}
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
			if m.make != nil {
				s.install(m.make())
				s.L.G.Global.RawSetString(m.name, own)
			}
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

func (s *Session) isPendingLib(name string) bool {
	for _, m := range s.pending {
		if m.name == name && m.open != nil {
			return true
		}
	}
	return false
}

// completeIteration makes pairs and next over _G or package.loaded install
// what is pending first, so a loop over the globals sees every module and
// library, as it did when all were made at start.
func (s *Session) completeIteration() {
	L := s.L
	for _, name := range []string{"pairs", "next"} {
		orig := L.G.Global.RawGetString(name)
		L.G.Global.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			if t, ok := L.Get(1).(*glua.LTable); ok && len(s.pending) > 0 && (t == L.G.Global || t == s.loadedTable()) {
				s.loadModules()
			}
			top := L.GetTop()
			L.Push(orig)
			for i := 1; i <= top; i++ {
				L.Push(L.Get(i))
			}
			L.Call(top, glua.MultRet)
			return L.GetTop() - top
		}))
	}
}

// loadedTable is package.loaded.
func (s *Session) loadedTable() *glua.LTable {
	if pkg, ok := s.L.G.Global.RawGetString("package").(*glua.LTable); ok {
		t, _ := pkg.RawGetString("loaded").(*glua.LTable)
		return t
	}
	return nil
}
