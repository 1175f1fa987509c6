package kerr

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var (
	shared = Rules{{Errno: unix.ENOENT, Rule: "shared ENOENT"}, {Errno: unix.EPERM, Rule: "shared EPERM"}}
	own    = Rules{{Errno: unix.EPERM, Rule: "own EPERM"}}
)

// TestRulesFor: the first entry for an errno counts; an errno without
// one, and nil Rules, give "".
func TestRulesFor(t *testing.T) {
	both := own.Also(shared)
	for _, c := range []struct {
		r     Rules
		errno unix.Errno
		want  string
	}{
		{both, unix.EPERM, "own EPERM"},
		{both, unix.ENOENT, "shared ENOENT"},
		{both, unix.EINVAL, ""},
		{nil, unix.EPERM, ""},
		{Rules(nil).Also(shared), unix.ENOENT, "shared ENOENT"},
	} {
		if got := c.r.For(c.errno); got != c.want {
			t.Errorf("For(%v) = %q, want %q", c.errno, got, c.want)
		}
	}
}

// TestAlsoCopies: Also never writes into the backing array of either side,
// so two calls on the same table cannot see each other's entries.
func TestAlsoCopies(t *testing.T) {
	base := make(Rules, 1, 4)
	base[0] = Rule{Errno: unix.EEXIST, Rule: "base"}
	a := base.Also(Rules{{Errno: unix.EPERM, Rule: "a"}})
	b := base.Also(Rules{{Errno: unix.EPERM, Rule: "b"}})
	if a.For(unix.EPERM) != "a" || b.For(unix.EPERM) != "b" || len(base) != 1 {
		t.Fatalf("a=%v b=%v base=%v", a, b, base)
	}
}

// TestNewNamesCallErrnoRule: an errno failure reads "call: ERRNO: rule"
// and unwraps to the errno; other errors keep their text; nil stays nil.
func TestNewNamesCallErrnoRule(t *testing.T) {
	err := New(`mkdir("/x")`, unix.EPERM, own.Also(shared))
	if err.Error() != `mkdir("/x"): EPERM: own EPERM` || !errors.Is(err, unix.EPERM) {
		t.Fatalf("got %v", err)
	}
	if err := New("open(x)", unix.EINVAL, shared); err.Error() != "open(x): EINVAL" {
		t.Fatalf("no rule: got %q", err)
	}
	other := errors.New("short read")
	if err := New("read(x)", other, shared); err.Error() != "read(x): short read" || !errors.Is(err, other) {
		t.Fatalf("non-errno: got %v", err)
	}
	if New("x", nil, shared) != nil || Newf(nil, shared, "x %d", 1) != nil {
		t.Fatal("nil error became non-nil")
	}
}

// TestNoErrnoTwice: a map literal could not name an errno twice (the
// compiler refused it); a Rules literal can, and its second rule would
// never be read. This test refuses it in every Rules literal of nsh.
func TestNoErrnoTwice(t *testing.T) {
	n := 0
	for _, dir := range []string{"../../runtime", "../../lua", "../../cmd", "../../bench"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(node ast.Node) bool {
				cl, ok := node.(*ast.CompositeLit)
				if !ok || !isRulesType(cl.Type) {
					return true
				}
				n++
				seen := map[string]bool{}
				for _, el := range cl.Elts {
					r, ok := el.(*ast.CompositeLit)
					if !ok {
						continue
					}
					for _, fe := range r.Elts {
						kv, ok := fe.(*ast.KeyValueExpr)
						if !ok || kv.Key.(*ast.Ident).Name != "Errno" {
							continue
						}
						name := types.ExprString(kv.Value)
						if seen[name] {
							t.Errorf("%s: %s has two rules", fset.Position(kv.Pos()), name)
						}
						seen[name] = true
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 50 {
		t.Fatalf("found only %d Rules literals: is the walk looking in the right place?", n)
	}
}

func isRulesType(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.Name == "kerr" && x.Sel.Name == "Rules"
	case *ast.Ident:
		return x.Name == "Rules"
	}
	return false
}
