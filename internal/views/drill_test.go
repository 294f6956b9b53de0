package views

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/drill"
)

func TestDrillReportHumanAndJSON(t *testing.T) {
	rpo := 1.105
	r := &drill.Report{ID: "drill-20261202T174500Z", Stack: "production", Source: "replica", RPOSeconds: &rpo,
		RTOTarget: "24h", RPOTarget: "15m", Verdict: drill.VerdictIncomplete, LeftBehind: 1, LeftBehindList: []string{"database x_drill on db:3306"},
		RPO:   &drill.RPO{LostBeats: 12, PrimaryGTID: "0:25", RecoveredGTID: "0:13", GTIDBehind: 12, Consistent: true, Loss: 1105 * time.Millisecond},
		Steps: []drill.StepResult{{Name: "preflight", Seconds: 0.2, Status: "ok"}, {Name: "platform", Seconds: 0, Status: "failed", Error: "a drill-stack builder: not available"}, {Name: "teardown", Seconds: 1.5, Status: "ok"}}}
	var b bytes.Buffer
	if err := DrillReport(&b, "human", r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"drill drill-20261202T174500Z of production (source replica): INCOMPLETE", "RTO not measured (target 24h)", "RPO 1.105s (target 15m)",
		"12 heartbeats lost; GTID primary 0:25, recovered 0:13: 12 transactions behind", "platform   0.0      failed  a drill-stack builder", "left behind: 1", "database x_drill on db:3306"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("human report lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := DrillReport(&b, "json", r); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "source", "rtoSeconds", "rpoSeconds", "rtoTarget", "rpoTarget", "verdict", "steps", "leftBehind"} {
		if _, ok := m[k]; !ok {
			t.Errorf("json report lacks %q", k)
		}
	}
	if m["rtoSeconds"] != nil {
		t.Errorf("rtoSeconds = %v, want null", m["rtoSeconds"])
	}
	step := m["steps"].([]any)[1].(map[string]any)
	if step["name"] != "platform" || step["status"] != "failed" || step["seconds"] != 0.0 {
		t.Errorf("step %v", step)
	}
}
