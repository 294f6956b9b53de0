package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// stateChecked are the trees whose packages may hold no mutable package-level state (DESIGN.md): the CLI,
// and the domain packages this issue shaped.
var stateChecked = []string{"internal/cli", "internal/views", "internal/stackconfig", "internal/provision",
	"internal/localcloud", "internal/cloud", "internal/backup/target"}

// immutableVar reports whether a package-level var is state in name only: a sentinel error, a compiled
// regular expression, or the version the linker stamps.
func immutableVar(name string, value ast.Expr) bool {
	if name == "Version" {
		return true
	}
	call, ok := value.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, _ := sel.X.(*ast.Ident)
	return pkg != nil && (pkg.Name == "errors" && sel.Sel.Name == "New" || pkg.Name == "regexp" && sel.Sel.Name == "MustCompile")
}

// TestNoMutablePackageState: no package-level var other than sentinel errors and compiled regexps, so
// commands and tests cannot leak state into each other (dependencies go through the Factory and Options).
func TestNoMutablePackageState(t *testing.T) {
	fset := token.NewFileSet()
	files := 0
	for _, root := range stateChecked {
		err := filepath.WalkDir(filepath.Join(repoRoot, root), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			if strings.Contains(filepath.ToSlash(path), "internal/localcloud/live/") {
				return nil // the live local cloud's own brief
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files++
			for _, decl := range f.Decls {
				gen, ok := decl.(*ast.GenDecl)
				if !ok || gen.Tok != token.VAR {
					continue
				}
				for _, spec := range gen.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						var value ast.Expr
						if i < len(vs.Values) {
							value = vs.Values[i]
						}
						if name.Name != "_" && !immutableVar(name.Name, value) {
							t.Errorf("%s: package-level var %s is mutable state (make it a const, a func, or a Factory/Options field)", fset.Position(name.Pos()), name.Name)
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 50 {
		t.Fatalf("only %d files checked", files)
	}
}
