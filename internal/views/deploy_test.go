package views

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
)

func deployEvents() []deploy.Event {
	at := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	return []deploy.Event{
		{Time: at, Stack: "staging", Tier: "app", Phase: deploy.PhaseStage, Host: "app-1", Step: deploy.StepUpload, Status: deploy.StatusStart},
		{Time: at, Stack: "staging", Tier: "app", Phase: deploy.PhaseStage, Host: "app-1", Step: deploy.StepUpload, Status: deploy.StatusProgress, Bytes: 512, Total: 1024},
		{Time: at, Stack: "staging", Tier: "app", Phase: deploy.PhaseStage, Host: "app-1", Step: deploy.StepUpload, Status: deploy.StatusProgress, Bytes: 1024, Total: 1024, Message: "sent"},
		{Time: at, Stack: "staging", Tier: "app", Phase: deploy.PhaseSwitch, Host: "app-1", Step: deploy.StepHealth, Status: deploy.StatusFail, Batch: 1,
			Elapsed: deploy.Millis(1500 * time.Millisecond), Message: "status 503\nboot: cannot read config"},
	}
}

func TestDeployViewHumanWithProgressBar(t *testing.T) {
	var b bytes.Buffer
	v := NewDeployProgress(&b, FormatHuman, true)
	for _, ev := range deployEvents() {
		v.Event(ev)
	}
	got := b.String()
	for _, want := range []string{"\rupload   [###############...............] 512 B / 1.0 KiB  0/1 hosts", "\r\033[K",
		"stage    app-1          upload   ok    sent (1.0 KiB)",
		"switch   app-1          health   fail    1.5s [batch 1]  status 503\n    | boot: cannot read config"} {
		if !strings.Contains(got, want) {
			t.Fatalf("output lacks %q:\n%q", want, got)
		}
	}
}

func TestDeployViewJSONLines(t *testing.T) {
	var b bytes.Buffer
	v := NewDeployProgress(&b, FormatJSON, true)
	for _, ev := range deployEvents() {
		v.Event(ev)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[3]), &last); err != nil {
		t.Fatal(err)
	}
	if last["host"] != "app-1" || last["status"] != "fail" || last["elapsedMs"] != float64(1500) {
		t.Fatalf("%v", last)
	}
}
