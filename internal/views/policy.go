package views

import (
	"io"

	"github.com/plinth-dev/plinth/policy/rules"
)

// PolicyReport is the data of `plinth policy check`.
type PolicyReport struct {
	Stack      string            `json:"stack"`
	Rules      int               `json:"rules"`
	Resources  int               `json:"resources"`
	Mandatory  int               `json:"mandatory"`
	Advisory   int               `json:"advisory"`
	Violations []rules.Violation `json:"violations"`
}

// NewPolicyReport counts violations by level.
func NewPolicyReport(stack string, nRules, nResources int, vs []rules.Violation) *PolicyReport {
	r := &PolicyReport{Stack: stack, Rules: nRules, Resources: nResources, Violations: vs}
	if r.Violations == nil {
		r.Violations = []rules.Violation{}
	}
	for _, v := range vs {
		if v.Level == rules.Mandatory {
			r.Mandatory++
		} else {
			r.Advisory++
		}
	}
	return r
}

// PolicyCheck renders a policy report in format (--output).
func PolicyCheck(w io.Writer, format string, r *PolicyReport) error {
	return Render(w, format, r, func(w io.Writer) error { return policyHuman(w, r) })
}

func policyHuman(w io.Writer, r *PolicyReport) error {
	ew := &errWriter{w: w}
	ew.printf("Policy check of stack %s: %d rules over %d resources\n\n", r.Stack, r.Rules, r.Resources)
	if ew.err == nil {
		ew.err = Violations(w, r.Violations)
	}
	return ew.err
}

// Violations lists violations, or says there are none.
func Violations(w io.Writer, vs []rules.Violation) error {
	ew := &errWriter{w: w}
	if len(vs) == 0 {
		ew.printf("Policy: no violations.\n")
		return ew.err
	}
	mandatory := 0
	for _, v := range vs {
		if v.Level == rules.Mandatory {
			mandatory++
		}
		ew.printf("✗ [%s] %s\n    resource: %s\n    problem:  %s\n    fix:      %s\n", v.Level, v.Rule, v.Resource, v.Message, v.Fix)
	}
	ew.printf("\nPolicy: %d violation(s), %d mandatory.\n", len(vs), mandatory)
	return ew.err
}
