package policyeval

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/internal/stackconfig"
	"github.com/plinth-dev/plinth/policy/rules"
)

// ErrMandatory is returned when a mandatory rule is violated (exit 4).
var ErrMandatory = errors.New("mandatory policy violations")

// GateOptions say what the policy gate checks before a preview or an up.
type GateOptions struct {
	ProjectDir string
	Stack      string
	// ExplicitPacks are --policy-pack flags: the engine enforces them, the gate does not run.
	ExplicitPacks []string
	// EngineRunsPack is true when the engine can run the project's Go pack itself (pulumi-language-go).
	EngineRunsPack bool
	// Program is the Pulumi program the engine will run.
	Program pulumi.RunFunc
}

// GateReport is what the gate checked.
type GateReport struct {
	Ran        bool
	Rules      int
	Resources  int
	Violations []rules.Violation
}

// Gate enforces the project's policy rules when the engine cannot run the Go pack itself: the same rules over
// the same program and stack config, evaluated under the mock engine (stackconfig.Evaluate). A mandatory
// violation is ErrMandatory; an invalid config stackconfig.ErrInvalid. It does not run (Ran false) with
// explicit packs, without a pack in the project, when the engine runs the pack, or for an unknown stack
// (the engine options report that).
func Gate(o GateOptions) (GateReport, error) {
	var rep GateReport
	if len(o.ExplicitPacks) > 0 || o.EngineRunsPack {
		return rep, nil
	}
	if _, err := os.Stat(filepath.Join(o.ProjectDir, "policy", "PulumiPolicy.yaml")); err != nil {
		return rep, nil
	}
	if !slices.Contains(stackconfig.Names(stackconfig.Dir(o.ProjectDir)), o.Stack) {
		return rep, nil
	}
	res, _, err := stackconfig.Evaluate(stackconfig.Dir(o.ProjectDir), o.Stack, stackconfig.Exporting(o.Program))
	if err != nil {
		if errors.Is(err, stackconfig.ErrInvalid) {
			return rep, err
		}
		return rep, fmt.Errorf("policy gate: %w", err)
	}
	rep = GateReport{Ran: true, Rules: len(rules.All()), Resources: len(res.Resources), Violations: Check(res)}
	if rules.AnyMandatory(rep.Violations) {
		return rep, fmt.Errorf("stack %s: %w: nothing was previewed or applied", o.Stack, ErrMandatory)
	}
	return rep, nil
}
