package lua

import (
	"fmt"
	"math"
	"strconv"

	"nsh/runtime/payload"

	glua "github.com/yuin/gopher-lua"
)

// The shipped values are runtime/payload's plain tree: what may travel to a
// child process (and back). Plain data travels as itself; a Lua function
// travels as the place of its prototype in a recorded chunk plus its
// upvalues; a Go function of nsh's own modules travels by its global name
// ("ns.getpid"). This file converts Lua values to that tree and back.
type (
	sval     = payload.Value
	sfunc    = payload.Func
	schunk   = payload.Chunk
	shipment = payload.Shipment
	sglobal  = payload.Global
)

type encoder struct {
	s       *Session
	globals []sglobal
	seenG   map[string]bool
	chunks  map[int]int // store index -> shipment index
	out     []schunk
	refs    map[glua.LValue]int // tables and Lua functions already encoded
	goNames map[*glua.LFunction]string
}

func (s *Session) newEncoder() *encoder {
	return &encoder{s: s, chunks: map[int]int{}, refs: map[glua.LValue]int{}}
}

// goName finds the global name of a Go function (searching globals and the
// fields of global tables).
func (e *encoder) goName(fn *glua.LFunction) (string, bool) {
	if e.goNames == nil {
		e.s.loadModules() // a module not installed yet has no function to name
		e.goNames = map[*glua.LFunction]string{}
		g := e.s.L.G.Global
		g.ForEach(func(k, v glua.LValue) {
			ks, ok := k.(glua.LString)
			if !ok {
				return
			}
			switch v := v.(type) {
			case *glua.LFunction:
				e.goNames[v] = string(ks)
			case *glua.LTable:
				v.ForEach(func(k2, v2 glua.LValue) {
					if f, ok := v2.(*glua.LFunction); ok {
						if k2s, ok := k2.(glua.LString); ok {
							if _, dup := e.goNames[f]; !dup {
								e.goNames[f] = string(ks) + "." + string(k2s)
							}
						}
					}
				})
			}
		})
	}
	n, ok := e.goNames[fn]
	return n, ok
}

// encode converts v; what names it in errors ("upvalue 'f'", "argument 2").
func (e *encoder) encode(v glua.LValue, what string) (sval, error) {
	switch v := v.(type) {
	case *glua.LNilType:
		return sval{T: "nil"}, nil
	case glua.LBool:
		return sval{T: "b", B: bool(v)}, nil
	case glua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return sval{T: "n", S: strconv.FormatFloat(f, 'g', -1, 64)}, nil
		}
		return sval{T: "n", N: f}, nil
	case glua.LString:
		return sval{T: "s", S: string(v)}, nil
	case *glua.LTable:
		if id, ok := e.refs[v]; ok {
			return sval{T: "r", Ref: id}, nil
		}
		id := len(e.refs) + 1
		e.refs[v] = id
		out := sval{T: "t", Ref: id}
		var err error
		v.ForEach(func(k, val glua.LValue) {
			if err != nil {
				return
			}
			var ks, vs sval
			if ks, err = e.encode(k, what+" (a key)"); err != nil {
				return
			}
			if vs, err = e.encode(val, fmt.Sprintf("%s[%s]", what, k.String())); err != nil {
				return
			}
			out.K = append(out.K, ks)
			out.V = append(out.V, vs)
		})
		return out, err
	case *glua.LFunction:
		if v.IsG {
			if name, ok := e.goName(v); ok {
				return sval{T: "g", S: name}, nil
			}
			return sval{}, fmt.Errorf("%s is a Go function that is not one of nsh's globals, so it cannot travel to the child", what)
		}
		if id, ok := e.refs[v]; ok {
			return sval{T: "r", Ref: id}, nil // a recursive local function refers to itself
		}
		id := len(e.refs) + 1
		e.refs[v] = id
		pl, ok := e.s.Chunks.place(v.Proto)
		if !ok {
			return sval{}, fmt.Errorf("%s is a function from a chunk nsh did not record (%s), so it cannot be rebuilt in the child", what, v.Proto.SourceName)
		}
		ci, ok := e.chunks[pl.chunk]
		if !ok {
			c := e.s.Chunks.chunks[pl.chunk]
			ci = len(e.out)
			e.out = append(e.out, c.shipped())
			e.chunks[pl.chunk] = ci
		}
		e.shipGlobals(v.Proto)
		f := &sfunc{Chunk: ci, Path: pl.path}
		for i, uv := range v.Upvalues {
			name := fmt.Sprintf("#%d", i+1)
			if i < len(v.Proto.DbgUpvalues) {
				name = v.Proto.DbgUpvalues[i]
			}
			var val glua.LValue = glua.LNil
			if uv != nil {
				val = uv.Value()
			}
			sv, err := e.encode(val, fmt.Sprintf("upvalue '%s' of %s", name, what))
			if err != nil {
				return sval{}, err
			}
			f.Up = append(f.Up, sv)
		}
		return sval{T: "f", F: f, Ref: id}, nil
	}
	return sval{}, fmt.Errorf("%s is a %s, which cannot travel to another process: only nil, booleans, numbers, strings, tables of those and Lua functions can", what, typeName(v))
}

