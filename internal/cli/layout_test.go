package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// repoRoot is the repository's root, seen from this package's directory (where go test runs).
const repoRoot = "../.."

// notYetCreated are paths the README's layout names before they exist: the package another change of the same
// issue creates. The lead removes an entry once that change is merged (the test says when).
var notYetCreated = map[string]string{}

func layoutSection(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Layout\n")
	if !ok {
		t.Fatal("README has no '## Layout' section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// TestREADMELayoutFindsEveryCommand: a newcomer finds every command in the README's layout section, with the
// place its work happens, in one hop — every runnable command path of the tree appears there (as `path`), and every
// repository path the section names exists.
func TestREADMELayoutFindsEveryCommand(t *testing.T) {
	section := layoutSection(t)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			path := strings.TrimPrefix(sub.CommandPath(), "plinth ")
			if sub.Runnable() && !strings.Contains(section, "`"+path+"`") {
				t.Errorf("README layout does not name `%s` (add a row: the command, its package, where its work happens)", path)
			}
			if sub.Name() != "completion" { // cobra's generated shells
				walk(sub)
			}
		}
	}
	walk(NewCmdRoot(testFactory(t, repoRoot, nil)))

	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(section, -1) {
		named[m[1]] = true
	}
	_, block, _ := strings.Cut(section, "```\n")
	block, _, _ = strings.Cut(block, "```")
	for _, line := range strings.Split(block, "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(line, " ") {
			named[strings.TrimSuffix(f[0], ",")] = true
		}
	}
	checked := 0
	for p := range named {
		if !strings.Contains(p, "/") || strings.ContainsAny(p, "<>* ") || strings.Contains(p, "...") || strings.Contains(p, "://") {
			continue
		}
		p = strings.TrimSuffix(p, "/")
		checked++
		if why, ok := notYetCreated[p]; ok {
			if exists(p) {
				t.Errorf("%s exists now: remove it from notYetCreated (%s)", p, why)
			}
			continue
		}
		// cmd/<noun>/<verb> in the middle column is relative to internal/cli.
		if !exists(p) && !(strings.HasPrefix(p, "cmd/") && exists(filepath.Join("internal/cli", p))) {
			t.Errorf("README layout names %s, which does not exist", p)
		}
	}
	if checked < 30 {
		t.Errorf("only %d paths found in the layout section: is the parsing broken?", checked)
	}
}

func exists(p string) bool {
	_, err := os.Stat(filepath.Join(repoRoot, p))
	return err == nil
}

// maxLines is the size above which a Go file is two (DESIGN.md: "Files under ~450 lines").
const maxLines = 450

// TestNoGoFileOverMaxLines: no non-test Go file in the repository is over maxLines lines.
func TestNoGoFileOverMaxLines(t *testing.T) {
	n := 0
	err := filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "node_modules", "vendor":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if lines := strings.Count(string(data), "\n"); lines > maxLines {
			rel, _ := filepath.Rel(repoRoot, path)
			t.Errorf("%s has %d lines (max %d): split it along its concerns", rel, lines, maxLines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("only %d Go files found under %s", n, repoRoot)
	}
}
