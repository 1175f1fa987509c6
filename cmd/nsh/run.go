package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"nsh/lua"

	glua "github.com/yuin/gopher-lua"
)

// run executes -e chunks, the script, and the REPL, as asked, and returns
// the exit code. Cleanup runs however it ends.
func run(o *options) int {
	s, err := lua.NewSession()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsh:", err)
		return 1
	}
	if o.apiDoc {
		fmt.Print(s.APIMarkdown())
		return 0
	}
	stop := watchSignals(s)
	defer stop()
	if path := os.Getenv("NSH_CPUPROFILE"); path != "" {
		// for developers: where does a script's time go (go tool pprof)
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	code := runBatch(s, o)
	if code == 0 && (o.interactive || (o.file == "" && len(o.exprs) == 0)) {
		code = repl(s)
	}
	s.Flush()
	for _, err := range s.Close() {
		fmt.Fprintln(os.Stderr, "nsh:", err)
	}
	return code
}

func runBatch(s *lua.Session, o *options) int {
	setArg(s, o)
	for _, e := range o.exprs {
		if _, err := s.Run(e, "(command line)"); err != nil {
			return report(err)
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
	if _, err := s.Run(lua.StripShebang(string(src)), name, args...); err != nil {
		return report(err)
	}
	return 0
}

// report prints a script error as "file:line: message" and picks the code.
func report(err error) int {
	if lua.Interrupted(err) {
		sig := syscall.Signal(lastSignal.Load())
		if sig == 0 {
			sig = syscall.SIGINT
		}
		fmt.Fprintf(os.Stderr, "nsh: interrupted (%v)\n", sig)
		return 128 + int(sig)
	}
	fmt.Fprintln(os.Stderr, err)
	return 1
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

// lastSignal is the signal that interrupted the script, for its exit code.
var lastSignal atomic.Int32

// watchSignals turns SIGINT and SIGTERM into an interrupt of the running
// chunk (the main thread then cleans up). If the chunk does not stop within
// a few seconds (stuck in a call that cannot be interrupted), children are
// killed from here and the process exits.
func watchSignals(s *lua.Session) func() {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				lastSignal.Store(int32(sig.(syscall.Signal)))
				s.Interrupt()
				if sig == syscall.SIGINT && inREPL.Load() {
					continue
				}
				select {
				case <-done:
					return
				case <-time.After(5 * time.Second):
					fmt.Fprintln(os.Stderr, "nsh: not stopping; killing children and exiting")
					s.KillChildren()
					os.Exit(128 + int(sig.(syscall.Signal)))
				case <-ch:
					s.KillChildren()
					os.Exit(128 + int(sig.(syscall.Signal)))
				}
			}
		}
	}()
	return func() {
		close(done)
		signal.Stop(ch)
	}
}
