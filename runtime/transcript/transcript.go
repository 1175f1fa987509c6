// Package transcript keeps a session as markdown, the way script(1) keeps a
// terminal session: each input in a ```lua block, and below it, in a plain
// ``` block, the output it produced (standard output and standard error, in
// the order the user saw them), so a teacher can hand out exactly what
// happened.
//
// While an input runs (Begin to End), descriptors 1 and 2 point at a pipe; a
// goroutine copies what arrives to where they pointed before (the terminal,
// live) and into the record. Children started meanwhile write into the same
// pipe, so their output is recorded too; one still writing after its input
// ended is shown at once and recorded with the next input. Programs see a
// pipe on their standard output while recording, as under `cmd | tee`.
// It knows nothing of Lua.
package transcript

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Recorder writes one markdown file.
type Recorder struct {
	Path string

	file    *os.File
	streams []*stream

	mu       sync.Mutex
	out      bytes.Buffer // output since the last block was written
	input    string
	open     bool // an input is running: descriptors 1 and 2 are the pipes
	stopping bool // Stop was called while an input ran
	closed   bool
	inputs   int
}

// A stream is one pipe standing in for one or two descriptors (1 and 2 when
// both are the same file, a terminal say, so that their order is kept).
type stream struct {
	fds    []int
	saved  int // the original file, duplicated
	r, w   int
	synced chan struct{}
}

// sync is written through a pipe at the end of an input: everything before
// it belongs to that input.
var syncMark = []byte("\x00nsh-transcript-sync\x00")

// Start creates (or with appendTo, extends) path and prepares the pipes.
func Start(path string, appendTo bool) (*Recorder, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, err
	}
	r := &Recorder{Path: path, file: f}
	groups := [][]int{{1}, {2}}
	if sameFile(1, 2) {
		groups = [][]int{{1, 2}}
	}
	for _, fds := range groups {
		st, err := newStream(fds)
		if err != nil {
			r.release()
			f.Close()
			return nil, err
		}
		r.streams = append(r.streams, st)
		go r.copy(st)
	}
	return r, nil
}

func sameFile(a, b int) bool {
	var sa, sb unix.Stat_t
	if unix.Fstat(a, &sa) != nil || unix.Fstat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

func newStream(fds []int) (*stream, error) {
	saved, err := unix.FcntlInt(uintptr(fds[0]), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("dup(%d): %w", fds[0], err)
	}
	// a blocking pipe: descriptors 1 and 2 are shared with children,
	// which expect blocking writes
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		unix.Close(saved)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	return &stream{fds: fds, saved: saved, r: p[0], w: p[1], synced: make(chan struct{}, 1)}, nil
}

// Begin starts an input: what is written to descriptors 1 and 2 from now
// on is its output. The caller flushes its own buffers first.
func (r *Recorder) Begin(input string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.open {
		return nil
	}
	for _, st := range r.streams {
		for _, fd := range st.fds {
			if err := unix.Dup3(st.w, fd, 0); err != nil {
				r.restore()
				return fmt.Errorf("dup3(pipe, %d): %w", fd, err)
			}
		}
	}
	r.input, r.open = input, true
	return nil
}

// End finishes the running input and writes its block, or, when Stop was
// called meanwhile, drops it (the input that stopped the recording is not
// part of it) and closes the file. The caller flushes its buffers first.
func (r *Recorder) End() error {
	r.mu.Lock()
	if !r.open {
		r.mu.Unlock()
		return nil
	}
	r.restore()
	r.open = false
	r.mu.Unlock()
	r.sync()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		r.out.Reset()
		return r.closeLocked()
	}
	return r.writeBlock()
}

// Stop ends the recording: at once when no input runs, else at its End
// (without that input).
func (r *Recorder) Stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open {
		r.stopping = true
		return nil
	}
	return r.closeLocked()
}

// Close ends the recording, keeping the running input, if any, with what
// it wrote so far (nsh exits in the middle of one: os.exit).
func (r *Recorder) Close() error {
	r.mu.Lock()
	open := r.open
	if open {
		r.restore()
		r.open = false
	}
	r.mu.Unlock()
	if open {
		r.sync()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	var err error
	if open && !r.stopping {
		err = r.writeBlock()
	}
	if e := r.closeLocked(); err == nil {
		err = e
	}
	return err
}

// Inputs is how many inputs were recorded.
func (r *Recorder) Inputs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inputs
}

// restore points the descriptors back at their files.
func (r *Recorder) restore() {
	for _, st := range r.streams {
		for _, fd := range st.fds {
			unix.Dup3(st.saved, fd, 0)
		}
	}
}

