package lua

import (
	"fmt"
	"strings"

	"nsh/runtime/mounts"

	glua "github.com/yuin/gopher-lua"
)

func init() {
	extraViews = append(extraViews, func(s *Session) Func {
		return Func{Name: "mounts", Args: "([pid|rows], [pid|rows], [{under=path}]) | {before=rows, after=rows}", Fn: s.viewMounts,
			Doc: "A mount table with its propagation (shared:N peer group, master:N for a slave, private, unbindable), like findmnt. " +
				"view.mounts(pid) shows one process's table (default: the shell's thread); view.mounts(a, b) shows what differs between " +
				"two processes' mount namespaces (a and b: pids, handles or saved row lists); view.mounts{before=rows, after=rows} shows " +
				"what a change did to one namespace (rows from mount.list). {under=\"/path\"} keeps only mounts at or below a path. " +
				"Returns the rows (see mount.list) or {added=, removed=, changed={{before=, after=}}}.",
			Example: "ns.unshare(\"mnt\")\nlocal before = mount.list()\nmount.tmpfs(\"/mnt\")\nprint(view.mounts{before=before, after=mount.list()})"}
	})
}

func filterUnder(es []mounts.Entry, under string) []mounts.Entry {
	if under == "" || under == "/" {
		return es
	}
	under = strings.TrimRight(under, "/")
	var out []mounts.Entry
	for _, e := range es {
		if e.Target == under || strings.HasPrefix(e.Target, under+"/") {
			out = append(out, e)
		}
	}
	return out
}

func (s *Session) viewMounts(L *glua.LState) int {
	// {before=, after=} form
	if t, ok := L.Get(1).(*glua.LTable); ok && (t.RawGetString("before") != glua.LNil || t.RawGetString("after") != glua.LNil) {
		bt, ok1 := t.RawGetString("before").(*glua.LTable)
		at, ok2 := t.RawGetString("after").(*glua.LTable)
		if !ok1 || !ok2 {
			return argErr(L, 1, "{before=rows, after=rows} needs both, each a row list from mount.list")
		}
		under := ""
		if u, ok := t.RawGetString("under").(glua.LString); ok {
			under = string(u)
		}
		L.Push(bt)
		L.Push(at)
		a, _ := s.tableArg(L, L.GetTop()-1, "view.mounts")
		b, _ := s.tableArg(L, L.GetTop(), "view.mounts")
		L.Pop(2)
		L.Push(diffResult(L, filterUnder(a, under), filterUnder(b, under), "before", "after"))
		return 1
	}
	// trailing options table
	top := L.GetTop()
	under := ""
	if t, ok := L.Get(top).(*glua.LTable); ok && t.Len() == 0 && top >= 1 {
		o := optTable(L, top, "under")
		under = strField(L, top, o, "under")
		L.Remove(top)
		top--
	}
	if top >= 2 && L.Get(2) != glua.LNil {
		a, an := s.tableArg(L, 1, "view.mounts")
		b, bn := s.tableArg(L, 2, "view.mounts")
		L.Push(diffResult(L, filterUnder(a, under), filterUnder(b, under), an, bn))
		return 1
	}
	es, who := s.tableArg(L, 1, "view.mounts")
	es = filterUnder(es, under)
	title := "mounts of " + who
	if under != "" {
		title += fmt.Sprintf(" (at or under %s)", under)
	}
	L.Push(withText(L, rowsTable(L, es), formatTable(title, es)))
	return 1
}
