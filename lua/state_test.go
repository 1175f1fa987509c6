package lua

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// pendingState is package-level state in lua/ that its owner is moving into
// the Session (issue 8); an entry whose state is gone is reported so the
// entry can go too.
var pendingState = map[string]string{}

// TestNoPackageState checks the rule that all state lives in the Session:
// no file of package lua has an init function, and no function writes a
// package-level variable (assigns it, stores into it, appends to it or
// deletes from it). Read-only tables (method records, option docs) are fine.
func TestNoPackageState(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	pkgVars := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, af)
		for _, d := range af.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, sp := range g.Specs {
					for _, n := range sp.(*ast.ValueSpec).Names {
						pkgVars[n.Name] = true
					}
				}
			}
		}
	}
	found := map[string]token.Position{}
	for _, af := range parsed {
		file := filepath.Base(fset.Position(af.Pos()).Filename)
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if fd.Recv == nil && fd.Name.Name == "init" {
				found["init in "+file] = fset.Position(fd.Pos())
			}
			ast.Inspect(fd, func(n ast.Node) bool {
				var targets []ast.Expr
				switch n := n.(type) {
				case *ast.AssignStmt:
					if n.Tok != token.DEFINE {
						targets = n.Lhs
					}
				case *ast.IncDecStmt:
					targets = []ast.Expr{n.X}
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "delete" && len(n.Args) > 0 {
						targets = n.Args[:1]
					}
				}
				for _, e := range targets {
					if name := rootIdent(e); pkgVars[name] && name != "_" {
						found[name+" in "+file] = fset.Position(e.Pos())
					}
				}
				return true
			})
		}
	}
	var keys []string
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if owner, ok := pendingState[k]; ok {
			t.Logf("pending (%s): %s at %s", owner, k, found[k])
			continue
		}
		t.Errorf("package-level state: %s at %s (keep it in the Session)", k, found[k])
	}
	for k := range pendingState {
		if _, ok := found[k]; !ok {
			t.Logf("%s is gone: drop it from pendingState", k)
		}
	}
}

// rootIdent is the variable an assignment target writes: x in x, x[k],
// x.f, (*x).f (a local named like a package variable counts too: rename it); "" for anything else.
func rootIdent(e ast.Expr) string {
	for {
		switch v := e.(type) {
		case *ast.Ident:
			return v.Name
		case *ast.IndexExpr:
			e = v.X
		case *ast.SelectorExpr:
			e = v.X
		case *ast.StarExpr:
			e = v.X
		case *ast.ParenExpr:
			e = v.X
		default:
			return ""
		}
	}
}