// sync waits until the copiers have passed on everything written so far.
func (r *Recorder) sync() {
	for _, st := range r.streams {
		if _, err := unix.Write(st.w, syncMark); err != nil {
			continue
		}
		select {
		case <-st.synced:
		case <-time.After(5 * time.Second):
		}
	}
}

func (r *Recorder) closeLocked() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.release()
	return r.file.Close()
}

// release closes nsh's write ends: each copier goes on passing output to
// the terminal until the last child holding the pipe is gone.
func (r *Recorder) release() {
	for _, st := range r.streams {
		unix.Close(st.w)
	}
}

// copy passes a pipe's output on to the saved descriptor and the record.
func (r *Recorder) copy(st *stream) {
	defer unix.Close(st.r)
	buf := make([]byte, 32*1024)
	var data []byte
	for {
		n, err := unix.Read(st.r, buf)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			r.emit(st, data)
			return
		}
		data = append(data, buf[:n]...)
		for {
			i := bytes.Index(data, syncMark)
			if i < 0 {
				break
			}
			r.emit(st, data[:i])
			data = data[i+len(syncMark):]
			st.synced <- struct{}{}
		}
		k := partialSuffix(data, syncMark)
		r.emit(st, data[:len(data)-k])
		data = append([]byte(nil), data[len(data)-k:]...)
	}
}

// partialSuffix is the length of the longest end of data that begins mark.
func partialSuffix(data, mark []byte) int {
	for k := min(len(mark)-1, len(data)); k > 0; k-- {
		if bytes.HasSuffix(data, mark[:k]) {
			return k
		}
	}
	return 0
}

func (r *Recorder) emit(st *stream, b []byte) {
	if len(b) == 0 {
		return
	}
	for rest := b; len(rest) > 0; {
		n, err := unix.Write(st.saved, rest)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			break
		}
		rest = rest[n:]
	}
	r.mu.Lock()
	if !r.closed {
		r.out.Write(b)
	}
	r.mu.Unlock()
}

func (r *Recorder) writeBlock() error {
	out := Clean(r.out.String())
	r.out.Reset()
	r.inputs++
	text := Block("lua", strings.TrimRight(r.input, " \t\r\n"))
	if out != "" {
		text += Block("", out)
	}
	_, err := r.file.WriteString(text)
	return err
}

// Block is text in a fenced markdown block, the fence longer than any run
// of backticks in the text.
func Block(lang, text string) string {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	return fence + lang + "\n" + text + "\n" + fence + "\n\n"
}

// stripEscapes drops the terminal escape sequences a reader should not see:
// CSI (ESC [ params intermediates final: colours, cursor moves), OSC
// (ESC ] ... BEL or ESC \: window titles), charset selection (ESC ( B) and
// keypad modes (ESC = and ESC >). It is the regexp
// \x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>]
// by hand: the regexp package, linked, ran its and unicode's table inits at
// every start of nsh. An ESC that starts none of them stays.
func stripEscapes(s string) string {
	if strings.IndexByte(s, 0x1b) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != 0x1b {
			j := strings.IndexByte(s[i:], 0x1b)
			if j < 0 {
				j = len(s) - i
			}
			b.WriteString(s[i : i+j])
			i += j
			continue
		}
		if n := escapeLen(s[i:]); n > 0 {
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// escapeLen is the length of the escape sequence s starts with (s[0] is
// ESC), 0 if none.
func escapeLen(s string) int {
	if len(s) < 2 {
		return 0
	}
	switch c := s[1]; {
	case c == '[': // CSI: the three classes are disjoint, so no backtracking
		i := 2
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == ';' || s[i] == '?') {
			i++
		}
		for i < len(s) && s[i] >= ' ' && s[i] <= '/' {
			i++
		}
		if i < len(s) && s[i] >= '@' && s[i] <= '~' {
			return i + 1
		}
	case c == ']': // OSC, ended by BEL or ESC \
		i := 2
		for i < len(s) && s[i] != 0x07 && s[i] != 0x1b {
			i++
		}
		switch {
		case i < len(s) && s[i] == 0x07:
			return i + 1
		case i+1 < len(s) && s[i] == 0x1b && s[i+1] == '\\':
			return i + 2
		}
	case c == '(' || c == ')':
		if len(s) > 2 && (s[2] >= '0' && s[2] <= '9' || s[2] == 'A' || s[2] == 'B') {
			return 3
		}
	case c == '=' || c == '>':
		return 2
	}
	return 0
}

// Clean is output as a reader of the document should see it: terminal
// escape sequences (colours, cursor moves) dropped, each line as the
// terminal left it after carriage returns (a progress line shows its last
// state), no trailing blank lines.
func Clean(s string) string {
	s = stripEscapes(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			lines[i] = l[j+1:]
		}
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}
