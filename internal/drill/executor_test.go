package drill_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/drill/drilltest"
)

func plan(t *testing.T, keep bool) drill.Plan {
	t.Helper()
	s, ok := environments.Defaults(environments.Production)
	if !ok {
		t.Fatal("no production defaults")
	}
	s.Stack = "production"
	s.DR = environments.DR{RTOTarget: "1h", RPOTarget: "5s"}
	p, err := drill.NewPlan(drill.Options{ID: "drill-20261202T170000Z", Spec: s, Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func statuses(r *drill.Report) string {
	var s []string
	for _, st := range r.Steps {
		s = append(s, st.Name+"="+st.Status)
	}
	return strings.Join(s, " ")
}

func TestRunMetAndMissed(t *testing.T) {
	for _, c := range []struct {
		rto, rpo time.Duration
		verdict  string
		missed   string
	}{
		{20 * time.Minute, 2 * time.Second, drill.VerdictMet, ""},
		{2 * time.Hour, 2 * time.Second, drill.VerdictMissed, "rto"},
		{20 * time.Minute, 9 * time.Second, drill.VerdictMissed, "rpo"},
	} {
		cloud := drilltest.NewCloud(c.rto, c.rpo)
		rep, err := drill.Run(context.Background(), plan(t, false), cloud.Env())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != c.verdict || strings.Join(rep.Missed, ",") != c.missed {
			t.Errorf("rto %s rpo %s: verdict %s missed %v, want %s %s", c.rto, c.rpo, rep.Verdict, rep.Missed, c.verdict, c.missed)
		}
		if *rep.RTOSeconds != c.rto.Seconds() || *rep.RPOSeconds != c.rpo.Seconds() {
			t.Errorf("rto/rpo seconds = %v/%v", *rep.RTOSeconds, *rep.RPOSeconds)
		}
		if got := statuses(rep); got != "preflight=ok t0=ok data=ok platform=ok deploy=ok verify=ok report=ok teardown=ok" {
			t.Errorf("steps: %s", got)
		}
		if rep.LeftBehind != 0 || len(cloud.Live()) != 0 || cloud.HeartbeatActive() {
			t.Errorf("left behind %d, live %v, heartbeat running %v", rep.LeftBehind, cloud.Live(), cloud.HeartbeatActive())
		}
		if h := cloud.History(); len(h) != 1 || h[0].Verdict != c.verdict {
			t.Errorf("history = %+v", h)
		}
	}
}

func TestFailedStepStillTearsDown(t *testing.T) {
	for _, step := range []string{drill.StepData, drill.StepPlatform, drill.StepDeploy, drill.StepVerify} {
		cloud := drilltest.NewCloud(time.Minute, time.Second)
		cloud.FailAt = step
		rep, err := drill.Run(context.Background(), plan(t, false), cloud.Env())
		if err == nil || !strings.Contains(err.Error(), "step "+step+": injected failure") {
			t.Errorf("%s: err = %v", step, err)
		}
		if rep.Verdict != drill.VerdictIncomplete || rep.RTOSeconds != nil {
			t.Errorf("%s: verdict %s rto %v", step, rep.Verdict, rep.RTOSeconds)
		}
		if !strings.Contains(statuses(rep), step+"=failed") || !strings.HasSuffix(statuses(rep), "report=skipped teardown=ok") {
			t.Errorf("%s: steps %s", step, statuses(rep))
		}
		if len(cloud.Live()) != 0 || rep.LeftBehind != 0 {
			t.Errorf("%s: live after teardown %v", step, cloud.Live())
		}
		if calls := cloud.Calls(); calls[len(calls)-1] != drill.StepTeardown {
			t.Errorf("%s: calls %v", step, calls)
		}
	}
}

func TestCancelledDrillTearsDownOnItsOwnContext(t *testing.T) {
	cloud := drilltest.NewCloud(time.Minute, time.Second)
	cloud.BlockAt = drill.StepDeploy
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-cloud.Blocked; cancel() }()
	rep, err := drill.Run(ctx, plan(t, false), cloud.Env())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got := statuses(rep); got != "preflight=ok t0=ok data=ok platform=ok deploy=failed verify=skipped report=skipped teardown=ok" {
		t.Errorf("steps: %s", got)
	}
	if len(cloud.Live()) != 0 || len(cloud.History()) != 1 {
		t.Errorf("live %v history %d", cloud.Live(), len(cloud.History()))
	}
}

func TestKeepAndStuckResources(t *testing.T) {
	cloud := drilltest.NewCloud(time.Minute, time.Second)
	p := plan(t, true)
	rep, err := drill.Run(context.Background(), p, cloud.Env())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Kept || !strings.Contains(rep.TeardownHint, "plinth drill teardown "+p.ID) || len(cloud.Live()) != 4 {
		t.Errorf("kept %v hint %q live %v", rep.Kept, rep.TeardownHint, cloud.Live())
	}
	// The later `plinth drill teardown ID`: idempotent, also the second time; a stuck resource is named.
	cloud.Stuck = []string{"lb/" + p.ID}
	for i := 0; i < 2; i++ {
		left, err := drill.Teardown(context.Background(), p.ID, []drill.TearDowner{cloud})
		if err != nil || len(left) != 1 || left[0] != "lb/"+p.ID {
			t.Errorf("teardown %d: left %v err %v", i, left, err)
		}
	}
	cloud.Stuck = nil
	if left, err := drill.Teardown(context.Background(), p.ID, []drill.TearDowner{cloud}); err != nil || len(left) != 0 {
		t.Errorf("final teardown: %v %v", left, err)
	}
}

func TestUnavailableStepsNameWhatIsMissing(t *testing.T) {
	cloud := drilltest.NewCloud(time.Minute, time.Second)
	env := cloud.Env()
	env.Platform, env.Deploy, env.Verify = nil, nil, nil
	rep, err := drill.Run(context.Background(), plan(t, false), env)
	if !errors.Is(err, drill.ErrUnavailable) || !strings.Contains(err.Error(), "drill-stack builder in the DR region") {
		t.Fatalf("err = %v", err)
	}
	if got := statuses(rep); got != "preflight=ok t0=ok data=ok platform=failed deploy=skipped verify=skipped report=skipped teardown=ok" {
		t.Errorf("steps: %s", got)
	}
	if rep.RPOSeconds == nil || *rep.RPOSeconds != 1 || len(cloud.Live()) != 0 {
		t.Errorf("rpo %v live %v", rep.RPOSeconds, cloud.Live())
	}
}

type brokenTeardown struct{}

func (brokenTeardown) Teardown(context.Context, string) ([]string, error) {
	return nil, errors.New("list by tag: access denied")
}

func TestTeardownThatCannotListCountsAsLeftBehind(t *testing.T) {
	cloud := drilltest.NewCloud(time.Minute, time.Second)
	env := cloud.Env()
	env.Teardown = []drill.TearDowner{cloud, brokenTeardown{}}
	rep, err := drill.Run(context.Background(), plan(t, false), env)
	if err == nil || !strings.Contains(err.Error(), "step teardown: list by tag: access denied") {
		t.Fatalf("err = %v", err)
	}
	if rep.LeftBehind != 1 || !strings.Contains(rep.LeftBehindList[0], "access denied") || len(cloud.Live()) != 0 {
		t.Errorf("left %d %v live %v", rep.LeftBehind, rep.LeftBehindList, cloud.Live())
	}
	if last := rep.Steps[len(rep.Steps)-1]; last.Status != drill.StatusFailed {
		t.Errorf("teardown step %+v", last)
	}
}
