package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"syscall"

	"nsh/lua"
	"nsh/runtime/jsonval"

	glua "github.com/yuin/gopher-lua"
)

// run executes -e chunks, the script, and the REPL, as asked, and returns
// the exit code. Cleanup runs however it ends.
func run(o *options) int {
	sub := subscribeSignals(endingSignals...)
	s, err := lua.NewSession()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh:", err)
		return 1
	}
	if o.apiDoc {
		fmt.Print(s.APIMarkdown())
		return 0
	}
	stop := watchSignals(s, true, sub)
	defer stop()
	if path := os.Getenv("NSH_CPUPROFILE"); path != "" {
		// for developers: where does a script's time go (go tool pprof)
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	replJSON = o.json
	if o.record != "" {
		if err := s.StartRecording(o.record, false); err != nil {
			fmt.Fprintln(os.Stderr, "nsh: --record:", err)
			return 1
		}
	}
	openJournal(s)
	becomeSubreaper()
	code := runBatch(s, o)
	if code == 0 && !quitting.Load() && (o.interactive || (o.file == "" && len(o.exprs) == 0)) {
		code = repl(s)
	}
	if quitting.Load() && code == 0 {
		code = 128 + int(lastSignal.Load())
	}
	s.Flush()
	kept := s.KeptChildren()
	for _, err := range s.Close() {
		fmt.Fprintln(os.Stderr, "nsh:", err)
	}
	killAdopted(kept)
	closeJournal(s.Reg.OpenedJournal())
	return code
}

func runBatch(s *lua.Session, o *options) int {
	code := runChunks(s, o)
	if o.json && code == 0 && !o.jsonPrinted && (len(o.exprs) > 0 || o.file != "") {
		fmt.Println("null") // nothing returned: still one JSON document
	}
	return code
}

func runChunks(s *lua.Session, o *options) int {
	setArg(s, o)
	if code := openLab(s, o); code != 0 {
		return code
	}
	for _, e := range o.exprs {
		if code := runExpr(s, o, e); code != 0 {
			return code
		}
	}
	if o.file == "" {
		return 0
	}
	var src []byte
	var err error
	name := o.file
	if o.file == "-" {
		src, err = io.ReadAll(os.Stdin)
		name = "stdin"
	} else {
		src, err = os.ReadFile(o.file)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh:", err)
		return 1
	}
	args := make([]glua.LValue, len(o.args))
	for i, a := range o.args {
		args[i] = glua.LString(a)
	}
	end := s.BeginInput(string(src)) // --record: the script is one input
	defer end()
	vals, err := s.Run(lua.StripShebang(string(src)), name, args...)
	if err != nil {
		return report(s, o, err)
	}
	if o.json {
		return printJSON(s, o, vals)
	}
	return 0
}

// openLab builds the lab of --lab FILE or --topo SPEC as the global lab,
// before any other chunk; the session tears it down at the end.
func openLab(s *lua.Session, o *options) int {
	var call, flag, what string
	switch {
	case o.lab != "":
		call, flag, what = "lab = net.lab_from(...)", "--lab", o.lab
	case o.topo != "":
		call, flag, what = "lab = net.topo(...)", "--topo", o.topo
	default:
		return 0
	}
	if _, err := s.Run(call+"\nio.stderr:write(\"nsh: \", tostring(lab), \" is the global lab\\n\")", flag, glua.LString(what)); err != nil {
		return report(s, o, err)
	}
	return 0
}

// runExpr runs one -e chunk (with --json, as at the prompt: an
// expression's values are its results) and returns the exit code.
func runExpr(s *lua.Session, o *options, e string) int {
	end := s.BeginInput(e)
	defer end()
	var vals []glua.LValue
	var err error
	if o.json {
		var fn *glua.LFunction
		if fn, err = s.Chunks.Compile(s.L, "return "+e, "(command line)"); err != nil {
			fn, err = s.Chunks.Compile(s.L, e, "(command line)")
		}
		if err == nil {
			vals, err = s.Call(fn)
		}
	} else {
		vals, err = s.Run(e, "(command line)")
	}
	if err != nil {
		return report(s, o, err)
	}
	if o.json {
		return printJSON(s, o, vals)
	}
	return 0
}

// printJSON prints a chunk's results as one JSON document (see
// lua.EncodeResults); a chunk that returns nothing (a set-up chunk) prints
// nothing; what JSON cannot hold is reported as an error.
func printJSON(s *lua.Session, o *options, vals []glua.LValue) int {
	if len(vals) == 0 {
		return 0
	}
	o.jsonPrinted = true
	text, err := s.EncodeResults(vals, "  ")
	if err != nil {
		return reportJSON(s, "--json: the result cannot be written as JSON: "+err.Error(), 1)
	}
	s.Flush()
	fmt.Fprintln(os.Stdout, text)
	return 0
}

// report prints a script error as "file:line: message" (with --json, as
// {"error": message} on stderr) and picks the code.
func report(s *lua.Session, o *options, err error) int {
	msg, code := err.Error(), 1
	if lua.Interrupted(err) {
		sig := syscall.Signal(lastSignal.Load())
		if sig == 0 {
			sig = syscall.SIGINT
		}
		msg, code = fmt.Sprintf("nsh: interrupted (%v)", sig), 128+int(sig)
	}
	if o.json {
		return reportJSON(s, msg, code)
	}
	fmt.Fprintln(os.Stderr, msg)
	return code
}

// reportJSON writes {"error": msg, "exit": code} on stderr, so a script
// that reads nsh's JSON gets its errors the same way.
func reportJSON(s *lua.Session, msg string, code int) int {
	s.Flush()
	b, err := jsonval.Encode(map[string]any{"error": msg, "exit": float64(code)}, "")
	if err != nil { // cannot happen: a string and a number
		b = []byte(`{"error": "nsh: error not writable as JSON"}`)
	}
	fmt.Fprintln(os.Stderr, string(b))
	return code
}

// setArg makes the global `arg` table as the lua command does.
func setArg(s *lua.Session, o *options) {
	L := s.L
	t := L.NewTable()
	t.RawSetInt(-1, glua.LString(os.Args[0]))
	if o.file != "" {
		t.RawSetInt(0, glua.LString(o.file))
	}
	for i, a := range o.args {
		t.RawSetInt(i+1, glua.LString(a))
	}
	L.SetGlobal("arg", t)
}
