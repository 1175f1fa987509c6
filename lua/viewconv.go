package lua

import (
	"nsh/runtime/procview"

	glua "github.com/yuin/gopher-lua"
)

type mapLine = procview.MapLine

func toMapLines(m []procview.MapLine) []mapLine { return m }

func nsNodes(L *glua.LState, ns []*procview.NSNode) *glua.LTable {
	t := L.NewTable()
	for _, n := range ns {
		e := L.NewTable()
		e.RawSetString("type", glua.LString(n.Type))
		e.RawSetString("inode", glua.LNumber(n.Inode))
		e.RawSetString("level", glua.LNumber(n.Level))
		e.RawSetString("parent", glua.LNumber(n.Parent))
		e.RawSetString("owner", glua.LNumber(n.Owner))
		if n.OwnerUID >= 0 {
			e.RawSetString("owner_uid", glua.LNumber(n.OwnerUID))
		}
		e.RawSetString("members", intList(L, n.Members))
		e.RawSetString("children", nsNodes(L, n.Children))
		t.Append(e)
	}
	return t
}
