package payload

import (
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tbl := Value{T: "t", Ref: 1, K: []Value{{T: "s", S: "self"}}, V: []Value{{T: "r", Ref: 1}}}
	sh := Shipment{
		Chunks:  []Chunk{{Name: "script.lua", Source: "return function(x) return x end"}, {Name: "compiled.lua", Proto: []byte{1, 2, 3}}},
		Globals: []Global{{Name: "settings", Value: tbl}},
		Fn:      Value{T: "f", Ref: 2, F: &Func{Chunk: 0, Path: []int{0}, Up: []Value{{T: "b", B: true}}}},
		Args:    []Value{{T: "n", N: 42}, {T: "n", S: "inf"}, {T: "g", S: "ns.getpid"}, {T: "nil"}},
	}
	b, err := Encode(sh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sh) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, sh)
	}
	if _, err := Decode([]byte("{")); err == nil {
		t.Fatal("a truncated payload is an error")
	}
}

// TestDecodeMalformed: every truncation of a valid shipment, and bytes
// flipped in it, give an error or a shipment, never a panic; a forged
// huge length allocates nothing.
func TestDecodeMalformed(t *testing.T) {
	nested := Value{T: "nil"}
	for i := 0; i < 50; i++ {
		nested = Value{T: "t", K: []Value{{T: "n", N: float64(i)}}, V: []Value{nested}}
	}
	b, err := Encode(Shipment{Chunks: []Chunk{{Name: "x", Source: "return 1"}}, Fn: Value{T: "f", F: &Func{Path: []int{1, 2}, Up: []Value{nested}}}})
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(b); n++ {
		if _, err := Decode(b[:n]); err == nil {
			t.Fatalf("a shipment cut at %d of %d bytes decoded", n, len(b))
		}
	}
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0xff
		Decode(c) // no panic
	}
	forged := append([]byte(magic), 0xff, 0xff, 0xff, 0xff, 0x0f)
	if _, err := Decode(forged); err == nil {
		t.Fatal("a forged length decoded")
	}
}

// BenchmarkShipment is the round trip of a cloned function's payload (one
// chunk, one upvalue table) and of its results: the part of ns.clone that
// travels between the processes.
func BenchmarkShipment(b *testing.B) {
	sh := Shipment{
		Chunks: []Chunk{{Name: "script.lua", Source: "local t = {a = 1}\nreturn ns.clone('pid,uts', function() return t.a end)"}},
		Fn:     Value{T: "f", F: &Func{Path: []int{0}, Up: []Value{{T: "t", K: []Value{{T: "s", S: "a"}}, V: []Value{{T: "n", N: 1}}}}}},
	}
	for b.Loop() {
		enc, err := Encode(sh)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
