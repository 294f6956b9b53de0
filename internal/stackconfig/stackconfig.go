// Package stackconfig is the one place plinth reads a stack's configuration and evaluates the program over it
// offline: `plinth preview --offline`, `plinth policy check`, `plinth validate`, the policy gate before
// preview/up, and the engine commands' options all go through it, so they agree on which file counts and on
// what "invalid" means.
package stackconfig

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

// Sentinel errors (the CLI's exit-code table maps them).
var (
	// ErrInvalid marks a stack config that does not parse or whose spec fails validation (exit 3).
	ErrInvalid = errors.New("stack config is invalid")
	// ErrBadStackName marks a stack name that cannot name a config file (exit 2).
	ErrBadStackName = errors.New("bad stack name")
)

// ProjectDir returns the project directory (the Factory's); an error means "no project dir": only the
// configs shipped inside plinth count.
type ProjectDir func() (string, error)

// File returns a stack's config document: environments/Pulumi.<stack>.yaml under the project directory when
// it exists (a user's edits count), else the copy shipped inside plinth. source says which was read.
func File(projectDir ProjectDir, stack string) (data []byte, source string, err error) {
	if strings.ContainsAny(stack, `/\`) || stack == "" || stack == "." || stack == ".." {
		return nil, "", &marked{err: fmt.Errorf("--stack %q: want a stack name such as production", stack), class: ErrBadStackName}
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

// Names lists the stacks with config under the project directory, or (when it has none) the shipped ones.
func Names(projectDir ProjectDir) []string {
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

// All reads the config of every stack Names lists, by stack name.
func All(projectDir ProjectDir) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, s := range Names(projectDir) {
		data, _, err := File(projectDir, s)
		if err != nil {
			return nil, fmt.Errorf("stack configs: %w", err)
		}
		out[s] = data
	}
	return out, nil
}

// Dir adapts a fixed directory to ProjectDir.
func Dir(dir string) ProjectDir { return func() (string, error) { return dir, nil } }

// Load reads and parses stack's config and validates its spec (every problem at once, wrapped with
// ErrInvalid). source says which file was read.
func Load(projectDir ProjectDir, stack string) (environments.StackConfig, string, error) {
	cfg, _, source, err := load(projectDir, stack)
	return cfg, source, err
}

// LoadSpec is Load returning the stack's validated spec (the drill plans from it).
func LoadSpec(projectDir ProjectDir, stack string) (environments.Spec, string, error) {
	_, spec, source, err := load(projectDir, stack)
	return spec, source, err
}

func load(projectDir ProjectDir, stack string) (environments.StackConfig, environments.Spec, string, error) {
	data, source, err := File(projectDir, stack)
	if err != nil {
		return environments.StackConfig{}, environments.Spec{}, source, err
	}
	cfg, err := environments.ParseStackFile(data)
	if err != nil {
		return cfg, environments.Spec{}, source, invalid(fmt.Errorf("%s: %w", source, err))
	}
	spec, err := environments.Load(stack, cfg.Values)
	if err != nil {
		return cfg, spec, source, invalid(fmt.Errorf("stack %s (%s): %w", stack, source, err))
	}
	return cfg, spec, source, nil
}

// marked carries a sentinel (class) without changing the message the user reads.
type marked struct{ err, class error }

func invalid(err error) error          { return &marked{err: err, class: ErrInvalid} }
func (e *marked) Error() string        { return e.err.Error() }
func (e *marked) Unwrap() error        { return e.err }
func (e *marked) Is(target error) bool { return target == e.class }
