package nsproc

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// The protocol between nsh and a re-executed nsh child:
//
//	fd 3 (ctl, a socket pair): one framed message (childMsg) from the parent,
//	   then, when the parent releases the child, the byte goAhead. EOF instead
//	   means "give up". A child that runs a payload keeps it open: the
//	   byte keepReq asks it to clear its parent-death signal, and it answers
//	   with one framed keepReply.
//	fd 4 (res, child -> parent): at most one framed message (childResult).
//
// A frame is a 4-byte big-endian length and that many bytes of JSON.
const (
	ChildFlag = "--nsh-child" // argv[1] of a re-executed child
	ctlFD     = 3
	resFD     = 4
	goAhead   = 'G'
	keepReq   = 'K'
	maxFrame  = 64 << 20
)

type childMsg struct {
	Argv    []string `json:",omitempty"`
	Env     []string `json:",omitempty"`
	Dir     string   `json:",omitempty"`
	Setup   Setup
	UID     *int   `json:",omitempty"`
	GID     *int   `json:",omitempty"`
	Payload []byte `json:",omitempty"`
	// Pdeath: the child sets its parent-death signal (again) after its
	// set-up and its change of ids, since the kernel clears it on every
	// credential change, and Go cannot give it one in a joined PID
	// namespace.
	Pdeath bool `json:",omitempty"`
	// DropAmbient: the parent raised every ambient capability so that the
	// re-executed nsh keeps the capabilities the kernel gave the first
	// process of its new user namespace (see keepCapsThroughReexec).
	DropAmbient bool `json:",omitempty"`
	// UnsetEnv are variables the parent added for the Go runtime of the
	// re-executed nsh only (GOMAXPROCS=1); the child removes them at once.
	UnsetEnv []string `json:",omitempty"`
	// Created are the namespaces the clone made for this child.
	Created Set `json:",omitempty"`
}

type keepReply struct {
	Error string `json:",omitempty"`
}

type childResult struct {
	Values []byte `json:",omitempty"`
	Error  string `json:",omitempty"`
}

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(append(hdr[:], b...)); err != nil {
		return err
	}
	return nil
}

func readFrame(r io.Reader, v any) error {
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
	return json.Unmarshal(b, v)
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
