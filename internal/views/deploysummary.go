package views

import (
	"errors"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
)

// SummarizeDeploy turns a deploy session's outcome (deploy or rollback) into the rendered result.
func SummarizeDeploy(action string, p *deploy.Plan, outs []*deploy.Outcome, err error) DeployResult {
	r := DeployResult{Stack: p.Stack, Tier: p.Tier, Version: p.Version, Action: action, Result: "succeeded", Switched: []string{}}
	if len(outs) > 0 && outs[0] != nil {
		o := outs[0]
		r.BytesSent, r.ElapsedMs = o.BytesSent, time.Duration(o.Elapsed).Milliseconds()
		if o.Switched != nil {
			r.Switched = o.Switched
		}
		r.RolledBack = o.RolledBack
	}
	if err != nil {
		r.Result, r.Error = "failed", err.Error()
		var he *deploy.HostError
		if errors.As(err, &he) {
			r.FailedHost = he.Host
		}
		var le *deploy.LockedError
		if errors.As(err, &le) {
			r.Result = "locked"
		}
	}
	return r
}
