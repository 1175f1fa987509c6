package lua

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"nsh/runtime/payload"

	glua "github.com/yuin/gopher-lua"
)

// A shipped function's chunk travels compiled: the child of an ns.clone
// rebuilds the chunk's prototypes from these bytes instead of parsing and
// compiling its source again, which cost every clone of a 300-line script
// more than a millisecond (and grew with the script, not with the
// function). gopher-lua has no string.dump, so this file writes and reads
// its FunctionProto itself, field by field; TestProtoWireRoundTrip checks,
// with reflect.DeepEqual (which sees unexported fields too), that what
// comes back is what the compiler made, for every bundled script, so a
// gopher-lua that adds a field fails the test instead of a child.
//
// One field is not exported: stringConstants, the string view of
// Constants that the VM reads for global names and table keys, which
// only gopher-lua's compiler fills. It is set here through its offset,
// found by reflection once; where it is not found (another gopher-lua),
// protoWireOK is false and chunks travel as source, as before.

// maxProtoDepth bounds the nesting of decoded prototypes (a function in a
// function ...): deeper than any source gopher-lua's parser accepts.
const maxProtoDepth = 1000

var stringConstantsOffset = sync.OnceValue(func() int {
	f, ok := reflect.TypeFor[glua.FunctionProto]().FieldByName("stringConstants")
	if !ok || f.Type != reflect.TypeFor[[]string]() {
		return -1
	}
	return int(f.Offset)
})

// protoWireOK says whether compiled chunks can travel (this gopher-lua has
// the field the VM needs, where this file expects it).
func protoWireOK() bool { return stringConstantsOffset() >= 0 }

func setStringConstants(p *glua.FunctionProto, sc []string) {
	*(*[]string)(unsafe.Add(unsafe.Pointer(p), stringConstantsOffset())) = sc
}

var errProtoConstant = errors.New("a constant that is neither a number nor a string")

// encodeProto is the bytes of the prototype tree p (a chunk's main
// function and everything compiled inside it).
func encodeProto(p *glua.FunctionProto) ([]byte, error) {
	w := &payload.Writer{B: make([]byte, 0, 1024)}
	if err := writeProto(w, p); err != nil {
		return nil, err
	}
	return w.B, nil
}

func writeProto(w *payload.Writer, p *glua.FunctionProto) error {
	w.String(p.SourceName)
	w.Int(int64(p.LineDefined))
	w.Int(int64(p.LastLineDefined))
	w.B = append(w.B, p.NumUpvalues, p.NumParameters, p.IsVarArg, p.NumUsedRegisters)
	w.Uint(uint64(len(p.Code)))
	for _, c := range p.Code {
		w.B = binary.LittleEndian.AppendUint32(w.B, c)
	}
	w.Uint(uint64(len(p.Constants)))
	for _, c := range p.Constants {
		switch c := c.(type) {
		case glua.LNumber:
			w.B = append(w.B, 'n')
			w.Float(float64(c))
		case glua.LString:
			w.B = append(w.B, 's')
			w.String(string(c))
		default:
			return fmt.Errorf("%w: %s", errProtoConstant, c.Type())
		}
	}
	w.Uint(uint64(len(p.FunctionPrototypes)))
	for _, sub := range p.FunctionPrototypes {
		if err := writeProto(w, sub); err != nil {
			return err
		}
	}
	w.Uint(uint64(len(p.DbgSourcePositions)))
	for _, pos := range p.DbgSourcePositions {
		w.Int(int64(pos))
	}
	w.Uint(uint64(len(p.DbgLocals)))
	for _, l := range p.DbgLocals {
		w.String(l.Name)
		w.Int(int64(l.StartPc))
		w.Int(int64(l.EndPc))
	}
	w.Uint(uint64(len(p.DbgCalls)))
	for _, c := range p.DbgCalls {
		w.String(c.Name)
		w.Int(int64(c.Pc))
	}
	w.Strings(p.DbgUpvalues)
	return nil
}

// decodeProto rebuilds what encodeProto wrote.
func decodeProto(b []byte) (*glua.FunctionProto, error) {
	r := &payload.Reader{B: b}
	p := readProto(r, 0)
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("reading a shipped chunk's prototypes: %v", err)
	}
	return p, nil
}

func readProto(r *payload.Reader, depth int) *glua.FunctionProto {
	if depth > maxProtoDepth {
		r.Err = fmt.Errorf("prototypes nested more than %d deep", maxProtoDepth)
		r.B = nil
		return nil
	}
	p := &glua.FunctionProto{SourceName: r.String(), LineDefined: int(r.Int()), LastLineDefined: int(r.Int())}
	if len(r.B) < 4 {
		r.B, r.Err = nil, payload.ErrTruncated
		return nil
	}
	p.NumUpvalues, p.NumParameters, p.IsVarArg, p.NumUsedRegisters = r.B[0], r.B[1], r.B[2], r.B[3]
	r.B = r.B[4:]
	n := r.Len()
	if n*4 > len(r.B) {
		r.B, r.Err = nil, payload.ErrTruncated
		return nil
	}
	p.Code = make([]uint32, n)
	for i := range p.Code {
		p.Code[i] = binary.LittleEndian.Uint32(r.B[4*i:])
	}
	r.B = r.B[4*n:]
	n = r.Len()
	p.Constants = make([]glua.LValue, n)
	sc := make([]string, n)
	for i := range p.Constants {
		if len(r.B) < 1 {
			r.B, r.Err = nil, payload.ErrTruncated
			return nil
		}
		tag := r.B[0]
		r.B = r.B[1:]
		switch tag {
		case 'n':
			p.Constants[i] = glua.LNumber(r.Float())
		case 's':
			s := r.String()
			p.Constants[i], sc[i] = glua.LString(s), s
		default:
			r.B, r.Err = nil, errProtoConstant
			return nil
		}
	}
	setStringConstants(p, sc)
	n = r.Len()
	p.FunctionPrototypes = make([]*glua.FunctionProto, n)
	for i := range p.FunctionPrototypes {
		if p.FunctionPrototypes[i] = readProto(r, depth+1); r.Err != nil {
			return nil
		}
	}
	n = r.Len()
	p.DbgSourcePositions = make([]int, n)
	for i := range p.DbgSourcePositions {
		p.DbgSourcePositions[i] = int(r.Int())
	}
	n = r.Len()
	p.DbgLocals = make([]*glua.DbgLocalInfo, n)
	for i := range p.DbgLocals {
		p.DbgLocals[i] = &glua.DbgLocalInfo{Name: r.String(), StartPc: int(r.Int()), EndPc: int(r.Int())}
	}
	n = r.Len()
	p.DbgCalls = make([]glua.DbgCall, n)
	for i := range p.DbgCalls {
		p.DbgCalls[i] = glua.DbgCall{Name: r.String(), Pc: int(r.Int())}
	}
	n = r.Len()
	p.DbgUpvalues = make([]string, n) // never nil, as the compiler's
	for i := range p.DbgUpvalues {
		p.DbgUpvalues[i] = r.String()
	}
	if r.Err != nil {
		return nil
	}
	return p
}
