package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"nsh/lua"

	"github.com/chzyer/readline"
	glua "github.com/yuin/gopher-lua"
)

// inREPL is set while the REPL runs: Ctrl-C then interrupts a chunk and
// returns to the prompt instead of ending nsh.
var inREPL atomic.Bool

// historyFile is $XDG_STATE_HOME/nsh/history, or ~/.local/state/nsh/history;
// "" and why when it cannot be written (history is then off).
func historyFile() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".local", "state")
	}
	dir = filepath.Join(dir, "nsh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "history")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	f.Close()
	return path, nil
}

func repl(s *lua.Session) int {
	inREPL.Store(true)
	defer inREPL.Store(false)
	hist, histErr := historyFile()
	rl, err := readline.NewEx(&readline.Config{
		Prompt:            prompt(s, false),
		HistoryFile:       hist,
		HistoryLimit:      5000,
		AutoComplete:      &completer{s: s},
		InterruptPrompt:   "^C",
		EOFPrompt:         "",
		HistorySearchFold: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh:", err)
		return 1
	}
	defer closeReadline(rl)
	closeRL := func() { rl.Close() }
	stopREPL.Store(&closeRL)
	defer stopREPL.Store(nil)
	if readline.DefaultIsTerminal() {
		fmt.Fprintf(rl.Stdout(), "nsh %s: Lua with Linux namespaces. help() lists what there is; Ctrl-D leaves.\n", version)
		if histErr != nil {
			fmt.Fprintf(os.Stderr, "nsh: history is off for this session: %v (set XDG_STATE_HOME to a writable directory to keep it)\n", histErr)
		}
	}
	var buf []string
	failures := 0
	for {
		if quitting.Load() {
			return 128 + int(lastSignal.Load())
		}
		rl.SetPrompt(prompt(s, len(buf) > 0))
		line, err := rl.Readline()
		if quitting.Load() {
			return 128 + int(lastSignal.Load())
		}
		if err != nil && !errors.Is(err, readline.ErrInterrupt) && !errors.Is(err, io.EOF) {
			// Not the user's Ctrl-C or Ctrl-D: the terminal was taken
			// (a child made itself the foreground group) or broke. Take it
			// back and read again; give up only when it stays broken.
			failures++
			if failures == 1 {
				fmt.Fprintf(os.Stderr, "nsh: reading the terminal failed (%v): taking the terminal back\n", err)
			}
			if lua.ReclaimTerminal() && failures < 20 {
				continue
			}
			fmt.Fprintf(os.Stderr, "nsh: the terminal cannot be read any more (%v); leaving\n", err)
			return 1
		}
		failures = 0
		if errors.Is(err, readline.ErrInterrupt) {
			buf = nil // Ctrl-C at the prompt drops the pending input
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(buf) > 0 {
				buf = nil
				fmt.Fprintln(rl.Stdout())
				continue
			}
			return 0
		}
		if len(buf) == 0 {
			trimmed := strings.TrimSpace(line)
			if trimmed == "" {
				continue
			}
			if strings.HasPrefix(trimmed, "!") {
				end := s.BeginInput(line)
				code, err := s.RunShell(strings.TrimSpace(trimmed[1:]))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
				} else if code != 0 {
					fmt.Fprintf(os.Stderr, "(exit %d)\n", code)
				}
				end()
				continue
			}
		}
		if len(buf) == 0 {
			if hint, ok := bareShellWord(s.L, line); ok {
				end := s.BeginInput(line)
				fmt.Fprintf(os.Stderr, "%s is not defined in Lua: %s\n", strings.TrimSpace(line), hint)
				end()
				continue
			}
		}
		buf = append(buf, line)
		src := strings.Join(buf, "\n")
		fn, complete, err := compileInput(s, src)
		if !complete {
			continue
		}
		buf = nil
		end := s.BeginInput(src) // --record / record(): this input and its output
		evalInput(s, src, fn, err)
		end()
	}
}

