package main

import (
	"os/exec"
	"regexp"
	"strings"
	"sync"

	glua "github.com/yuin/gopher-lua"
)

// Lines typed at the prompt out of shell habit (ls, ip link, exit) are
// not Lua: the REPL says what to type instead, as python's REPL answers
// `exit` with "Use exit() or Ctrl-D".

// compiled on first use (the REPL's first miss), not at every start of nsh
var (
	bareWord  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$`) })
	firstWord = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.-]*)(\s|$)`) })
)

// leaveWords are what people type to leave a shell.
var leaveWords = map[string]bool{"exit": true, "quit": true, "logout": true, "bye": true}

// shellHint is a hint for a line that looks like a shell command whose
// first word is not a Lua global, or "" when the line looks like Lua.
func shellHint(L *glua.LState, line string) string {
	m := firstWord().FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	w := m[1]
	if L.GetGlobal(w) != glua.LNil {
		return ""
	}
	if leaveWords[w] {
		return "to leave nsh, press Ctrl-D or call os.exit()"
	}
	if w == "cd" {
		return "!cd runs in a subshell and changes nothing here; nsh's working directory stays where it is"
	}
	if _, err := exec.LookPath(w); err != nil {
		return ""
	}
	return "that looks like a shell command: !" + strings.TrimSpace(line) + " runs it (in the shell's current namespaces); sys.run(...) returns its output"
}

// bareShellWord tells a line that is one undefined word with a shell
// meaning (ls, clear, exit): evaluating it would print nil.
func bareShellWord(L *glua.LState, line string) (string, bool) {
	m := bareWord().FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	h := shellHint(L, line)
	return h, h != ""
}
