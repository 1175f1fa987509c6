package lua

import (
	"fmt"
	"os"
	"sort"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

func (s *Session) installGlobals() {
	s.installGlobal(&Func{Name: "help", Args: "([x])", Fn: s.help,
		Doc:     "Without an argument, lists the modules; with a module, function or handle method (or its name as a string), explains it with an example.",
		Example: "help()\nhelp(ns.clone)\nhelp(\"view.upid\")"})
	s.installGlobal(s.recordFunc())
	s.installGlobal(&Func{Name: "pp", Args: "(value, ...)", Fn: s.pp,
		Doc: "Prints values readably: tables as nested literals with sorted keys, views as tables.", Example: "pp(ns.list())"})
}

// replaceOsExit makes os.exit run nsh's cleanup first (we are on the Lua
// thread, where namespace-bound undo steps must run), then end the process.
// It runs when the os library is opened (lazy.go).
func (s *Session) replaceOsExit() {
	if osT, ok := s.L.G.Global.RawGetString("os").(*glua.LTable); ok {
		osT.RawSetString("exit", s.L.NewFunction(named("os.exit", s.osExit)))
	}
}

func (s *Session) osExit(L *glua.LState) int {
	code := 0
	switch v := L.Get(1).(type) {
	case glua.LNumber:
		code = int(v)
	case glua.LBool:
		if !v {
			code = 1
		}
	case *glua.LNilType:
	default:
		argErr(L, 1, "exit code (number or boolean) expected, got "+typeName(v))
	}
	s.Exit(code)
	return 0
}

// Exit cleans up and ends the process with code.
func (s *Session) Exit(code int) {
	s.Flush()
	for _, err := range s.Cleanup(nil) {
		fmt.Fprintln(os.Stderr, "nsh:", err)
	}
	os.Exit(code)
}

func (s *Session) pp(L *glua.LState) int {
	var parts []string
	for i := 1; i <= L.GetTop(); i++ {
		parts = append(parts, Pretty(L, L.Get(i)))
	}
	fmt.Fprintln(s.Stdout, strings.Join(parts, "\t"))
	return 0
}

// help prints the documentation of a module or function.
func (s *Session) help(L *glua.LState) int {
	s.loadModules()
	if L.GetTop() == 0 {
		fmt.Fprint(s.Stdout, s.HelpIndex())
		return 0
	}
	v := L.Get(1)
	if str, ok := v.(glua.LString); ok {
		name := string(str)
		if f, set, ok := methodByName(name); ok {
			fmt.Fprint(s.Stdout, methodDoc(f, set))
			return 0
		}
		if set, ok := setByName(name); ok {
			fmt.Fprint(s.Stdout, set.help())
			return 0
		}
		found, err := s.lookupGlobal(name)
		if err != nil {
			if near := closest(name, s.helpNames()); len(near) > 0 {
				return raiseErr(L, fmt.Errorf("nothing called %q: did you mean %s? (help() lists the modules)", name, strings.Join(near, " or ")))
			}
			return raiseErr(L, fmt.Errorf("nothing called %q (try help() for the list of modules)", name))
		}
		v = found
	}
	if set, ok := s.setOf(v); ok {
		fmt.Fprint(s.Stdout, set.help())
		return 0
	}
	d, ok := s.docOf(v)
	if !ok {
		return raiseErr(L, fmt.Errorf("no help for this %s (help() lists what has help)", typeName(v)))
	}
	fmt.Fprint(s.Stdout, s.formatDoc(d))
	return 0
}

func (s *Session) formatDoc(d *Doc) string {
	var b strings.Builder
	if d.Func == nil {
		fmt.Fprintf(&b, "module %s: %s\n\n", d.Module, d.ModDoc)
		for _, m := range s.modules {
			if m.Name != d.Module {
				continue
			}
			fs := append([]Func(nil), m.Funcs...)
			sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
			for _, f := range fs {
				fmt.Fprintf(&b, "  %s.%s%s\n", m.Name, f.Name, f.Args)
			}
			for _, v := range m.Values {
				fmt.Fprintf(&b, "  %s.%s\n", m.Name, v.Name)
			}
		}
		fmt.Fprintf(&b, "\nhelp(%s.NAME) explains one.\n", d.Module)
		return b.String()
	}
	title := d.Title()
	for _, set := range methodSets() {
		for i := range set.Funcs {
			if &set.Funcs[i] == d.Func || (set.Funcs[i].Name == d.Func.Name && set.Funcs[i].Doc == d.Func.Doc) {
				title = set.Prefix + d.Func.Name + d.Func.Args
			}
		}
	}
	fmt.Fprintf(&b, "%s\n\n%s\n", title, wrap(d.Func.Doc, 78))
	if d.Func.Example != "" {
		fmt.Fprintf(&b, "\nExample:\n")
		for _, line := range strings.Split(d.Func.Example, "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	return b.String()
}

// helpNames is every name help() explains: globals, ns.spawn, h:wait, ...
func (s *Session) helpNames() []string {
	s.loadModules()
	var names []string
	for _, f := range s.globals {
		names = append(names, f.Name)
	}
	for _, m := range s.modules {
		names = append(names, m.Name)
		for _, f := range m.Funcs {
			names = append(names, m.Name+"."+f.Name)
		}
		for _, v := range m.Values {
			names = append(names, m.Name+"."+v.Name)
		}
	}
	for _, set := range methodSets() {
		for _, f := range set.Funcs {
			names = append(names, set.Prefix+f.Name)
		}
	}
	return names
}

// HelpIndex lists the modules and global functions.
func (s *Session) HelpIndex() string {
	s.loadModules()
	var b strings.Builder
	b.WriteString("nsh: Lua with Linux namespaces. Modules:\n\n")
	for _, m := range s.modules {
		first := m.Doc
		if i := strings.Index(first, "."); i > 0 {
			first = first[:i+1]
		}
		fmt.Fprintf(&b, "  %-7s %s\n", m.Name, first)
	}
	b.WriteString("\nGlobal functions:")
	for _, f := range s.globals {
		b.WriteString(" " + f.Name)
	}
	b.WriteString("\nObjects with methods:")
	for _, set := range methodSets() {
		b.WriteString(fmt.Sprintf(" %s (help(\"%s\"))", set.Kind, strings.TrimSuffix(set.Prefix, ":")))
	}
	b.WriteString("\n")
	b.WriteString("\nhelp(ns) lists a module; help(ns.clone) explains a function.\n")
	b.WriteString("At the prompt: expressions print their value; a line starting with ! runs a shell command here.\n")
	b.WriteString("record(\"f.md\") keeps the session as markdown (record() stops); json.encode(v) and nsh --json -e CODE give JSON.\n")
	return b.String()
}

func wrap(text string, width int) string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		words := strings.Fields(para)
		line := ""
		for _, w := range words {
			if line != "" && len(line)+1+len(w) > width {
				out = append(out, line)
				line = w
			} else if line == "" {
				line = w
			} else {
				line += " " + w
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
