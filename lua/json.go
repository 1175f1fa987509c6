package lua

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"nsh/runtime/jsonval"

	glua "github.com/yuin/gopher-lua"
)

// The json module: Lua values to JSON text and back. The text itself is
// encoding/json's (runtime/jsonval); this file decides how Lua values map:
//
//   - a table whose keys are exactly 1..n is an array; any other table is an
//     object, its number keys written as strings (1 -> "1", 2.5 -> "2.5");
//     a boolean or table key is an error naming the path;
//   - an empty table is an array, [], since most empty tables in nsh's data
//     are lists (members, children, ports); json.object(t) marks a table to
//     be an object even when empty, and json.decode marks the {} it reads;
//   - a table's metatable is ignored (a view encodes its data, not the text
//     it prints as), except the mark json.object leaves;
//   - a process handle, cgroup handle, lab, lab node or DNS hub encodes as
//     an object of its fields (h.pid, h.argv, ...; a lab also its nodes by
//     name), the same names Lua reads;
//   - json.null is JSON's null, so that a null inside an array or an object
//     keeps its place (a Lua nil cannot be stored in a table);
//   - NaN and infinities, functions, coroutines and other userdata are
//     errors naming the path (.rows[2].cmd), as is a table that contains
//     itself;
//   - decoded numbers are Lua numbers (doubles): integers beyond 2^53 are
//     rounded, as in JavaScript and jq.

// jsonTypeKey is the metatable field json.object sets.
const jsonTypeKey = "__jsontype"

func (s *Session) jsonModule() *Module {
	return &Module{
		Name: "json",
		Doc: "JSON text from Lua values and back (encoding/json underneath), so nsh's data fits scripts and CI (nsh --json -e CODE prints a chunk's " +
			"results as JSON). A table with keys 1..n is an array, any other an object (number keys become strings); an empty table is []. " +
			"Views encode their data with the fields they have in Lua; process and cgroup handles, labs, nodes and DNS hubs encode their fields. " +
			"json.null stands for JSON's null (decoded nulls are json.null, so arrays keep their length). NaN, infinities, functions and cycles " +
			"are errors naming the path. Decoded numbers are doubles.",
		Funcs: []Func{
			{Name: "encode", Args: "(value, [{indent=n}])", Fn: s.jsonEncode,
				Doc: "The JSON text of a value, on one line, or indented by n spaces per level (indent=2). Object keys are sorted. " +
					"Strings go out as they are (invalid UTF-8 becomes U+FFFD).",
				Example: "print(json.encode({pid = 1, argv = {\"/bin/sh\", \"-c\", \"true\"}}))\nprint(json.encode(view.ns(), {indent = 2}))"},
			{Name: "decode", Args: "(text)", Fn: s.jsonDecode,
				Doc: "The Lua value of a JSON text: objects and arrays become tables, null becomes json.null, numbers Lua numbers. " +
					"An invalid text is an error naming its line and column.",
				Example: "local v = json.decode('{\"ifname\": \"lo\", \"mtu\": 65536, \"addr\": [null]}')\nprint(v.ifname, v.mtu, v.addr[1] == json.null)"},
			{Name: "object", Args: "([table])", Fn: s.jsonObject,
				Doc:     "Marks a table (default: a new one) to encode as a JSON object even when it is empty, and returns it.",
				Example: "print(json.encode({members = {}, labels = json.object()}))"},
		},
		Values: []Value{
			{Name: "null", V: s.jsonNull,
				Doc: "JSON's null: json.encode writes it as null, json.decode reads null as it (a Lua nil cannot be kept in a table). " +
					"Compare with v == json.null.",
				Example: "print(json.encode({1, json.null, 3}))"},
		},
	}
}

// newJSONNull makes this session's json.null: a userdata that prints as
// json.null.
func (s *Session) newJSONNull() *glua.LUserData {
	null := s.L.NewUserData()
	mt := s.L.NewTable()
	mt.RawSetString("__tostring", s.L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString("json.null"))
		return 1
	}))
	mt.RawSetString("__name", glua.LString("json.null"))
	s.L.SetMetatable(null, mt)
	return null
}

func (s *Session) jsonEncode(L *glua.LState) int {
	if L.GetTop() < 1 {
		return argErr(L, 1, "value expected")
	}
	indent := argOptions(L, 2, "indent").Int("indent", 0, 0, 16)
	text, err := s.EncodeJSON(L.Get(1), strings.Repeat(" ", indent))
	if err != nil {
		return argErr(L, 1, err.Error())
	}
	L.Push(glua.LString(text))
	return 1
}

