package payload

import (
	"encoding/binary"
	"errors"
	"math"
)

// Writer and Reader are the binary encoding of everything a re-executed nsh
// child receives and sends back (this package's Shipment, the child
// protocol's messages, a container's set-up): unsigned varints, and strings
// and byte strings as a varint length and the bytes. A fresh child decoded
// these as JSON, whose reflection-driven decoder warmed its caches anew in
// every child: a twentieth of an ns.clone.

// Writer appends values to a byte slice.
type Writer struct{ B []byte }

// Uint appends x as an unsigned varint.
func (w *Writer) Uint(x uint64) { w.B = binary.AppendUvarint(w.B, x) }

// Int appends x (zig-zag, so small negative numbers stay short).
func (w *Writer) Int(x int64) { w.B = binary.AppendVarint(w.B, x) }

// Bool appends b as one byte.
func (w *Writer) Bool(b bool) {
	if b {
		w.B = append(w.B, 1)
	} else {
		w.B = append(w.B, 0)
	}
}

// Float appends f's 8 bytes.
func (w *Writer) Float(f float64) { w.B = binary.LittleEndian.AppendUint64(w.B, math.Float64bits(f)) }

// String appends s with its length.
func (w *Writer) String(s string) {
	w.Uint(uint64(len(s)))
	w.B = append(w.B, s...)
}

// Bytes appends b with its length.
func (w *Writer) Bytes(b []byte) {
	w.Uint(uint64(len(b)))
	w.B = append(w.B, b...)
}

// Strings appends a list of strings with its length.
func (w *Writer) Strings(l []string) {
	w.Uint(uint64(len(l)))
	for _, s := range l {
		w.String(s)
	}
}

// ErrTruncated: the bytes end inside a value, or a length is impossible.
var ErrTruncated = errors.New("truncated or malformed message")

// Reader reads what a Writer wrote. The first failure sticks (Err); every
// read after it returns a zero value, so a decoder checks once at the end.
type Reader struct {
	B   []byte
	Err error
}

func (r *Reader) fail() {
	if r.Err == nil {
		r.Err = ErrTruncated
	}
	r.B = nil
}

// Uint reads an unsigned varint.
func (r *Reader) Uint() uint64 {
	x, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.B = r.B[n:]
	return x
}

// Int reads what Writer.Int wrote.
func (r *Reader) Int() int64 {
	x, n := binary.Varint(r.B)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.B = r.B[n:]
	return x
}

// Len reads a count of items that each take at least one byte: it cannot
// exceed what is left (no allocation from a forged length).
func (r *Reader) Len() int {
	n := r.Uint()
	if n > uint64(len(r.B)) {
		r.fail()
		return 0
	}
	return int(n)
}

// Bool reads one byte.
func (r *Reader) Bool() bool {
	if len(r.B) < 1 || r.B[0] > 1 {
		r.fail()
		return false
	}
	b := r.B[0] == 1
	r.B = r.B[1:]
	return b
}

// Float reads 8 bytes.
func (r *Reader) Float() float64 {
	if len(r.B) < 8 {
		r.fail()
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(r.B))
	r.B = r.B[8:]
	return f
}

func (r *Reader) raw() []byte {
	n := r.Len()
	if r.Err != nil {
		return nil
	}
	b := r.B[:n:n]
	r.B = r.B[n:]
	return b
}

// String reads a string.
func (r *Reader) String() string { return string(r.raw()) }

// Bytes reads a byte string (a copy; nil when empty).
func (r *Reader) Bytes() []byte {
	b := r.raw()
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// Strings reads a list of strings (nil when empty).
func (r *Reader) Strings() []string {
	n := r.Len()
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = r.String()
	}
	return l
}

// End fails when bytes are left over, and returns the first failure.
func (r *Reader) End() error {
	if r.Err == nil && len(r.B) > 0 {
		r.Err = errors.New("unexpected bytes after the message")
	}
	return r.Err
}
