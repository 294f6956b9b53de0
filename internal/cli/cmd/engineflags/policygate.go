package engineflags

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/policyeval"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/internal/stackconfig"
	"github.com/plinth-dev/plinth/internal/views"
	"github.com/plinth-dev/plinth/policy/rules"
)

// Gate enforces the project's policy rules before a preview or an up when the engine cannot run the Go pack
// itself (no pulumi-language-go): the same rules over the same program and stack config, evaluated under the
// mock engine. A mandatory violation refuses the operation (exit 4) before the engine starts. With explicit
// --policy-pack flags, or when the engine attaches the project's pack, the engine enforces them instead.
func Gate(ctx context.Context, env Env, stack string, fl Flags) error {
	if len(fl.PolicyPacks) > 0 {
		return nil
	}
	dir, err := env.ProjectDir()
	if err != nil {
		return fmt.Errorf("project dir: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "policy", "PulumiPolicy.yaml")); err != nil {
		return nil // no pack in this project
	}
	if pulumiPath, err := provision.FindPulumi(env.getenv, dir); err == nil && languageHost(pulumiPath) {
		return nil // the engine runs the pack
	}
	if !slices.Contains(stackconfig.Names(stackconfig.Dir(dir)), stack) {
		return nil // Options reports the unknown stack
	}
	res, _, err := stackconfig.Evaluate(stackconfig.Dir(dir), stack, stackconfig.Exporting(env.Program))
	if err != nil {
		if errors.Is(err, stackconfig.ErrInvalid) {
			return cmdutil.Coded(err)
		}
		return fmt.Errorf("policy gate: %w", err)
	}
	vs := policyeval.Check(res)
	fmt.Fprintf(env.IO.ErrOut, "policy: %d rules checked offline over %d resources of %s (the engine cannot run the Go pack here)\n",
		len(rules.All()), len(res.Resources), stack)
	if len(vs) > 0 {
		if err := views.Violations(env.IO.ErrOut, vs); err != nil {
			return err
		}
	}
	if rules.AnyMandatory(vs) {
		return cmdutil.WithExitCode(cmdutil.ExitPolicyViolation, fmt.Errorf("stack %s: mandatory policy violations: nothing was previewed or applied", stack))
	}
	return nil
}

// Gate runs the policy gate for this command's stack and flags.
func (c *Common) Gate(ctx context.Context) error {
	return Gate(ctx, c.env(), c.Stack, c.Engine)
}

// languageHost reports whether the Go language host (needed to run a Go policy pack) is beside the Pulumi
// CLI or on PATH.
func languageHost(pulumiPath string) bool {
	if _, err := os.Stat(filepath.Join(filepath.Dir(pulumiPath), "pulumi-language-go")); err == nil {
		return true
	}
	_, err := exec.LookPath("pulumi-language-go")
	return err == nil
}