func (s *Session) jsonDecode(L *glua.LState) int {
	text, ok := L.Get(1).(glua.LString)
	if !ok {
		argString(L, 1, "JSON text") // raises: not a string
	}
	v, err := jsonval.Decode([]byte(text))
	if err != nil {
		return argErr(L, 1, err.Error())
	}
	L.Push(s.fromJSON(v))
	return 1
}

func (s *Session) jsonObject(L *glua.LState) int {
	t, ok := L.Get(1).(*glua.LTable)
	if !ok {
		if L.Get(1) != glua.LNil {
			return argErr(L, 1, "table expected, got "+describe(L.Get(1)))
		}
		t = L.NewTable()
	}
	s.markObject(t)
	L.Push(t)
	return 1
}

// markObject records in t's metatable (made if it has none) that t is an
// object.
func (s *Session) markObject(t *glua.LTable) {
	mt, ok := s.L.GetMetatable(t).(*glua.LTable)
	if !ok {
		mt = s.L.NewTable()
		s.L.SetMetatable(t, mt)
	}
	mt.RawSetString(jsonTypeKey, glua.LString("object"))
}

// EncodeJSON is the JSON text of v (indent "" for one line), or an error
// naming the path of what JSON cannot hold.
func (s *Session) EncodeJSON(v glua.LValue, indent string) (string, error) {
	g, err := s.toJSON(v, ".", map[*glua.LTable]string{})
	if err != nil {
		return "", err
	}
	b, err := jsonval.Encode(g, indent)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// EncodeResults is what nsh --json prints for a chunk's results: nothing
// returned is null, one value is that value, several are an array.
func (s *Session) EncodeResults(vals []glua.LValue, indent string) (string, error) {
	switch len(vals) {
	case 0:
		return "null", nil
	case 1:
		return s.EncodeJSON(vals[0], indent)
	}
	t := s.L.CreateTable(len(vals), 0)
	for i, v := range vals {
		if v == glua.LNil {
			v = s.jsonNull
		}
		t.RawSetInt(i+1, v)
	}
	return s.EncodeJSON(t, indent)
}

// toJSON converts a Lua value to jsonval's plain Go values. path is where
// v is (".rows[2].cmd"), open the tables being converted and their paths.
func (s *Session) toJSON(v glua.LValue, path string, open map[*glua.LTable]string) (any, error) {
	switch v := v.(type) {
	case *glua.LNilType:
		return nil, nil
	case glua.LBool:
		return bool(v), nil
	case glua.LNumber:
		f := float64(v)
		if math.IsNaN(f) {
			return nil, fmt.Errorf("%s is NaN: JSON has no NaN or infinity", pathName(path))
		}
		if math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s is infinite: JSON has no NaN or infinity", pathName(path))
		}
		return f, nil
	case glua.LString:
		return string(v), nil
	case *glua.LTable:
		return s.tableJSON(v, path, open)
	case *glua.LUserData:
		if v == s.jsonNull {
			return nil, nil
		}
		return s.userdataJSON(v, path, open)
	}
	return nil, fmt.Errorf("%s is a %s: JSON has no %ss", pathName(path), typeName(v), typeName(v))
}

func (s *Session) tableJSON(t *glua.LTable, path string, open map[*glua.LTable]string) (any, error) {
	if at, ok := open[t]; ok {
		return nil, fmt.Errorf("%s is a cycle: the table contains itself (it is %s)", pathName(path), pathName(at))
	}
	open[t] = path
	defer delete(open, t)
	type kv struct{ k, v glua.LValue }
	var pairs []kv
	ints := 0
	t.ForEach(func(k, v glua.LValue) {
		pairs = append(pairs, kv{k, v})
		if n, ok := k.(glua.LNumber); ok && float64(n) == math.Trunc(float64(n)) && n >= 1 {
			ints++
		}
	})
	object := false
	if mt, ok := s.L.GetMetatable(t).(*glua.LTable); ok && mt.RawGetString(jsonTypeKey) == glua.LString("object") {
		object = true
	}
	if !object && ints == len(pairs) {
		// every key a positive integer: an array if they are 1..n
		arr := make([]any, len(pairs))
		isArray := true
		for _, p := range pairs {
			if int(p.k.(glua.LNumber)) > len(pairs) {
				isArray = false
				break
			}
		}
		if isArray {
			for i := range arr {
				e, err := s.toJSON(t.RawGetInt(i+1), fmt.Sprintf("%s[%d]", strings.TrimSuffix(path, "."), i+1), open)
				if err != nil {
					return nil, err
				}
				arr[i] = e
			}
			return arr, nil
		}
	}
	obj := make(map[string]any, len(pairs))
	from := map[string]glua.LValue{}
	for _, p := range pairs {
		var key string
		switch k := p.k.(type) {
		case glua.LString:
			key = string(k)
		case glua.LNumber:
			key = k.String()
		default:
			return nil, fmt.Errorf("%s has a %s key (%s): JSON object keys are strings (numbers are written as strings)", pathName(path), typeName(k), k.String())
		}
		if prev, dup := from[key]; dup {
			return nil, fmt.Errorf("%s has the keys %s and %s, both %q in JSON", pathName(path), keyText(prev), keyText(p.k), key)
		}
		from[key] = p.k
		e, err := s.toJSON(p.v, fieldPath(path, key), open)
		if err != nil {
			return nil, err
		}
		obj[key] = e
	}
	return obj, nil
}

