package provision

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/internal/stackconfig"
)

// Request is what an engine command asks for: the stack, its flags ("" means: the environment, then the
// default) and its environment.
type Request struct {
	Stack, ProjectDir               string
	Backend, SecretsProvider, Cloud string
	PolicyPacks                     []string
	Parallel                        int
	Program                         pulumi.RunFunc
	Getenv                          func(string) string
	OnEvent                         func(Event)
	// Note receives what the operator should know (a policy pack the engine cannot run); may be nil.
	Note func(string)
}

// UnknownStackError is a stack with no config in the project (a usage error).
type UnknownStackError struct {
	Stack, Dir string
	Known      []string
}

func (e *UnknownStackError) Error() string {
	return fmt.Sprintf("--stack %s: no environments/Pulumi.%s.yaml in %s (stacks: %s)", e.Stack, e.Stack, e.Dir,
		strings.Join(e.Known, ", "))
}

// Resolve turns a Request into Options: the stack's config (stackconfig), the pulumi CLI, the policy packs
// (the project's when the engine can run it), backend/secrets/cloud from flags then $PLINTH_*, the revision.
func Resolve(ctx context.Context, r Request) (Options, error) {
	getenv := r.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	configs, err := stackconfig.All(stackconfig.Dir(r.ProjectDir))
	if err != nil {
		return Options{}, err
	}
	cfg, ok := configs[r.Stack]
	if !ok {
		known := make([]string, 0, len(configs))
		for n := range configs {
			known = append(known, n)
		}
		slices.Sort(known)
		return Options{}, &UnknownStackError{Stack: r.Stack, Dir: r.ProjectDir, Known: known}
	}
	pulumiPath, err := FindPulumi(getenv, r.ProjectDir)
	if err != nil {
		return Options{}, err
	}
	packs := r.PolicyPacks
	if len(packs) == 0 {
		packs = defaultPolicyPacks(r, pulumiPath)
	}
	return Options{
		Stack:           r.Stack,
		Program:         r.Program,
		StackConfig:     cfg,
		Home:            getenv("PLINTH_HOME"),
		Backend:         cmp.Or(r.Backend, getenv("PLINTH_BACKEND")),
		SecretsProvider: cmp.Or(r.SecretsProvider, getenv("PLINTH_SECRETS_PROVIDER")),
		Cloud:           cmp.Or(r.Cloud, getenv("PLINTH_CLOUD"), CloudAWS),
		PulumiCommand:   pulumiPath,
		PolicyPacks:     packs,
		Parallel:        r.Parallel,
		Revision:        GitRevision(ctx, r.ProjectDir, configs),
		Getenv:          getenv,
		OnEvent:         r.OnEvent,
	}, nil
}

// defaultPolicyPacks attaches the project's policy pack (policy/PulumiPolicy.yaml) to every preview and up
// when the engine can run it: a Go pack needs the Go language host (pulumi-language-go) beside the CLI or on
// PATH. Without it the pack is not attached, and a note says so.
func defaultPolicyPacks(r Request, pulumiPath string) []string {
	pack := filepath.Join(r.ProjectDir, "policy")
	if _, err := os.Stat(filepath.Join(pack, "PulumiPolicy.yaml")); err != nil {
		return nil
	}
	if !LanguageHost(pulumiPath) {
		if r.Note != nil {
			r.Note(fmt.Sprintf("policy pack %s not attached to the engine: it needs pulumi-language-go beside %s; preview and up check the same rules offline first",
				pack, pulumiPath))
		}
		return nil
	}
	return []string{pack}
}
