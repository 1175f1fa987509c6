package lua

import glua "github.com/yuin/gopher-lua"

// What keeps a lab's bindings cheap per node at 1000 nodes.

// labReservedKey is the registry entry holding the names lab.NAME gives
// as methods or fields of the lab, not as nodes (installLabReserved).
const labReservedKey = "nsh.lab.reserved"

// installLabReserved puts the lab's member names in the registry, where
// labReserved finds them (labNode cannot read methodSets itself: it is
// one of them). It runs on the first labReserved, through
// Session.labReservedInit (set at start: a static call from here would be
// that initialization cycle), not at every start.
func (s *Session) installLabReserved() {
	t := s.L.NewTable()
	for _, set := range methodSets() {
		if set.Type == labType {
			for _, n := range append(set.Fields, set.methodNames()...) {
				t.RawSetString(n, glua.LTrue)
			}
		}
	}
	s.L.G.Registry.RawSetString(labReservedKey, t)
}

// labReserved says whether lab.NAME would give a method or field of the
// lab instead of a node called NAME. Indexing the lab to find out would
// raise a "no such member" error for every new name, with its
// did-you-mean over every node so far: O(N) per node, 5% of the CPU of a
// 1000-node build.
func labReserved(L *glua.LState, name string) bool {
	t, ok := L.G.Registry.RawGetString(labReservedKey).(*glua.LTable)
	if !ok {
		if s := sessionOf(L); s != nil && s.labReservedInit != nil {
			s.labReservedInit()
			t, ok = L.G.Registry.RawGetString(labReservedKey).(*glua.LTable)
		}
	}
	return ok && t.RawGetString(name) != glua.LNil
}