// pathName is a path for a message: "the value" for the value itself.
func pathName(path string) string {
	if path == "." {
		return "the value"
	}
	return path
}

// keyText writes a key as Lua code would: 1, "1".
func keyText(k glua.LValue) string {
	if ks, ok := k.(glua.LString); ok {
		return fmt.Sprintf("%q", string(ks))
	}
	return k.String()
}

// fieldPath is path.key, or path["key"] for a key that is not a name.
func fieldPath(path, key string) string {
	if isIdent(key) {
		if path == "." {
			return "." + key
		}
		return path + "." + key
	}
	return fmt.Sprintf("%s[%q]", strings.TrimSuffix(path, "."), key)
}

// userdataJSON encodes one of nsh's objects as its fields (what obj.NAME
// reads in Lua), a lab also with its nodes by name.
func (s *Session) userdataJSON(ud *glua.LUserData, path string, open map[*glua.LTable]string) (any, error) {
	set, ok := s.setOf(ud)
	if !ok {
		what := "userdata"
		if mt, ok := s.L.GetMetatable(ud).(*glua.LTable); ok {
			if n, ok := mt.RawGetString("__name").(glua.LString); ok {
				what += " (" + string(n) + ")"
			}
		}
		return nil, fmt.Errorf("%s is a %s: JSON cannot hold it", pathName(path), what)
	}
	keys := append([]string(nil), set.Fields...)
	if l, ok := ud.Value.(*luaLab); ok {
		var nodes []string
		for _, n := range l.l.Nodes() {
			if !contains(keys, n.Name) {
				nodes = append(nodes, n.Name)
			}
		}
		sort.Strings(nodes)
		keys = append(keys, nodes...)
	}
	obj := map[string]any{}
	for _, k := range keys {
		v, err := s.field(ud, k)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", fieldPath(path, k), err)
		}
		if v == glua.LNil {
			continue
		}
		e, err := s.toJSON(v, fieldPath(path, k), open)
		if err != nil {
			return nil, err
		}
		obj[k] = e
	}
	return obj, nil
}

// field reads obj.key through its __index, as Lua code would.
func (s *Session) field(obj glua.LValue, key string) (v glua.LValue, err error) {
	L := s.L
	fn := L.NewFunction(func(L *glua.LState) int {
		L.Push(L.GetField(L.Get(1), key))
		return 1
	})
	top := L.GetTop()
	if err := L.CallByParam(glua.P{Fn: fn, NRet: 1, Protect: true}, obj); err != nil {
		L.SetTop(top)
		return nil, cleanError(err)
	}
	v = L.Get(-1)
	L.SetTop(top)
	return v, nil
}

// fromJSON converts a decoded value to Lua.
func (s *Session) fromJSON(v any) glua.LValue {
	switch v := v.(type) {
	case nil:
		return s.jsonNull
	case bool:
		return glua.LBool(v)
	case float64:
		return glua.LNumber(v)
	case string:
		return glua.LString(v)
	case []any:
		t := s.L.CreateTable(len(v), 0)
		for i, e := range v {
			t.RawSetInt(i+1, s.fromJSON(e))
		}
		return t
	case map[string]any:
		t := s.L.CreateTable(0, len(v))
		for k, e := range v {
			t.RawSetString(k, s.fromJSON(e))
		}
		if len(v) == 0 {
			s.markObject(t)
		}
		return t
	}
	return glua.LNil
}
