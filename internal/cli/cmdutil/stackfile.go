package cmdutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/plinth-dev/plinth/environments"
)

// StackFile returns a stack's config document: environments/Pulumi.<stack>.yaml under the project directory
// when it exists (a user's edits count), else the copy shipped inside plinth. source says which was read.
func StackFile(projectDir func() (string, error), stack string) (data []byte, source string, err error) {
	if strings.ContainsAny(stack, `/\`) || stack == "" || stack == "." || stack == ".." {
		return nil, "", FlagErrorf("--stack %q: want a stack name such as production", stack)
	}
	if projectDir != nil {
		if dir, err := projectDir(); err == nil {
			path := filepath.Join(dir, "environments", "Pulumi."+stack+".yaml")
			data, err := os.ReadFile(path)
			switch {
			case err == nil:
				return data, path, nil
			case !errors.Is(err, fs.ErrNotExist):
				return nil, path, fmt.Errorf("read stack config %s: %w", path, err)
			}
		}
	}
	data, err = environments.EmbeddedStackFile(stack)
	if err != nil {
		return nil, "", err
	}
	return data, "built-in environments/Pulumi." + stack + ".yaml", nil
}

// StackNames lists the stacks with config under the project directory, or the shipped ones.
func StackNames(projectDir func() (string, error)) []string {
	if projectDir != nil {
		if dir, err := projectDir(); err == nil {
			matches, _ := filepath.Glob(filepath.Join(dir, "environments", "Pulumi.*.yaml"))
			var out []string
			for _, m := range matches {
				out = append(out, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "Pulumi."), ".yaml"))
			}
			if len(out) > 0 {
				sort.Strings(out)
				return out
			}
		}
	}
	return environments.Stacks()
}