// Ship encodes fn and its arguments for a child.
func (s *Session) Ship(fn *glua.LFunction, args []glua.LValue) ([]byte, error) {
	e := s.newEncoder()
	f, err := e.encode(fn, "the function")
	if err != nil {
		return nil, err
	}
	sh := shipment{Fn: f}
	for i, a := range args {
		v, err := e.encode(a, fmt.Sprintf("argument %d", i+1))
		if err != nil {
			return nil, err
		}
		sh.Args = append(sh.Args, v)
	}
	sh.Chunks = e.out
	sh.Globals = e.globals
	return payload.Encode(sh)
}

// shipGlobals adds the globals a function (and the functions nested in it)
// reads, when the script gave them values of its own: a helper defined with
// `function helper() ... end` at the top of a script is a global, and the
// child, a fresh nsh, would not have it. nsh's own globals are not sent; a
// value that cannot travel is left out (the child sees nil).
func (e *encoder) shipGlobals(p *glua.FunctionProto) {
	if e.seenG == nil {
		e.seenG = map[string]bool{}
	}
	for _, name := range globalsRead(p) {
		if e.seenG[name] {
			continue
		}
		e.seenG[name] = true
		v := e.s.L.GetGlobal(name)
		if v == glua.LNil || e.s.baseGlobals[name] == v {
			continue
		}
		if sv, err := e.encode(v, "global '"+name+"'"); err == nil {
			e.globals = append(e.globals, sglobal{Name: name, Value: sv})
		}
	}
}

// globalsRead lists the names a prototype reads with GETGLOBAL.
func globalsRead(p *glua.FunctionProto) []string {
	var names []string
	var walk func(p *glua.FunctionProto)
	walk = func(p *glua.FunctionProto) {
		for _, inst := range p.Code {
			if int(inst>>26) != glua.OP_GETGLOBAL {
				continue
			}
			bx := int(inst & 0x3ffff)
			if bx < len(p.Constants) {
				if str, ok := p.Constants[bx].(glua.LString); ok {
					names = append(names, string(str))
				}
			}
		}
		for _, sub := range p.FunctionPrototypes {
			walk(sub)
		}
	}
	walk(p)
	return names
}

// EncodeValues encodes values a child returns to its parent (functions
// included, as for arguments).
func (s *Session) EncodeValues(vals []glua.LValue) ([]byte, error) {
	e := s.newEncoder()
	sh := shipment{}
	for i, v := range vals {
		sv, err := e.encode(v, fmt.Sprintf("return value %d", i+1))
		if err != nil {
			return nil, err
		}
		sh.Args = append(sh.Args, sv)
	}
	sh.Chunks = e.out
	return payload.Encode(sh)
}

type decoder struct {
	s     *Session
	roots []*glua.FunctionProto // the shipped chunks, compiled here
	refs  map[int]glua.LValue
}

