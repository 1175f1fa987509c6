package lua

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// protoSources are every bundled script, the examples of docs/, and
// constructs the scripts may not have: varargs, methods, goto-free loops
// of every kind, nested closures, folded constants, long strings.
func protoSources(t *testing.T) map[string]string {
	srcs := map[string]string{
		"constructs": `
			local t = {1, 2, x = "y", [3] = {z = true}}
			function t:m(...) local a, b = ... return self, a, b, select('#', ...) end
			local function outer(n)
				local acc = 0
				for i = 1, n do acc = acc + i end
				for k, v in pairs(t) do acc = acc + #tostring(k) end
				while acc > 100 do acc = acc - 7 end
				repeat acc = acc + 1 until acc % 3 == 0
				return function(x) return function() return acc + x, -0.0, 2^10, 7 % 3, "a" .. "b" end end
			end
			local s = [[long
			string]] .. [==[ with ]] inside ]==]
			return outer(5)(1)(), t:m(1, 2, 3), s, not nil, 1e308 * 10`,
	}
	root := filepath.Join("..", "scripts")
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".lua") {
			b, err := os.ReadFile(filepath.Join(root, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			srcs[e.Name()] = stripShebang(string(b))
		}
	}
	if len(srcs) < 20 {
		t.Fatalf("only %d sources: where are scripts/?", len(srcs))
	}
	return srcs
}

// TestProtoWireRoundTrip: a chunk's prototypes come back from their bytes
// exactly as gopher-lua's compiler made them, unexported fields included
// (reflect.DeepEqual compares those too: a gopher-lua with a new field
// fails here, not in a child).
func TestProtoWireRoundTrip(t *testing.T) {
	if !protoWireOK() {
		t.Fatal("this gopher-lua's FunctionProto has no stringConstants []string: chunks would travel as source (update protowire.go)")
	}
	for name, src := range protoSources(t) {
		p, err := compile(src, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := encodeProto(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := decodeProto(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("%s: the prototypes changed on the way:\n got %v\nwant %v", name, got, p)
		}
	}
}

// A folded 0/0 is a NaN constant, which DeepEqual cannot compare: its bits
// come back, and the rebuilt function runs as the compiled one does.
func TestProtoWireNaNAndRun(t *testing.T) {
	p, err := compile(`local n = 0/0 return n ~= n, 1/0, -(0/0) ~= 0`, "nan")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := encodeProto(p)
	got, err := decodeProto(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Constants {
		if math.Float64bits(float64(c.(glua.LNumber))) != math.Float64bits(float64(got.Constants[i].(glua.LNumber))) {
			t.Fatalf("constant %d: %v came back as %v", i, c, got.Constants[i])
		}
	}
	L := glua.NewState()
	defer L.Close()
	L.Push(L.NewFunctionFromProto(got))
	L.Call(0, 3)
	if L.Get(1) != glua.LTrue || L.Get(2) != glua.LNumber(math.Inf(1)) || L.Get(3) != glua.LTrue {
		t.Fatalf("the rebuilt chunk returned %v %v %v", L.Get(1), L.Get(2), L.Get(3))
	}
}

// Every truncation of a chunk's bytes, and bytes changed in it, give an
// error or prototypes, never a panic; a forged count allocates nothing big.
func TestProtoWireMalformed(t *testing.T) {
	p, err := compile(protoSources(t)["constructs"], "c")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := encodeProto(p)
	for i := 0; i < len(b); i++ {
		if _, err := decodeProto(b[:i]); err == nil {
			t.Fatalf("%d of %d bytes decoded without an error", i, len(b))
		}
	}
	for i := 0; i < len(b); i++ {
		c := append([]byte(nil), b...)
		c[i] ^= 0xff
		decodeProto(c) // must not panic
	}
	deep := []byte{}
	for i := 0; i < 2*maxProtoDepth; i++ {
		deep = append(deep, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1) // no name, lines 0 and 0, 4 bytes, no code, no constants, one prototype
	}
	if _, err := decodeProto(deep); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("prototypes nested %d deep: %v", 2*maxProtoDepth, err)
	}
}
