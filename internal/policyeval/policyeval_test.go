package policyeval

import (
	"testing"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/stacks"
)

func TestShippedStacksPass(t *testing.T) {
	for _, stack := range environments.Stacks() {
		data, _ := environments.EmbeddedStackFile(stack)
		cfg, _ := environments.ParseStackFile(data)
		res, err := offline.Evaluate(environments.Project, stack, cfg.Values, cfg.Secret, stacks.Run)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range Check(res) {
			t.Errorf("%s: [%s] %s %s: %s", stack, v.Level, v.Rule, v.Resource, v.Message)
		}
	}
}
