// Package goldentest compares what a test produced with a golden file under the test package's testdata/
// directory. The test package owns its -update flag (`var update = flag.Bool("update", false, ...)`) and
// passes its value, so this package holds no state.
package goldentest

import (
	"os"
	"path/filepath"
	"testing"
)

// Check fails t when got differs from testdata/name; with update it first (re)writes the file.
func Check(t testing.TB, update bool, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", path, got)
	}
}
