package payload

import (
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tbl := Value{T: "t", Ref: 1, K: []Value{{T: "s", S: "self"}}, V: []Value{{T: "r", Ref: 1}}}
	sh := Shipment{
		Chunks:  []Chunk{{Name: "script.lua", Source: "return function(x) return x end"}},
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
