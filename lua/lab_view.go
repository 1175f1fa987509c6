package lua

import (
	"nsh/runtime/netlab"

	glua "github.com/yuin/gopher-lua"
)

// Lab views: view.lab (and lab:view) and lab:dot. The text comes from
// runtime/netlab; this file converts the view to Lua tables.

// desc describes the lab for runtime/netlab: names and addresses as given.
func (l *luaLab) desc() netlab.LabDesc {
	d := netlab.LabDesc{Name: l.name, Pinned: l.pinned, Bridges: l.bridges, Links: l.links}
	for _, n := range l.order {
		d.Nodes = append(d.Nodes, netlab.NodeDesc{Name: n.name, Addrs: n.addrs})
	}
	return d
}

func (s *Session) viewLab(L *glua.LState) int {
	l := checkOpenLab(L, 1)
	v, err := l.l.View(l.desc())
	if err != nil {
		return raise(L, "view.lab", err)
	}
	brs := L.NewTable()
	for _, br := range v.Bridges {
		pt := L.NewTable()
		for _, p := range br.Ports {
			e := L.NewTable()
			e.RawSetString("name", glua.LString(p.Name))
			e.RawSetString("state", glua.LString(p.State))
			pt.Append(e)
		}
		e := L.NewTable()
		e.RawSetString("name", glua.LString(br.Name))
		e.RawSetString("addrs", strList(L, br.Addrs))
		e.RawSetString("state", glua.LString(br.State))
		e.RawSetString("ports", pt)
		brs.Append(e)
	}
	nodes := L.NewTable()
	for _, n := range v.Nodes {
		e := L.NewTable()
		e.RawSetString("name", glua.LString(n.Name))
		lt := L.NewTable()
		for _, lk := range n.Links {
			lt.Append(linkTable(L, lk))
		}
		e.RawSetString("links", lt)
		nodes.Append(e)
	}
	res := L.NewTable()
	res.RawSetString("name", glua.LString(l.name))
	res.RawSetString("nodes", nodes)
	res.RawSetString("bridges", brs)
	L.Push(withText(L, res, v.Text()))
	return 1
}

func (s *Session) labDot(L *glua.LState) int {
	l := checkLab(L, 1)
	L.Push(glua.LString(l.desc().Dot()))
	return 1
}
