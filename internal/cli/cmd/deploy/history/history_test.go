package history

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared/sharedtest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy"
)

func TestHistoryFiltersStackAndTier(t *testing.T) {
	env := sharedtest.New(t, 1)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	for i, r := range []deploy.AuditRecord{
		{Stack: "staging", Tier: "app", Action: "deploy", Version: "v1", Result: "succeeded", Holder: "alice"},
		{Stack: "production", Tier: "app", Action: "deploy", Version: "v1", Result: "succeeded", Holder: "bob"},
		{Stack: "staging", Tier: "worker", Action: "deploy", Version: "w1", Result: "failed", Holder: "carol", Error: "deploy worker-1: health: ..."},
	} {
		r.Time = at.Add(time.Duration(i) * time.Minute)
		if err := env.State.Audit(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	io, _, out, _ := iostreams.Test()
	opts := &HistoryOptions{IO: io, Connect: env.Connect(), Limit: 10}
	opts.Flags.Stack = "staging"
	if err := historyRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Count(s, "\n") != 2 || strings.Contains(s, "bob") || !strings.Contains(s, "error: deploy worker-1") {
		t.Fatalf("history:\n%s", s)
	}
	out.Reset()
	opts.Tier, opts.Flags.Output = "app", cmdutil.OutputJSON
	if err := historyRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, `"holder": "alice"`) || strings.Contains(s, "carol") {
		t.Fatalf("json:\n%s", s)
	}
}
