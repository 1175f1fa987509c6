package main

import (
	"os/exec"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// Lines typed at the prompt out of shell habit (ls, ip link, exit) are
// not Lua: the REPL says what to type instead, as python's REPL answers
// `exit` with "Use exit() or Ctrl-D".

// The words are found by hand, not with the regexp package: linked, it ran
// its and unicode's table inits at every start of nsh.

// isSpace is regexp's \s: tab, newline, form feed, carriage return, space.
func isSpace(c byte) bool { return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ' }

// leadingWord is the word line starts with after blanks (a letter or _,
// then letters, digits, _ and the bytes in more), and the rest of line
// after it; "" when line does not start with one.
func leadingWord(line, more string) (word, rest string) {
	i := 0
	for i < len(line) && isSpace(line[i]) {
		i++
	}
	j := i
	for j < len(line) {
		c := line[j]
		letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_'
		if !letter && (j == i || !(c >= '0' && c <= '9' || strings.IndexByte(more, c) >= 0)) {
			break
		}
		j++
	}
	return line[i:j], line[j:]
}

// firstWord is `^\s*([A-Za-z_][A-Za-z0-9_.-]*)(\s|$)`: the first word of a
// line that may go on after a blank.
func firstWord(line string) (string, bool) {
	w, rest := leadingWord(line, ".-")
	if w == "" || rest != "" && !isSpace(rest[0]) {
		return "", false
	}
	return w, true
}

// bareWord is `^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$`: a line that is one word.
func bareWord(line string) (string, bool) {
	w, rest := leadingWord(line, "")
	for i := 0; i < len(rest); i++ {
		if !isSpace(rest[i]) {
			return "", false
		}
	}
	return w, w != ""
}

// leaveWord says whether w is what people type to leave a shell.
func leaveWord(w string) bool {
	switch w {
	case "exit", "quit", "logout", "bye":
		return true
	}
	return false
}

// shellHint is a hint for a line that looks like a shell command whose
// first word is not a Lua global, or "" when the line looks like Lua.
func shellHint(L *glua.LState, line string) string {
	w, ok := firstWord(line)
	if !ok {
		return ""
	}
	if L.GetGlobal(w) != glua.LNil {
		return ""
	}
	if leaveWord(w) {
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
	if _, ok := bareWord(line); !ok {
		return "", false
	}
	h := shellHint(L, line)
	return h, h != ""
}
