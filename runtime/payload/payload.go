// Package payload is the wire format of work shipped to a re-executed nsh
// child (a Lua function with its upvalues and arguments) and of the values it
// sends back: a tree of plain values, encoded as JSON. It knows nothing of
// Lua: lua/ship.go turns Lua values into these and back.
package payload

import (
	"encoding/json"
	"fmt"
)

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

// Chunk is the source of a compiled chunk, recompiled in the child.
type Chunk struct {
	Name   string `json:"name"`
	Source string `json:"src"`
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

// Encode is the bytes of sh.
func Encode(sh Shipment) ([]byte, error) { return json.Marshal(sh) }

// Decode reads what Encode wrote.
func Decode(b []byte) (Shipment, error) {
	var sh Shipment
	if err := json.Unmarshal(b, &sh); err != nil {
		return Shipment{}, fmt.Errorf("reading shipped values: %v", err)
	}
	return sh, nil
}
