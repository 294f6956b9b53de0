package drill

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/environments"
)

var update = flag.Bool("update", false, "rewrite golden files")

func production(t *testing.T) environments.Spec {
	t.Helper()
	data, err := environments.EmbeddedStackFile("production")
	if err != nil {
		t.Fatal(err)
	}
	s, err := environments.LoadFile("production", data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/drill -update writes it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (go test ./internal/drill -update rewrites it):\n%s", path, got)
	}
}

func TestPlanGolden(t *testing.T) {
	id := NewID(time.Date(2026, 12, 2, 17, 45, 0, 0, time.UTC))
	for _, c := range []struct {
		name string
		o    Options
	}{
		{"plan-replica.json", Options{ID: id, Spec: production(t)}},
		{"plan-backup-keep.json", Options{ID: id, Spec: production(t), Source: SourceBackup, BackupID: "20261201T020000Z", Keep: true}},
	} {
		p, err := NewPlan(c.o)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range p.Steps {
			names = append(names, s.Name)
		}
		if got := strings.Join(names, ","); got != "preflight,t0,data,platform,deploy,verify,report,teardown" {
			t.Errorf("%s: steps %s", c.name, got)
		}
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden(t, c.name, append(b, '\n'))
	}
}

func TestPlanRefusesEveryProblemAtOnce(t *testing.T) {
	staging := production(t)
	staging.Stack, staging.DRRegion, staging.Database.DRReplica = "staging", "", false
	staging.DR = environments.DR{RTOTarget: "soon"}
	_, err := NewPlan(Options{ID: "yesterday", Spec: staging, BackupID: "20261201T020000Z"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`drill id "yesterday"`, "--backup: only with --source backup", "plinth:spec.database.drReplica", "plinth:spec.drRegion", "plinth:spec.dr targets"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, err := NewPlan(Options{ID: NewID(time.Now()), Spec: production(t), Source: "snapshot"}); err == nil || !strings.Contains(err.Error(), "--source") {
		t.Errorf("--source snapshot: %v", err)
	}
}

func TestDrillIDs(t *testing.T) {
	id := NewID(time.Date(2026, 12, 2, 17, 45, 1, 0, time.FixedZone("x", 3600)))
	if id != "drill-20261202T164501Z" || !ValidID(id) {
		t.Errorf("NewID = %s", id)
	}
	if got := DrillSuffix(id); got != "_drill20261202t164501z" {
		t.Errorf("DrillSuffix = %s", got)
	}
	for _, bad := range []string{"", "drill-", "drill-20261202T164501", "../drill-20261202T164501Z"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}
