package lua

import (
	"fmt"
	"os"
	"strings"

	"nsh/runtime/payload"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// ChunkStore keeps the source of every chunk nsh compiles, so a function
// defined in any of them can be rebuilt in a child process: compiling the
// same source gives the same prototypes, and a function is found again by
// the path of indexes from the chunk's main prototype to its own.
type ChunkStore struct {
	chunks []*chunk
	where  map[*glua.FunctionProto]protoPlace
}

type chunk struct {
	Name   string
	Source string // "" in a child, which got the chunk compiled
	root   *glua.FunctionProto
	wire   []byte // root encoded for a child (protowire.go), made on first use
}

// shipped is how the chunk travels to a child: compiled, so that the child
// does not parse and compile the whole chunk again for one function, or
// as source where this gopher-lua's prototypes cannot be written.
func (c *chunk) shipped() payload.Chunk {
	if c.wire == nil && protoWireOK() {
		if b, err := encodeProto(c.root); err == nil {
			c.wire = b
		}
	}
	if c.wire != nil {
		return payload.Chunk{Name: c.Name, Proto: c.wire}
	}
	return payload.Chunk{Name: c.Name, Source: c.Source}
}

type protoPlace struct {
	chunk int
	path  []int
}

// Compile parses and compiles src, records it, and returns the main function.
func (c *ChunkStore) Compile(L *glua.LState, src, name string) (*glua.LFunction, error) {
	proto, err := compile(src, name)
	if err != nil {
		return nil, err
	}
	c.record(src, name, proto, nil)
	return L.NewFunctionFromProto(proto), nil
}

func compile(src, name string) (*glua.FunctionProto, error) {
	ast, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, fmt.Errorf("%s", strings.TrimSpace(err.Error()))
	}
	proto, err := glua.Compile(ast, name)
	if err != nil {
		return nil, err
	}
	return proto, nil
}

// record keeps a compiled chunk (wire: its encoded prototypes when it
// came from a parent that way, else nil) and where each prototype is in it.
func (c *ChunkStore) record(src, name string, root *glua.FunctionProto, wire []byte) {
	if c.where == nil {
		c.where = map[*glua.FunctionProto]protoPlace{}
	}
	idx := len(c.chunks)
	c.chunks = append(c.chunks, &chunk{Name: name, Source: src, root: root, wire: wire})
	var walk func(p *glua.FunctionProto, path []int)
	walk = func(p *glua.FunctionProto, path []int) {
		c.where[p] = protoPlace{chunk: idx, path: append([]int(nil), path...)}
		for i, sub := range p.FunctionPrototypes {
			walk(sub, append(path, i))
		}
	}
	walk(root, nil)
}

// place finds where a prototype came from.
func (c *ChunkStore) place(p *glua.FunctionProto) (protoPlace, bool) {
	pl, ok := c.where[p]
	return pl, ok
}

// installLoaders replaces load, loadstring, loadfile, dofile and require's
// Lua searcher with versions that record their chunks.
func (s *Session) installLoaders() {
	L := s.L
	loadSrc := func(L *glua.LState, src, name string) int {
		fn, err := s.Chunks.Compile(L, src, name)
		if err != nil {
			L.Push(glua.LNil)
			L.Push(glua.LString(err.Error()))
			return 2
		}
		L.Push(fn)
		return 1
	}
	L.SetGlobal("loadstring", L.NewFunction(func(L *glua.LState) int {
		src := L.CheckString(1)
		return loadSrc(L, src, L.OptString(2, "(loadstring)"))
	}))
	L.SetGlobal("load", L.NewFunction(func(L *glua.LState) int {
		name := L.OptString(2, "(load)")
		switch v := L.Get(1).(type) {
		case glua.LString:
			return loadSrc(L, string(v), name)
		case *glua.LFunction:
			var b strings.Builder
			for i := 0; i < 1<<20; i++ {
				L.Push(v)
				L.Call(0, 1)
				piece := L.Get(-1)
				L.Pop(1)
				ps, ok := piece.(glua.LString)
				if !ok || ps == "" {
					break
				}
				b.WriteString(string(ps))
			}
			return loadSrc(L, b.String(), name)
		}
		argErr(L, 1, "string or function expected, got "+typeName(L.Get(1)))
		return 0
	}))
	loadFile := func(L *glua.LState, path string) (*glua.LFunction, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return s.Chunks.Compile(L, stripShebang(string(b)), path)
	}
	L.SetGlobal("loadfile", L.NewFunction(func(L *glua.LState) int {
		fn, err := loadFile(L, L.CheckString(1))
		if err != nil {
			L.Push(glua.LNil)
			L.Push(glua.LString(err.Error()))
			return 2
		}
		L.Push(fn)
		return 1
	}))
	L.SetGlobal("dofile", L.NewFunction(func(L *glua.LState) int {
		fn, err := loadFile(L, L.CheckString(1))
		if err != nil {
			raiseLua(L, err)
		}
		top := L.GetTop()
		L.Push(fn)
		L.Call(0, glua.MultRet)
		return L.GetTop() - top
	}))
	if pkg, ok := L.GetGlobal("package").(*glua.LTable); ok {
		if loaders, ok := pkg.RawGetString("loaders").(*glua.LTable); ok {
			loaders.RawSetInt(2, L.NewFunction(func(L *glua.LState) int {
				name := L.CheckString(1)
				ppath, _ := pkg.RawGetString("path").(glua.LString)
				var tried []string
				for _, pat := range strings.Split(string(ppath), ";") {
					f := strings.ReplaceAll(pat, "?", strings.ReplaceAll(name, ".", "/"))
					if _, err := os.Stat(f); err != nil {
						tried = append(tried, "\n\tno file '"+f+"'")
						continue
					}
					fn, err := loadFile(L, f)
					if err != nil {
						raiseLua(L, err)
					}
					L.Push(fn)
					return 1
				}
				L.Push(glua.LString(strings.Join(tried, "")))
				return 1
			}))
		}
	}
}

// stripShebang blanks a first line starting with "#" (keeping line numbers).
func stripShebang(src string) string {
	if strings.HasPrefix(src, "#") {
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			return "--" + src[i:]
		}
		return ""
	}
	return src
}

// StripShebang is stripShebang for the script runner.
func StripShebang(src string) string { return stripShebang(src) }
