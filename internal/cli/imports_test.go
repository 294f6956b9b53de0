package cli

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// forbidden are the imports no command may have: the SDKs and drivers that do I/O. The Factory builds those
// clients and hands commands small interfaces (DESIGN.md, "What may import what").
var forbidden = []string{
	"github.com/aws/aws-sdk-go-v2/", "github.com/go-sql-driver/mysql", "github.com/klauspost/compress/zstd",
	"gocloud.dev/", "github.com/plinth-dev/plinth/internal/sshx", "github.com/plinth-dev/plinth/internal/localcloud",
	"github.com/plinth-dev/plinth/internal/blobstore", "github.com/plinth-dev/plinth/internal/mysqlx",
}

// notYetMoved lists the commands that still import a forbidden package, with what they import; the list may
// only shrink (it is empty: the deploy verbs connect through internal/rollout and the Factory).
var notYetMoved = map[string][]string{}

func TestCommandsImportNoIOSDK(t *testing.T) {
	err := filepath.WalkDir("cmd", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			if _, none := err.(*build.NoGoError); none {
				return nil
			}
			return err
		}
		var bad []string
		for _, imp := range pkg.Imports { // non-test imports: what the binary links
			for _, f := range forbidden {
				if imp == strings.TrimSuffix(f, "/") || strings.HasPrefix(imp, f) && strings.HasSuffix(f, "/") {
					bad = append(bad, imp)
				}
			}
		}
		slices.Sort(bad)
		want := slices.Sorted(slices.Values(notYetMoved[filepath.ToSlash(dir)]))
		if !slices.Equal(bad, want) {
			t.Errorf("%s imports %v; allowed only %v (commands get clients from the Factory)", dir, bad, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
