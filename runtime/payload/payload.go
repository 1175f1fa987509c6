// Package payload is the wire format of work shipped to a re-executed nsh
// child (a Lua function with its upvalues and arguments) and of the values it
// sends back: a tree of plain values, in a binary encoding of its own
// (wire.go). It knows nothing of Lua: lua/ship.go turns Lua values into these
// and back.
package payload

import "fmt"

// Value is one shipped value. Plain data travels as itself; a function
// travels as the place of its prototype in a shipped chunk plus its
// upvalues (F); a Go function of nsh's own modules by its global name (S).
type Value struct {
	T   string  `json:"t"` // nil b n s t r f g: nil, boolean, number, string, table, reference, function, Go function
	B   bool    `json:"b,omitempty"`
	N   float64 `json:"n,omitempty"`
	S   string  `json:"s,omitempty"` // string, or the text of a non-finite number
	K   []Value `json:"k,omitempty"` // a table's keys
	V   []Value `json:"v,omitempty"` // and its values
	Ref int     `json:"r,omitempty"` // table or function identity, for shared and cyclic references
	F   *Func   `json:"f,omitempty"`
}

// Func is a function: chunk index, the path of prototype indexes from the
// chunk's main prototype, and its upvalues.
type Func struct {
	Chunk int     `json:"c"`
	Path  []int   `json:"p,omitempty"`
	Up    []Value `json:"u,omitempty"`
}

// Chunk is a compiled chunk the shipped functions come from: its
// prototypes, already compiled (Proto, in lua/protowire.go's encoding: the
// child rebuilds them without parsing), or else its source (Source,
// compiled again in the child).
type Chunk struct {
	Name   string `json:"name"`
	Source string `json:"src,omitempty"`
	Proto  []byte `json:"proto,omitempty"`
}

// Global is a global variable a shipped function reads (a helper function
// or a table the script defined), set in the child before the call.
type Global struct {
	Name  string `json:"n"`
	Value Value  `json:"v"`
}

// Shipment is the payload of a child that runs a function (Fn with Args),
// or the values a child sends back (Args only).
type Shipment struct {
	Chunks  []Chunk  `json:"chunks,omitempty"`
	Globals []Global `json:"globals,omitempty"`
	Fn      Value    `json:"fn"`
	Args    []Value  `json:"args,omitempty"`
}

// magic starts every encoded Shipment (a version: a child of another
// build refuses it instead of misreading it).
const magic = "nshp2"

// maxDepth bounds the nesting of decoded values (tables in tables), as
// encoding/json's decoder does, so forged bytes cannot exhaust the stack.
const maxDepth = 10000

// Encode is the bytes of sh.
func Encode(sh Shipment) ([]byte, error) {
	w := &Writer{B: make([]byte, 0, 256)}
	w.B = append(w.B, magic...)
	w.Uint(uint64(len(sh.Chunks)))
	for _, c := range sh.Chunks {
		w.String(c.Name)
		w.String(c.Source)
		w.Bytes(c.Proto)
	}
	w.Uint(uint64(len(sh.Globals)))
	for _, g := range sh.Globals {
		w.String(g.Name)
		writeValue(w, g.Value)
	}
	writeValue(w, sh.Fn)
	writeValues(w, sh.Args)
	return w.B, nil
}

func writeValues(w *Writer, vs []Value) {
	w.Uint(uint64(len(vs)))
	for _, v := range vs {
		writeValue(w, v)
	}
}

func writeValue(w *Writer, v Value) {
	w.String(v.T)
	w.Bool(v.B)
	w.Float(v.N)
	w.String(v.S)
	writeValues(w, v.K)
	writeValues(w, v.V)
	w.Int(int64(v.Ref))
	w.Bool(v.F != nil)
	if v.F != nil {
		w.Int(int64(v.F.Chunk))
		w.Uint(uint64(len(v.F.Path)))
		for _, p := range v.F.Path {
			w.Int(int64(p))
		}
		writeValues(w, v.F.Up)
	}
}

// Decode reads what Encode wrote.
func Decode(b []byte) (Shipment, error) {
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return Shipment{}, fmt.Errorf("reading shipped values: not a shipment of this nsh")
	}
	r := &Reader{B: b[len(magic):]}
	var sh Shipment
	if n := r.Len(); n > 0 {
		sh.Chunks = make([]Chunk, n)
		for i := range sh.Chunks {
			sh.Chunks[i] = Chunk{Name: r.String(), Source: r.String(), Proto: r.Bytes()}
		}
	}
	if n := r.Len(); n > 0 {
		sh.Globals = make([]Global, n)
		for i := range sh.Globals {
			sh.Globals[i].Name = r.String()
			sh.Globals[i].Value = readValue(r, 0)
		}
	}
	sh.Fn = readValue(r, 0)
	sh.Args = readValues(r, 0)
	if err := r.End(); err != nil {
		return Shipment{}, fmt.Errorf("reading shipped values: %v", err)
	}
	return sh, nil
}

func readValues(r *Reader, depth int) []Value {
	n := r.Len()
	if n == 0 || r.Err != nil {
		return nil
	}
	vs := make([]Value, n)
	for i := range vs {
		vs[i] = readValue(r, depth)
	}
	return vs
}

func readValue(r *Reader, depth int) Value {
	if depth > maxDepth {
		r.Err = fmt.Errorf("values nested more than %d deep", maxDepth)
		r.B = nil
		return Value{}
	}
	v := Value{T: r.String(), B: r.Bool(), N: r.Float(), S: r.String()}
	v.K = readValues(r, depth+1)
	v.V = readValues(r, depth+1)
	v.Ref = int(r.Int())
	if r.Bool() {
		f := &Func{Chunk: int(r.Int())}
		if n := r.Len(); n > 0 {
			f.Path = make([]int, n)
			for i := range f.Path {
				f.Path[i] = int(r.Int())
			}
		}
		f.Up = readValues(r, depth+1)
		v.F = f
	}
	return v
}
