package retention_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup/retention"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// A case file: a policy, a clock, and a generated or listed series of backups.
type caseFile struct {
	Policy retention.Policy `json:"policy"`
	Now    time.Time        `json:"now"`
	// Series generates Count complete backups every Every, the newest at Newest.
	Series *struct {
		Newest time.Time `json:"newest"`
		Every  string    `json:"every"`
		Count  int       `json:"count"`
		// VerifiedEvery marks every k-th backup (counting from the oldest) verified; 0: none.
		VerifiedEvery int `json:"verifiedEvery"`
	} `json:"series"`
	Backups []retention.Backup `json:"backups"`
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var c caseFile
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			bs := c.Backups
			if s := c.Series; s != nil {
				every, err := time.ParseDuration(s.Every)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < s.Count; i++ {
					ts := s.Newest.Add(-time.Duration(i) * every)
					fromOldest := s.Count - 1 - i
					bs = append(bs, retention.Backup{ID: ts.UTC().Format("20060102T150405Z"), Time: ts, Complete: true,
						Verified: s.VerifiedEvery > 0 && fromOldest%s.VerifiedEvery == 0, LastWrite: ts})
				}
			}
			ds, err := retention.Apply(bs, c.Policy, c.Now)
			if err != nil && !errors.Is(err, retention.ErrNoIntactBackup) {
				t.Fatal(err)
			}
			var b strings.Builder
			kept := 0
			for _, d := range ds {
				verdict := "remove"
				if d.Keep {
					verdict = "keep  "
					kept++
				}
				fmt.Fprintf(&b, "%s %s %s\n", verdict, d.ID, strings.Join(d.Reasons, ", "))
			}
			fmt.Fprintf(&b, "kept %d of %d\n", kept, len(ds))
			if err != nil {
				fmt.Fprintf(&b, "error: %v\n", err)
			}
			golden := strings.TrimSuffix(f, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if b.String() != string(want) {
				t.Fatalf("decisions differ from %s:\n%s", golden, b.String())
			}
		})
	}
}

func TestNeverRemovesNewestVerified(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	var bs []retention.Backup
	for i := 0; i < 50; i++ {
		ts := now.Add(-time.Duration(i) * time.Hour)
		bs = append(bs, retention.Backup{ID: fmt.Sprint(i), Time: ts, Complete: true, Verified: i == 37, LastWrite: ts})
	}
	for _, p := range []retention.Policy{{KeepLast: 1}, {KeepDaily: 1}, {KeepMonthly: 1}, {KeepWeekly: 1, KeepLast: 2}} {
		ds, err := retention.Apply(bs, p, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.ID == "37" && !d.Keep {
				t.Fatalf("policy %+v removes the newest verified backup", p)
			}
		}
	}
}

func TestRejectsEmptyPolicy(t *testing.T) {
	if _, err := retention.Apply(nil, retention.Policy{}, time.Now()); err == nil {
		t.Fatal("empty policy accepted")
	}
	if _, err := retention.Apply(nil, retention.Policy{KeepLast: -1, KeepDaily: 3}, time.Now()); err == nil {
		t.Fatal("negative policy accepted")
	}
}
