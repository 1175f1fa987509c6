package nsproc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"nsh/runtime/payload"
)

// The protocol between nsh and a re-executed nsh child:
//
//	fd 3 (ctl, a socket pair): one framed message (childMsg) from the parent,
//	   then, when the parent releases the child, the byte goAhead. EOF instead
//	   means "give up". A child that runs a payload keeps it open: the
//	   byte keepReq asks it to clear its parent-death signal, and it answers
//	   with one framed keepReply; the byte stopReq asks it to stop its
//	   function and clean up (no answer: the parent waits for its exit).
//	fd 4 (res, child -> parent): at most one framed message (childResult).
//
// A frame is a 4-byte big-endian length and that many bytes of the message
// in runtime/payload's binary encoding (Writer/Reader): no JSON decoder
// warms its reflection caches in every fresh child.
const (
	ChildFlag = "--nsh-child" // argv[1] of a re-executed child
	ctlFD     = 3
	resFD     = 4
	goAhead   = 'G'
	keepReq   = 'K'
	stopReq   = 'S'
	maxFrame  = 64 << 20
)

type childMsg struct {
	Argv    []string
	Env     []string
	Dir     string
	Setup   Setup
	UID     *int
	GID     *int
	Payload []byte
	// Pdeath: the child sets its parent-death signal (again) after its
	// set-up and its change of ids, since the kernel clears it on every
	// credential change, and Go cannot give it one in a joined PID
	// namespace.
	Pdeath bool
	// DropAmbient: the parent raised every ambient capability so that the
	// re-executed nsh keeps the capabilities the kernel gave the first
	// process of its new user namespace (see keepCapsThroughReexec).
	DropAmbient bool
	// UnsetEnv are variables the parent added for the Go runtime of the
	// re-executed nsh only (GOMAXPROCS=1); the child removes them at once.
	UnsetEnv []string
	// Created are the namespaces the clone made for this child.
	Created Set
}

type keepReply struct {
	Error string
}

func (m *keepReply) encode(w *payload.Writer) { w.String(m.Error) }
func (m *keepReply) decode(r *payload.Reader) { m.Error = r.String() }

type childResult struct {
	Values []byte
	Error  string
}

// frame is a message of the protocol.
type frame interface {
	encode(w *payload.Writer)
	decode(r *payload.Reader)
}

func (m *childMsg) encode(w *payload.Writer) {
	w.Strings(m.Argv)
	w.Bool(m.Env != nil) // nil (inherit) differs from empty
	w.Strings(m.Env)
	w.String(m.Dir)
	w.String(m.Setup.Hostname)
	w.String(m.Setup.Domainname)
	w.Uint(uint64(len(m.Setup.Steps)))
	for _, st := range m.Setup.Steps {
		w.String(st.Name)
		w.Bytes(st.Args)
	}
	for _, id := range []*int{m.UID, m.GID} {
		w.Bool(id != nil)
		if id != nil {
			w.Int(int64(*id))
		}
	}
	w.Bytes(m.Payload)
	w.Bool(m.Pdeath)
	w.Bool(m.DropAmbient)
	w.Strings(m.UnsetEnv)
	w.Uint(uint64(m.Created))
}

func (m *childMsg) decode(r *payload.Reader) {
	m.Argv = r.Strings()
	if r.Bool() {
		m.Env = r.Strings()
		if m.Env == nil {
			m.Env = []string{}
		}
	} else {
		r.Strings()
	}
	m.Dir = r.String()
	m.Setup.Hostname = r.String()
	m.Setup.Domainname = r.String()
	if n := r.Len(); n > 0 {
		m.Setup.Steps = make([]Step, n)
		for i := range m.Setup.Steps {
			m.Setup.Steps[i] = Step{Name: r.String(), Args: r.Bytes()}
		}
	}
	for _, id := range []**int{&m.UID, &m.GID} {
		if r.Bool() {
			v := int(r.Int())
			*id = &v
		}
	}
	m.Payload = r.Bytes()
	m.Pdeath = r.Bool()
	m.DropAmbient = r.Bool()
	m.UnsetEnv = r.Strings()
	m.Created = Set(r.Uint())
}

func (c *childResult) encode(w *payload.Writer) {
	w.Bytes(c.Values)
	w.String(c.Error)
}

func (c *childResult) decode(r *payload.Reader) {
	c.Values = r.Bytes()
	c.Error = r.String()
}

func writeFrame(w io.Writer, v frame) error {
	pw := &payload.Writer{B: make([]byte, 4, 256)}
	v.encode(pw)
	b := pw.B
	binary.BigEndian.PutUint32(b[:4], uint32(len(b)-4))
	_, err := w.Write(b)
	return err
}

func readFrame(r io.Reader, v frame) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return fmt.Errorf("frame of %d bytes is too large", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	pr := &payload.Reader{B: b}
	v.decode(pr)
	return pr.End()
}

func readResult(f *os.File) []byte {
	b, _ := io.ReadAll(io.LimitReader(f, maxFrame+4))
	return b
}

func decodeResult(b []byte) ([]byte, string) {
	var r childResult
	if err := readFrame(bytesReader(b), &r); err != nil {
		return nil, ""
	}
	return r.Values, r.Error
}

type byteReader struct{ b []byte }

func bytesReader(b []byte) *byteReader { return &byteReader{b} }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// errAborted: the parent closed the control pipe without releasing us.
var errAborted = errors.New("the parent gave up before releasing this child")

// IsChild reports whether this process is a re-executed nsh child (a
// cloned function, a held start), not the nsh the user started.
func IsChild() bool { return len(os.Args) > 1 && os.Args[1] == ChildFlag }
