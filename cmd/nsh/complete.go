package main

import (
	"sort"
	"strings"

	"nsh/lua"
)

// completer completes globals, module fields ("ns.cl" -> "ns.clone") and
// handle methods ("h:wa" -> "h:wait"). It runs on readline's goroutine while
// the interpreter waits for input, so it only reads Lua tables.
type completer struct{ s *lua.Session }

func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	start := pos
	for start > 0 && isWordRune(line[start-1]) {
		start--
	}
	word := string(line[start:pos])
	cands := c.s.Complete(word)
	sep := strings.LastIndexAny(word, ".:")
	partial := word[sep+1:]
	var out [][]rune
	sort.Strings(cands)
	for _, cand := range cands {
		out = append(out, []rune(cand[len(partial):]))
	}
	return out, len([]rune(partial))
}

func isWordRune(r rune) bool {
	return r == '_' || r == '.' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
