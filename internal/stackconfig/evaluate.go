package stackconfig

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/stacks"
)

// Evaluate loads stack's config, validates it (ErrInvalid, every problem at once) and evaluates program over
// it under the mock engine: the one offline evaluation behind preview --offline, policy check and the policy
// gate. source says which config file was read.
func Evaluate(projectDir ProjectDir, stack string, program offline.Program) (*offline.Result, string, error) {
	cfg, source, err := Load(projectDir, stack)
	if err != nil {
		return nil, source, err
	}
	res, err := offline.Evaluate(environments.Project, stack, cfg.Values, cfg.Secret, program)
	if err != nil {
		if len(environments.Problems(err)) > 0 {
			return nil, source, invalid(err)
		}
		return nil, source, err
	}
	return res, source, nil
}

// Exporting adapts a program that exports with ctx.Export only (pulumi.RunFunc) to offline.Program.
func Exporting(program pulumi.RunFunc) offline.Program {
	return func(ctx *pulumi.Context) (pulumi.Map, error) { return nil, program(ctx) }
}

// EvaluateStack is Evaluate over plinth's own program (stacks.Run): preview --offline and policy check.
func EvaluateStack(projectDir func() (string, error), stack string) (*offline.Result, string, error) {
	return Evaluate(projectDir, stack, stacks.Run)
}