// evalInput runs a complete input (or reports why it does not compile) and
// prints its values or its error.
func evalInput(s *lua.Session, src string, fn *glua.LFunction, err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if hint := shellHint(s.L, src); hint != "" {
			fmt.Fprintln(os.Stderr, "  ("+hint+")")
		}
		return
	}
	vals, err := s.Call(fn)
	if err != nil {
		if lua.Interrupted(err) {
			fmt.Fprintln(os.Stderr, "interrupted")
		} else {
			fmt.Fprintln(os.Stderr, err)
			if hint := shellHint(s.L, src); hint != "" {
				fmt.Fprintln(os.Stderr, "  ("+hint+")")
			}
		}
		return
	}
	printValues(s, vals)
}

// compileInput compiles what was typed: first as an expression whose value
// is printed (as the lua REPL does with "return "), else as statements.
// complete is false when the chunk is unfinished and more lines should come.
// As in lua -i, input that is unfinished as an expression (`1 +`) or as
// statements (`x = 40 +`, `for i = 1, 3 do`) waits for more lines.
func compileInput(s *lua.Session, src string) (*glua.LFunction, bool, error) {
	fn, exprErr := s.Chunks.Compile(s.L, "return "+src, "stdin")
	if exprErr == nil {
		return fn, true, nil
	}
	fn, err := s.Chunks.Compile(s.L, src, "stdin")
	if err != nil {
		if incomplete(err) || incomplete(exprErr) {
			return nil, false, nil
		}
		return nil, true, err
	}
	return fn, true, nil
}

// incomplete tells an unfinished chunk from a wrong one: the parser stopped
// at the end of the input.
func incomplete(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "EOF") || strings.Contains(msg, "<eof>")
}

// replJSON is set by --json: the prompt prints values as JSON.
var replJSON bool

func printValues(s *lua.Session, vals []glua.LValue) {
	if len(vals) == 0 {
		return
	}
	if replJSON {
		text, err := s.EncodeResults(vals, "  ")
		if err != nil {
			fmt.Fprintln(os.Stderr, "--json: the value cannot be written as JSON:", err)
			return
		}
		fmt.Fprintln(s.Stdout, text)
		return
	}
	// A string with a newline (command output: lab.h1:run"ip a",
	// sys.run"ps") prints as text, as print would, on lines of its own; the
	// other values print as Lua values, tab-separated as print does.
	var parts []string
	flush := func() {
		if len(parts) > 0 {
			fmt.Fprintln(s.Stdout, strings.Join(parts, "\t"))
			parts = nil
		}
	}
	for _, v := range vals {
		if str, ok := v.(glua.LString); ok && strings.Contains(string(str), "\n") {
			flush()
			fmt.Fprint(s.Stdout, string(str))
			if !strings.HasSuffix(string(str), "\n") {
				fmt.Fprintln(s.Stdout)
			}
			continue
		}
		parts = append(parts, lua.Pretty(s.L, v))
	}
	flush()
}

// prompt shows the hostname and, in brackets, the namespace types in which
// the shell is no longer where it started: nsh@host[uts,net]>
func prompt(s *lua.Session, continued bool) string {
	if continued {
		return ">> "
	}
	host, _ := os.Hostname()
	p := "nsh@" + host
	if d := s.Differ(); len(d) > 0 {
		p += "[" + strings.Join(d, ",") + "]"
	}
	if os.Getenv("NSH_USERNS") != "" {
		p += "(userns)"
	}
	if os.Geteuid() == 0 {
		return p + "# "
	}
	return p + "> "
}

// closeReadline closes rl, waiting at most a second. readline v1.5.1's
// Terminal.Close waits for its reader goroutine, which a race with its
// CancelableStdin can leave blocked for ever (seen under load: Ctrl-D,
// then nsh hung in Close). By then the terminal is out of raw mode
// (Readline restores it before it returns), so nsh goes on ending.
func closeReadline(rl *readline.Instance) {
	done := make(chan struct{})
	go func() {
		rl.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}
