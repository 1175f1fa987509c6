// Package jsonval turns plain Go values into JSON text and back with the
// standard library's encoding/json, in the shape nsh's json module needs:
// values are nil, bool, float64, string, []any and map[string]any (numbers
// are doubles, the only number Lua 5.1 has); text is not HTML-escaped (so
// "<" stays "<", as in ip -j); a syntax error names its line and column.
// It knows nothing of Lua: lua/json.go converts Lua values to these and back.
package jsonval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Encode writes v as JSON; indent "" gives one line, "  " two spaces per
// level. Object keys come out sorted.
func Encode(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Decode reads one JSON value (surrounding white space allowed, nothing
// else). Numbers become float64; one out of a double's range is an error,
// and integers beyond 2^53 are rounded to the nearest double (as in
// JavaScript and jq).
func Decode(text []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, position(text, err)
	}
	off := d.InputOffset()
	if _, err := d.Token(); err != io.EOF {
		rest := text[off:]
		off += int64(len(rest) - len(bytes.TrimLeft(rest, " \t\r\n")))
		line, col := lineCol(text, off+1)
		return nil, fmt.Errorf("line %d, column %d: more text after the JSON value", line, col)
	}
	return numbers(v)
}

// numbers replaces json.Number by float64 throughout.
func numbers(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s is out of the range of a Lua number (a double)", v)
		}
		return f, nil
	case []any:
		for i, e := range v {
			n, err := numbers(e)
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
	case map[string]any:
		for k, e := range v {
			n, err := numbers(e)
			if err != nil {
				return nil, err
			}
			v[k] = n
		}
	}
	return v, nil
}

// position rewrites encoding/json's errors with a line and column.
func position(text []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(text, se.Offset)
		return fmt.Errorf("line %d, column %d: %v", line, col, se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		line, col := lineCol(text, int64(len(text)))
		if len(bytes.TrimSpace(text)) == 0 {
			return fmt.Errorf("no JSON value (the text is empty)")
		}
		return fmt.Errorf("line %d, column %d: the JSON text ends too early", line, col)
	}
	return err
}

// lineCol is the 1-based line and column of byte offset off (the byte
// encoding/json complains about is the one before it).
func lineCol(text []byte, off int64) (int, int) {
	if off > int64(len(text)) {
		off = int64(len(text))
	}
	before := text[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n') - 1
	return line, max(col, 1)
}
