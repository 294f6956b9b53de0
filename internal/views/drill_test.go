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
		Verify: &drill.VerifyResult{URL: "https://127.0.0.1:8443/health", Attempts: 2, Health: drill.Health{Status: "ok", Database: "ok", DatabaseRead: "primary"},
			DatabaseWrite: &drill.DatabaseWrite{Where: "drill-db", Table: "plinth_app.health", Before: "2026-12-02T17:45:00Z", At: "2026-12-02T17:45:09Z"}},
		Tables: &drill.TableMatch{Against: "production's primary", GTID: "0-1-25", Tables: 4, Rows: 2013},
		RPO:    &drill.RPO{LostBeats: 12, PrimaryGTID: "0:25", RecoveredGTID: "0:13", GTIDBehind: 12, Consistent: true, Loss: 1105 * time.Millisecond},
		Steps:  []drill.StepResult{{Name: "preflight", Seconds: 0.2, Status: "ok"}, {Name: "platform", Seconds: 0, Status: "failed", Error: "a drill-stack builder: not available"}, {Name: "teardown", Seconds: 1.5, Status: "ok"}}}
	var b bytes.Buffer
	if err := DrillReport(&b, "human", r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"drill drill-20261202T174500Z of production (source replica): INCOMPLETE", "RTO not measured (target 24h)", "RPO 1.105s (target 15m)",
		"12 heartbeats lost; GTID primary 0:25, recovered 0:13: 12 transactions behind", "platform   0.0      failed  a drill-stack builder", "left behind: 1", "database x_drill on db:3306",
		"verify: https://127.0.0.1:8443/health wrote (database ok, read from the primary) at attempt 2",
		"tables: 4 (2013 rows) match production's primary at 0-1-25 (rows and hashes)",
		`on the drill database drill-db: plinth_app.health at 2026-12-02T17:45:09Z (at its promotion: "2026-12-02T17:45:00Z")`} {
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
	for _, k := range []string{"id", "source", "rtoSeconds", "rpoSeconds", "rtoTarget", "rpoTarget", "verdict", "steps", "leftBehind", "tables"} {
		if _, ok := m[k]; !ok {
			t.Errorf("json report lacks %q", k)
		}
	}
	if v, _ := m["verify"].(map[string]any); v == nil || v["databaseWrite"].(map[string]any)["at"] != "2026-12-02T17:45:09Z" || v["health"].(map[string]any)["database"] != "ok" {
		t.Errorf("json verify %v", m["verify"])
	}
	if m["rtoSeconds"] != nil {
		t.Errorf("rtoSeconds = %v, want null", m["rtoSeconds"])
	}
	step := m["steps"].([]any)[1].(map[string]any)
	if step["name"] != "platform" || step["status"] != "failed" || step["seconds"] != 0.0 {
		t.Errorf("step %v", step)
	}
}
