package lua

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

// helpOut runs Lua in s and returns what it printed.
func helpOut(t *testing.T, s *Session, src string) string {
	t.Helper()
	var out bytes.Buffer
	s.Stdout = &out
	defer func() { s.Stdout = os.Stdout }()
	run(t, s, src)
	return out.String()
}

func TestHelpOfEveryRecord(t *testing.T) {
	s := newTestSession(t)
	index := helpOut(t, s, `help()`)
	for _, m := range s.Modules() {
		if !strings.Contains(index, "  "+m.Name+" ") {
			t.Errorf("help() does not list module %s", m.Name)
		}
		mod := helpOut(t, s, "help("+m.Name+")")
		if !strings.HasPrefix(mod, "module "+m.Name+": ") {
			t.Errorf("help(%s) = %q", m.Name, mod)
		}
		for _, f := range m.Funcs {
			title := m.Name + "." + f.Name + f.Args
			if !strings.Contains(mod, "  "+title+"\n") {
				t.Errorf("help(%s) does not list %s", m.Name, title)
			}
			// by value and by name, the same text: title, doc, example
			byValue := helpOut(t, s, "help("+m.Name+"."+f.Name+")")
			byName := helpOut(t, s, `help("`+m.Name+"."+f.Name+`")`)
			if byValue != byName || !strings.HasPrefix(byValue, title+"\n\n") || !strings.Contains(byValue, "\nExample:\n") {
				t.Errorf("help(%s.%s):\n%s\nby name:\n%s", m.Name, f.Name, byValue, byName)
			}
		}
	}
	for _, set := range methodSets() {
		short := strings.TrimSuffix(set.Prefix, ":")
		if !strings.Contains(index, `help("`+short+`")`) {
			t.Errorf("help() does not point to help(%q)", short)
		}
		list := helpOut(t, s, `help("`+short+`")`)
		for _, f := range set.Funcs {
			if !strings.Contains(list, "  "+set.Prefix+f.Name+f.Args+"\n") {
				t.Errorf("help(%q) does not list %s%s", short, set.Prefix, f.Name)
			}
			one := helpOut(t, s, `help("`+set.Prefix+f.Name+`")`)
			if !strings.HasPrefix(one, set.Prefix+f.Name+f.Args+"\n\n") {
				t.Errorf("help(%q) = %q", set.Prefix+f.Name, one)
			}
		}
	}
	// api.md is rendered from the same records: every title appears.
	md := s.APIMarkdown()
	for _, m := range s.Modules() {
		for _, f := range m.Funcs {
			if !strings.Contains(md, "### `"+m.Name+"."+f.Name+f.Args+"`") {
				t.Errorf("api.md lacks %s.%s", m.Name, f.Name)
			}
		}
	}
}

// help(h) and completion on a live object come from its method records.
func TestHelpAndCompletionOfObjects(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: ns.spawn makes a child in a new UTS namespace")
	}
	s := newTestSession(t)
	run(t, s, `h = ns.spawn{"/bin/sleep", "30", ns = {"uts"}}`)
	defer run(t, s, `h:kill(9); h:wait()`)
	run(t, s, `lab = net.lab{name = "nshcompl", pin = false, helpers = false}; lab:node("h1")`)
	defer run(t, s, `lab:close()`)
	if got := helpOut(t, s, `help(h)`); !strings.HasPrefix(got, "process handle: ") || !strings.Contains(got, "  h:wait(") {
		t.Errorf("help(h) = %q", got)
	}
	if got := helpOut(t, s, `help(h.wait)`); !strings.HasPrefix(got, "h:wait(") {
		t.Errorf("help(h.wait) = %q", got)
	}
	for _, c := range []struct {
		word string
		want []string
	}{
		{"ns.cl", []string{"clone"}},
		{"vie", []string{"view"}},
		{"view.mo", []string{"mounts"}},
		{"h:wa", []string{"wait"}},
		{"h:", []string{"alive", "kill", "wait"}},
		{"h.p", []string{"pid"}},
		{"fun", []string{"function"}},
		{"nosuch.x", nil},
		{"lab.", []string{"name", "dir", "pinned", "h1"}},
		{"lab.h", []string{"h1"}},
		{"lab:pi", []string{"pingall"}},
	} {
		got := s.Complete(c.word)
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("Complete(%q) = %v, want %q among them", c.word, got, w)
			}
		}
		if c.want == nil && len(got) != 0 {
			t.Errorf("Complete(%q) = %v, want nothing", c.word, got)
		}
	}
}
