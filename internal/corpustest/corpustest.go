// Package corpustest reads test corpora whose files name, on their first line (`# want: a b c`), what each
// case must produce.
package corpustest

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Case is one corpus file.
type Case struct {
	Name string
	Data []byte
	// Want is the first line's list, sorted.
	Want []string
}

// Load reads every file matching pattern; it fails t when there are fewer than min or a header is missing.
func Load(t *testing.T, pattern string, min int) []Case {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) < min {
		t.Fatalf("corpus %s: %d cases (want at least %d), %v", pattern, len(files), min, err)
	}
	var out []Case
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(data), "\n")
		wantLine, ok := strings.CutPrefix(first, "# want:")
		if !ok {
			t.Fatalf("%s: first line must be `# want: ...`, got %q", f, first)
		}
		want := strings.Fields(wantLine)
		sort.Strings(want)
		out = append(out, Case{Name: strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)), Data: data, Want: want})
	}
	return out
}
