package lua

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every option key a binding accepts (the string keys given to argOptions
// or optionsOf in the binding or a helper it calls) is named in its record's
// Args or Doc, so help() and docs/api.md list every option.
func TestEveryOptionIsDocumented(t *testing.T) {
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	keys := map[string][]string{}  // function name -> option keys it reads itself
	calls := map[string][]string{} // function name -> functions it calls
	type rec struct{ name, args, doc, fn string }
	var recs []rec
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				c, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				callee := ""
				switch fn := c.Fun.(type) {
				case *ast.Ident:
					callee = fn.Name
				case *ast.SelectorExpr:
					if x, ok := fn.X.(*ast.Ident); ok && x.Name == "s" {
						callee = fn.Sel.Name // a method of the Session
					}
				}
				calls[name] = append(calls[name], callee)
				if callee == "argOptions" || callee == "optionsOf" {
					for _, a := range c.Args {
						if bl, ok := a.(*ast.BasicLit); ok && bl.Kind == token.STRING {
							k, _ := strconv.Unquote(bl.Value)
							if k != "[argv]" {
								keys[name] = append(keys[name], k)
							}
						}
					}
				}
				return true
			})
		}
		ast.Inspect(af, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			var r rec
			for _, e := range cl.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				k, ok := kv.Key.(*ast.Ident)
				if !ok {
					continue
				}
				switch k.Name {
				case "Name", "Args", "Doc":
					v := stringOf(kv.Value)
					switch k.Name {
					case "Name":
						r.name = v
					case "Args":
						r.args = v
					case "Doc":
						r.doc = v
					}
				case "Fn", "Method":
					if sel, ok := kv.Value.(*ast.SelectorExpr); ok {
						r.fn = sel.Sel.Name
					}
				}
			}
			if r.name != "" && r.fn != "" {
				recs = append(recs, r)
			}
			return true
		})
	}
	// the keys a function reads, through the functions it calls
	var reach func(fn string, seen map[string]bool) []string
	reach = func(fn string, seen map[string]bool) []string {
		if seen[fn] {
			return nil
		}
		seen[fn] = true
		out := append([]string(nil), keys[fn]...)
		for _, c := range calls[fn] {
			out = append(out, reach(c, seen)...)
		}
		return out
	}
	checked := 0
	for _, r := range recs {
		text := r.args + " " + r.doc
		for _, k := range reach(r.fn, map[string]bool{}) {
			checked++
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(k) + `\b`).MatchString(text) {
				t.Errorf("%s (%s) accepts option %q but its Args/Doc do not name it:\n  %s", r.name, r.fn, k, r.args)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d options found: the scan is broken", checked)
	}
}

// stringOf is the value of a string literal or a + concatenation of them.
func stringOf(e ast.Expr) string {
	switch v := e.(type) {
	case *ast.BasicLit:
		s, _ := strconv.Unquote(v.Value)
		return s
	case *ast.BinaryExpr:
		return stringOf(v.X) + stringOf(v.Y)
	}
	return ""
}