func (d *decoder) decode(v sval) (glua.LValue, error) {
	L := d.s.L
	switch v.T {
	case "nil":
		return glua.LNil, nil
	case "b":
		return glua.LBool(v.B), nil
	case "n":
		if v.S != "" {
			f, _ := strconv.ParseFloat(v.S, 64)
			return glua.LNumber(f), nil
		}
		return glua.LNumber(v.N), nil
	case "s":
		return glua.LString(v.S), nil
	case "r":
		if t, ok := d.refs[v.Ref]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("bad reference %d", v.Ref)
	case "t":
		t := L.NewTable()
		d.refs[v.Ref] = t
		for i := range v.K {
			if i >= len(v.V) {
				break
			}
			k, err := d.decode(v.K[i])
			if err != nil {
				return nil, err
			}
			val, err := d.decode(v.V[i])
			if err != nil {
				return nil, err
			}
			if k != glua.LNil {
				t.RawSet(k, val)
			}
		}
		return t, nil
	case "g":
		return d.s.lookupGlobal(v.S)
	case "f":
		if v.F == nil || v.F.Chunk < 0 || v.F.Chunk >= len(d.roots) || d.roots[v.F.Chunk] == nil {
			return nil, fmt.Errorf("bad function reference")
		}
		proto := d.roots[v.F.Chunk]
		for _, i := range v.F.Path {
			if i < 0 || i >= len(proto.FunctionPrototypes) {
				return nil, fmt.Errorf("a shipped chunk compiled to a different shape in the child")
			}
			proto = proto.FunctionPrototypes[i]
		}
		fn := L.NewFunctionFromProto(proto)
		if v.Ref != 0 {
			d.refs[v.Ref] = fn
		}
		for i := range fn.Upvalues {
			uv := &glua.Upvalue{} // a closed upvalue holding its own value
			if i < len(v.F.Up) {
				val, err := d.decode(v.F.Up[i])
				if err != nil {
					return nil, err
				}
				uv.SetValue(val)
			} else {
				uv.SetValue(glua.LNil)
			}
			fn.Upvalues[i] = uv
		}
		return fn, nil
	}
	return nil, fmt.Errorf("unknown shipped value type %q", v.T)
}

func (s *Session) lookupGlobal(name string) (glua.LValue, error) {
	mod, field, dotted := cut(name)
	v := s.L.GetGlobal(mod)
	if dotted {
		t, ok := v.(*glua.LTable)
		if !ok {
			return nil, fmt.Errorf("no global table %q in the child", mod)
		}
		v = t.RawGetString(field)
	}
	if v == glua.LNil {
		return nil, fmt.Errorf("no function %q in the child", name)
	}
	return v, nil
}

func cut(name string) (string, string, bool) {
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			return name[:i], name[i+1:], true
		}
	}
	return name, "", false
}

// unshipChunk is a shipped chunk's main prototype: rebuilt from its
// compiled form, or compiled from its source.
func unshipChunk(c schunk) (*glua.FunctionProto, error) {
	if c.Proto != nil {
		if !protoWireOK() {
			return nil, fmt.Errorf("%s came compiled, and this nsh cannot read compiled chunks", c.Name)
		}
		return decodeProto(c.Proto)
	}
	p, err := compile(c.Source, c.Name)
	if err != nil {
		return nil, fmt.Errorf("recompiling %s in the child: %v", c.Name, err)
	}
	return p, nil
}

// Unship decodes a shipment: the function (nil when absent) and arguments.
func (s *Session) Unship(b []byte) (glua.LValue, []glua.LValue, error) {
	sh, err := payload.Decode(b)
	if err != nil {
		return nil, nil, err
	}
	d := &decoder{s: s, refs: map[int]glua.LValue{}}
	for _, c := range sh.Chunks {
		// rebuild each chunk once and record it, so the functions
		// rebuilt here can be shipped on to grandchildren
		p, err := unshipChunk(c)
		if err != nil {
			return nil, nil, err
		}
		s.Chunks.record(c.Source, c.Name, p, c.Proto)
		d.roots = append(d.roots, p)
	}
	for _, g := range sh.Globals {
		v, err := d.decode(g.Value)
		if err != nil {
			return nil, nil, err
		}
		s.L.SetGlobal(g.Name, v)
	}
	var fn glua.LValue = glua.LNil
	if sh.Fn.T != "" {
		v, err := d.decode(sh.Fn)
		if err != nil {
			return nil, nil, err
		}
		fn = v
	}
	var args []glua.LValue
	for _, a := range sh.Args {
		v, err := d.decode(a)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, v)
	}
	return fn, args, nil
}
