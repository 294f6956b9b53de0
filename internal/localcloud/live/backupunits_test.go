package live

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/components/userdata"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/stacks"
)

// TestWorkerBackupFromRecords: a spec naming a recipient gives the worker hosts (only) their backup units,
// read back from the launch template's user data, without the EC2 federation (the live writer is a token),
// and the worker's rules route it to the vault on the platform's internet.
func TestWorkerBackupFromRecords(t *testing.T) {
	const recipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	data, err := environments.EmbeddedStackFile(environments.Staging)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := environments.ParseStackFile(data)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal([]byte(cfg.Values[environments.ConfigKey]), &spec); err != nil {
		t.Fatal(err)
	}
	spec["backupVault"].(map[string]any)["recipients"] = []string{recipient}
	raw, _ := json.Marshal(spec)
	cfg.Values[environments.ConfigKey] = string(raw)
	res, err := offline.Evaluate(environments.Project, environments.Staging, cfg.Values, cfg.Secret, stacks.Run)
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for _, r := range res.Resources {
		if r.Custom {
			recs = append(recs, Record{Type: r.Type, Name: r.Name, ID: r.ID, Inputs: r.Inputs, Outputs: r.Outputs})
		}
	}
	s, err := StateFromRecords(recs, "ssh-ed25519 AAAA test", nil)
	if err != nil {
		t.Fatal(err)
	}
	workers := 0
	p := &Platform{state: s, edgeVPC: edgeVPC(s).Name}
	for _, h := range s.Hosts {
		if (h.Backup != nil) != (h.Tier == "worker") {
			t.Errorf("host %s (%s): backup units %+v", h.Name, h.Tier, h.Backup)
			continue
		}
		routed := len(p.vaultRoutes(h)) == 1
		switch h.Tier {
		case "worker":
			workers++
			if b := h.Backup; b.Stack != "staging" || b.Schedule != environments.DefaultBackupSchedule || len(b.Recipients) != 1 ||
				b.Recipients[0] != recipient || b.Federation != nil {
				t.Errorf("worker %s: units %+v", h.Name, b)
			}
			if !routed {
				t.Errorf("worker %s: no route to the vault", h.Name)
			}
		case "db", "cache":
			if routed {
				t.Errorf("%s host %s: routed to the vault", h.Tier, h.Name)
			}
		}
	}
	if workers == 0 {
		t.Fatal("no worker host")
	}
}

// TestBinlogUnitSegmentAge: the worker's streamer runs the rendered command, plus --segment-age when the
// platform sets one (PLINTH_LIVE_BINLOG_SEGMENT_AGE: its lease is the command's default, three times it);
// the backup unit's command never changes.
func TestBinlogUnitSegmentAge(t *testing.T) {
	b := userdata.Backup{Stack: "staging", Schedule: "daily", Recipients: []string{"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"}}
	p := &Platform{}
	if got := p.unitCommand(b, userdata.BinlogUnit); !slices.Equal(got, b.BinlogCommand()) {
		t.Errorf("default: %q, want the rendered %q", got, b.BinlogCommand())
	}
	p.opts.BinlogSegmentAge = 4 * time.Second
	if got, want := p.unitCommand(b, userdata.BinlogUnit), append(b.BinlogCommand(), "--segment-age", "4s"); !slices.Equal(got, want) {
		t.Errorf("segment age 4s: %q, want %q", got, want)
	}
	if got := p.unitCommand(b, userdata.BackupUnit); !slices.Equal(got, b.BackupCommand()) {
		t.Errorf("backup unit: %q, want %q", got, b.BackupCommand())
	}
}
