package lua

import (
	"fmt"

	"nsh/runtime/cleanup"
	"nsh/runtime/transcript"

	glua "github.com/yuin/gopher-lua"
)

// Recording a session as markdown (record(), nsh --record): the REPL and the
// script runner mark each input with BeginInput; runtime/transcript captures
// what it printed and writes the blocks.

// recording is a session's running transcript and its cleanup item (which
// closes the file however nsh ends).
type recording struct {
	r    *transcript.Recorder
	item *cleanup.Item
}

func (s *Session) recordFunc() *Func {
	return &Func{Name: "record", Args: "([file], [{append=true}])", Fn: s.record,
		Doc: "Starts writing the session to a markdown file, as nsh --record FILE does, from the next input on: each input (a line or a " +
			"multi-line chunk at the prompt, a !command, a -e chunk, a script) becomes a ```lua block, and what it printed (standard output " +
			"and standard error, in the order you saw them, its children's too) a plain ``` block below it. The file is replaced unless " +
			"append=true. record() stops (the input that stops is not kept). While recording, programs see a " +
			"pipe as their standard output, as under tee.",
		Example: "record(\"/tmp/lesson.md\")\n-- ... the lesson, one input at a time ...\nrecord()"}
}

func (s *Session) record(L *glua.LState) int {
	if L.Get(1) == glua.LNil {
		rec := s.recording
		if rec == nil {
			fmt.Fprintln(s.Stdout, "not recording (record(\"file.md\") starts)")
			return 0
		}
		s.recording = nil
		n := rec.r.Inputs()
		err := rec.r.Stop()
		rec.item.Forget()
		if err != nil {
			return raiseErr(L, err)
		}
		fmt.Fprintf(s.Stdout, "recording stopped: %d inputs in %s\n", n, rec.r.Path)
		return 0
	}
	path := argString(L, 1, "file name (a .md file)")
	appendTo := argOptions(L, 2, "append").Bool("append", false)
	if s.recording != nil {
		return raiseErr(L, fmt.Errorf("already recording to %s (record() stops)", s.recording.r.Path))
	}
	if err := s.StartRecording(path, appendTo); err != nil {
		return raiseErr(L, err)
	}
	fmt.Fprintf(s.Stdout, "recording to %s from the next input on (record() stops)\n", path)
	return 0
}

// StartRecording writes the session to path from the next input on.
func (s *Session) StartRecording(path string, appendTo bool) error {
	r, err := transcript.Start(path, appendTo)
	if err != nil {
		return err
	}
	rec := &recording{r: r}
	rec.item = s.Reg.Add("recording to "+path, func() error {
		if s.recording == rec {
			s.recording = nil
		}
		s.Flush()
		return r.Close()
	})
	s.recording = rec
	return nil
}

// BeginInput marks the start of one input (src, as typed) when the session
// is being recorded; the function it returns marks its end, after the input's
// values and errors were printed.
func (s *Session) BeginInput(src string) (end func()) {
	rec := s.recording
	if rec == nil {
		return func() {}
	}
	s.Flush()
	if err := rec.r.Begin(src); err != nil {
		fmt.Fprintln(s.Stdout, "nsh: recording:", err)
	}
	return func() {
		s.Flush()
		if err := rec.r.End(); err != nil {
			fmt.Fprintln(s.Stdout, "nsh: recording:", err)
		}
	}
}
