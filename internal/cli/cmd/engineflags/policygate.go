package engineflags

import (
	"context"
	"fmt"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/policyeval"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/internal/views"
)

// Gate runs the policy gate (policyeval.Gate) for stack and reports on stderr what it checked: a mandatory
// violation refuses the operation (exit 4) before the engine starts.
func Gate(ctx context.Context, env Env, stack string, fl Flags) error {
	if len(fl.PolicyPacks) > 0 {
		return nil
	}
	dir, err := env.ProjectDir()
	if err != nil {
		return fmt.Errorf("project dir: %w", err)
	}
	pulumiPath, err := provision.FindPulumi(env.getenv, dir)
	rep, err := policyeval.Gate(policyeval.GateOptions{ProjectDir: dir, Stack: stack, Program: env.Program,
		EngineRunsPack: err == nil && provision.LanguageHost(pulumiPath)})
	if rep.Ran {
		fmt.Fprintf(env.IO.ErrOut, "policy: %d rules checked offline over %d resources of %s (the engine cannot run the Go pack here)\n",
			rep.Rules, rep.Resources, stack)
		if len(rep.Violations) > 0 {
			if verr := views.Violations(env.IO.ErrOut, rep.Violations); verr != nil {
				return verr
			}
		}
	}
	return cmdutil.Coded(err)
}

// Gate runs the policy gate for this command's stack and flags.
func (c *Common) Gate(ctx context.Context) error {
	return Gate(ctx, c.env(), c.Stack, c.Engine)
}
