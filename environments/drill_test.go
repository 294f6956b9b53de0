package environments

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func validDrill() Drill {
	return Drill{
		ID:               "drill-20261203T030000Z",
		DatabaseEndpoint: "drill-db.eu-central-1.rds.amazonaws.com:3306",
		Network: DrillNetwork{
			VpcID:            "vpc-0dr",
			PublicSubnetIDs:  []string{"subnet-p1", "subnet-p2"},
			PrivateSubnetIDs: []string{"subnet-q1", "subnet-q2"},
			SecurityGroups:   map[string]string{"lb": "sg-lb", "app": "sg-app", "worker": "sg-w", "sftp": "sg-s", "bastion": "sg-b"},
		},
	}
}

func TestParseDrill(t *testing.T) {
	raw, _ := json.Marshal(validDrill())
	d, err := ParseDrill(string(raw))
	if err != nil || d.ID != "drill-20261203T030000Z" || len(d.Network.PrivateSubnetIDs) != 2 {
		t.Fatalf("ParseDrill(valid) = %+v, %v", d, err)
	}
	bad := validDrill()
	bad.ID = "yesterday"
	bad.DatabaseEndpoint = "db"
	bad.Network.PublicSubnetIDs = nil
	bad.Network.PrivateSubnetIDs = []string{"subnet 1"}
	delete(bad.Network.SecurityGroups, "bastion")
	raw, _ = json.Marshal(bad)
	_, err = ParseDrill(string(raw))
	var keys []string
	for _, p := range Problems(err) {
		keys = append(keys, p.Key)
	}
	want := []string{"plinth:drill.databaseEndpoint", "plinth:drill.id", "plinth:drill.network.privateSubnetIds[0]",
		"plinth:drill.network.publicSubnetIds", "plinth:drill.network.securityGroups.bastion"}
	if !slices.Equal(keys, want) {
		t.Errorf("every problem at once: got %v, want %v (%v)", keys, want, err)
	}
	for _, raw := range []string{"", "[]", `{"id":"drill-20261203T030000Z","extra":1}`} {
		if _, err := ParseDrill(raw); err == nil || !strings.Contains(err.Error(), "plinth:drill") {
			t.Errorf("ParseDrill(%q) = %v, want an error naming plinth:drill", raw, err)
		}
	}
}

func TestForDrill(t *testing.T) {
	prod := validProduction()
	prod.DR.CertificateARN = drCert
	s, err := prod.ForDrill(validDrill())
	if err != nil {
		t.Fatal(err)
	}
	if s.Stack != "production-drill-20261203T030000Z" || s.Region != prod.DRRegion || s.DRRegion != "" ||
		s.VPCCIDR != prod.DRVPCCIDR || s.DeletionProtection || s.Database.DRReplica || s.CertificateARN != drCert {
		t.Errorf("drill spec = %+v", s)
	}
	if s.Tiers != prod.Tiers || s.Bastion != prod.Bastion || s.Environment != Production {
		t.Errorf("the drill rebuilds production's tiers and bastion as they are: %+v", s.Tiers)
	}
	prod.DRRegion = ""
	if _, err := prod.ForDrill(validDrill()); err == nil || !strings.Contains(err.Error(), "drRegion") {
		t.Errorf("no DR region: %v", err)
	}
}

func TestLoadAcceptsTheDrillKey(t *testing.T) {
	cfg := productionConfig(t)
	raw, _ := json.Marshal(validDrill())
	cfg.Values[DrillConfigKey] = string(raw)
	if _, err := Load("production", cfg.Values); err != nil {
		t.Errorf("Load with %s: %v", DrillConfigKey, err)
	}
}

func TestStackFileRoundTrips(t *testing.T) {
	cfg := productionConfig(t)
	values, err := DrillStackConfig(cfg.Values, validDrill())
	if err != nil {
		t.Fatal(err)
	}
	values["plinth:note"] = "12" // a string that looks like a number stays a string
	out, err := StackFile(values)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseStackFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range values {
		if k == "plinth:note" {
			if back.Values[k] != "12" {
				t.Errorf("%s = %q", k, back.Values[k])
			}
			continue
		}
		var a, b any
		if json.Unmarshal([]byte(v), &a) != nil || json.Unmarshal([]byte(back.Values[k]), &b) != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %s\n  came back as %s", k, v, back.Values[k])
		}
	}
	delete(back.Values, "plinth:note")
	delete(values, "plinth:note")
	if _, err := Load(DrillStackName("production", "drill-20261203T030000Z"), back.Values); err != nil {
		t.Errorf("the written file loads: %v", err)
	}
}

func productionConfig(t *testing.T) StackConfig {
	t.Helper()
	data, err := EmbeddedStackFile("production")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseStackFile(data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
