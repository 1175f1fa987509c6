package jsonval

import (
	"math"
	"strings"
	"testing"
)

func TestEncode(t *testing.T) {
	v := map[string]any{"b": []any{1.0, 2.5, "<x>"}, "a": nil, "c": true, "big": 4026531835.0}
	b, err := Encode(v, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":null,"b":[1,2.5,"<x>"],"big":4026531835,"c":true}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	b, _ = Encode([]any{1.0}, "  ")
	if string(b) != "[\n  1\n]" {
		t.Errorf("indented: %q", b)
	}
	if _, err := Encode(math.NaN(), ""); err == nil {
		t.Error("NaN encoded")
	}
}

func TestDecode(t *testing.T) {
	v, err := Decode([]byte(` {"a": [1, null, "x", {"b": false}], "n": 1e3} `))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	a := m["a"].([]any)
	if a[0] != 1.0 || a[1] != nil || a[2] != "x" || a[3].(map[string]any)["b"] != false || m["n"] != 1000.0 {
		t.Errorf("decoded %#v", v)
	}
	for _, c := range []struct{ in, want string }{
		{"{\n  \"a\": 1,\n  \"b\": x\n}", "line 3, column 8: invalid character 'x'"},
		{`[1, 2`, "line 1, column 5: the JSON text ends too early"},
		{``, "no JSON value"},
		{`1 2`, "line 1, column 3: more text after the JSON value"},
		{`1e400`, "number 1e400 is out of the range"},
	} {
		_, err := Decode([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Decode(%q): %v, want %q", c.in, err, c.want)
		}
	}
}
