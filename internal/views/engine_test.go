package views

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/provision"
)

func TestEngineLine(t *testing.T) {
	cases := []struct {
		ev   provision.Event
		want string
	}{
		{provision.Event{Kind: provision.EventStart, Op: "create", Name: "main", Type: "aws:ec2/vpc:Vpc"}, "+  create   main  aws:ec2/vpc:Vpc"},
		{provision.Event{Kind: provision.EventStart, Op: "replace", Name: "db", Type: "aws:rds/cluster:Cluster", Diffs: []string{"engine"}}, "+- replace  db  aws:rds/cluster:Cluster  [engine]"},
		{provision.Event{Kind: provision.EventStart, Op: "same", Name: "x"}, ""},
		{provision.Event{Kind: provision.EventStart, Op: "refresh", Name: "x"}, ""},
		{provision.Event{Kind: provision.EventDone, Op: "create", Name: "x"}, ""},
		{provision.Event{Kind: provision.EventRefreshed, Op: "delete", Name: "logs", Type: "aws:cloudwatch/logGroup:LogGroup"}, "-  delete   logs  aws:cloudwatch/logGroup:LogGroup  deleted in the cloud"},
		{provision.Event{Kind: provision.EventDiag, Severity: "warning", Name: "db", Message: "slow"}, "warning: db: slow"},
		{provision.Event{Kind: provision.EventPolicy, Severity: "mandatory", Policy: "plinth/no-public-db", Message: "public", Name: "db"}, "policy [mandatory] plinth/no-public-db: public (db)"},
		{provision.Event{Kind: provision.EventAudit, Message: "promotion gate overridden"}, "audit: promotion gate overridden"},
		{provision.Event{Kind: provision.EventSummary, Changes: map[string]int{"create": 2, "same": 5, "update": 0}}, "Resources: 2 create, 5 unchanged"},
	}
	for _, c := range cases {
		if got := EngineLine(c.ev); got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.ev, got, c.want)
		}
	}
	if got := Changes(map[string]int{"same": 0}); got != "no changes" {
		t.Errorf("Changes(empty) = %q", got)
	}
}

func TestEngineProgressJSONLines(t *testing.T) {
	var buf bytes.Buffer
	p := NewEngineProgress(&buf, FormatJSON)
	p.Event(provision.Event{Kind: provision.EventStart, Op: "same", Name: "x"})
	p.Event(provision.Event{Kind: provision.EventSummary})
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("JSON mode drops nothing: %d lines:\n%s", n, buf.String())
	}
}
