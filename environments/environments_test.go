package environments

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/plinth-dev/plinth/internal/corpustest"
)

func keysOf(err error) []string {
	var keys []string
	for _, fe := range Problems(err) {
		keys = append(keys, fe.Key)
	}
	sort.Strings(keys)
	return slices.Compact(keys)
}

func TestShippedStacksAreValid(t *testing.T) {
	stacks := Stacks()
	if want := []string{"preproduction", "production", "staging"}; !slices.Equal(stacks, want) {
		t.Fatalf("Stacks() = %v, want %v", stacks, want)
	}
	for _, name := range stacks {
		data, err := EmbeddedStackFile(name)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := LoadFile(name, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if spec.Stack != name || spec.Environment != name {
			t.Errorf("%s: stack/environment = %q/%q", name, spec.Stack, spec.Environment)
		}
	}
}

func TestProductionDefaults(t *testing.T) {
	s, ok := Defaults(Production)
	if !ok {
		t.Fatal("no production defaults")
	}
	if s.AZCount != 3 || s.NATStrategy != NATPerAZ || !s.DeletionProtection || s.DRRegion == "" {
		t.Errorf("production defaults: azCount=%d nat=%s deletionProtection=%v drRegion=%q",
			s.AZCount, s.NATStrategy, s.DeletionProtection, s.DRRegion)
	}
	for name, tier := range map[string]Tier{"app": s.Tiers.App, "worker": s.Tiers.Worker, "sftp": s.Tiers.SFTP} {
		if tier.Min < 2 {
			t.Errorf("production %s min = %d, want N+1 >= 2", name, tier.Min)
		}
	}
	if _, ok := Defaults("prod"); ok {
		t.Error("Defaults(prod) should be unknown")
	}
}

// TestBrokenCorpus loads every config under testdata/environments/broken; each names, on its first line
// (`# want: key ...`), exactly the keys whose errors it must produce — all of them at once.
func TestBrokenCorpus(t *testing.T) {
	for _, c := range corpustest.Load(t, "../testdata/environments/broken/*.yaml", 10) {
		t.Run(c.Name, func(t *testing.T) {
			data, want := c.Data, c.Want
			_, err := LoadFile("corpus", data)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if got := keysOf(err); !slices.Equal(got, want) {
				t.Errorf("error keys:\n got  %v\n want %v\nfull error:\n%v", got, want, err)
			}
		})
	}
}

func validProduction() Spec {
	s, _ := Defaults(Production)
	s.Stack = "production"
	s.AdminCIDRs = []string{"203.0.113.0/24"}
	s.Domain = "app.example.com"
	s.CertificateARN = "arn:aws:acm:eu-west-1:333333333333:certificate/0b1c2d3e-cccc"
	s.BackupVault.Project = "plinth-backups"
	s.BackupVault.ProjectNumber = "123456789"
	s.AccountID = "333333333333"
	return s
}

func TestValidate(t *testing.T) {
	if errs := Validate(validProduction()); len(errs) != 0 {
		t.Fatalf("valid production spec: %v", errs)
	}
	tests := []struct {
		name   string
		mutate func(*Spec)
		want   []string
	}{
		{"bad region", func(s *Spec) { s.Region = "eu-west" }, []string{"plinth:spec.region", "plinth:spec.certificateArn"}},
		{"certificate of another account", func(s *Spec) {
			s.CertificateARN = "arn:aws:acm:eu-west-1:444444444444:certificate/0b1c2d3e-cccc"
		}, []string{"plinth:spec.certificateArn"}},
		{"dr equals primary", func(s *Spec) { s.DRRegion = s.Region }, []string{"plinth:spec.drRegion"}},
		{"production without dr", func(s *Spec) { s.DRRegion = "" }, []string{"plinth:spec.drRegion", "plinth:spec.database.drReplica"}},
		{"one az in production", func(s *Spec) { s.AZCount = 1 }, []string{"plinth:spec.azCount"}},
		{"seven azs", func(s *Spec) { s.AZCount = 7 }, []string{"plinth:spec.azCount"}},
		{"public vpc range", func(s *Spec) { s.VPCCIDR = "100.64.0.0/16" }, []string{"plinth:spec.vpcCidr"}},
		{"vpc too large", func(s *Spec) { s.VPCCIDR = "10.0.0.0/8" }, []string{"plinth:spec.vpcCidr"}},
		{"vpc host bits", func(s *Spec) { s.VPCCIDR = "10.30.1.0/16" }, []string{"plinth:spec.vpcCidr"}},
		{"dr vpc overlaps", func(s *Spec) { s.DRVPCCIDR = "10.30.0.0/17" }, []string{"plinth:spec.drVpcCidr"}},
		{"dr vpc missing", func(s *Spec) { s.DRVPCCIDR = "" }, []string{"plinth:spec.drVpcCidr"}},
		{"admin world v4", func(s *Spec) { s.AdminCIDRs = []string{"0.0.0.0/0"} }, []string{"plinth:spec.adminCidrs[0]"}},
		{"admin world v6", func(s *Spec) { s.AdminCIDRs = []string{"203.0.113.0/24", "::/0"} }, []string{"plinth:spec.adminCidrs[1]"}},
		{"admin too broad", func(s *Spec) { s.AdminCIDRs = []string{"11.0.0.0/8"} }, []string{"plinth:spec.adminCidrs[0]"}},
		{"no admins", func(s *Spec) { s.AdminCIDRs = nil }, []string{"plinth:spec.adminCidrs"}},
		{"single nat in production", func(s *Spec) { s.NATStrategy = NATSingle }, []string{"plinth:spec.natStrategy"}},
		{"unknown nat", func(s *Spec) { s.NATStrategy = "many" }, []string{"plinth:spec.natStrategy"}},
		{"bad domain", func(s *Spec) { s.Domain = "not a domain" }, []string{"plinth:spec.domain"}},
		{"deletion protection off", func(s *Spec) { s.DeletionProtection = false }, []string{"plinth:spec.deletionProtection"}},
		{"odd log retention", func(s *Spec) { s.LogRetentionDays = 42 }, []string{"plinth:spec.logRetentionDays"}},
		{"app not N+1", func(s *Spec) { s.Tiers.App.Min, s.Tiers.App.Desired = 1, 1 }, []string{"plinth:spec.tiers.app.min"}},
		{"desired above max", func(s *Spec) { s.Tiers.Worker.Desired = 99 }, []string{"plinth:spec.tiers.worker.desired"}},
		{"privileged port", func(s *Spec) { s.Tiers.App.Port = 80 }, []string{"plinth:spec.tiers.app.port"}},
		{"root ssh user", func(s *Spec) { s.Bastion.SSHUser = "root" }, []string{"plinth:spec.bastion.sshUser"}},
		{"mysql 5.7", func(s *Spec) { s.Database.EngineVersion = "5.7" }, []string{"plinth:spec.database.engineVersion"}},
		{"single-az db in production", func(s *Spec) { s.Database.MultiAZ = false }, []string{"plinth:spec.database.multiAz"}},
		{"no dr replica", func(s *Spec) { s.Database.DRReplica = false }, []string{"plinth:spec.database.drReplica"}},
		{"short db retention", func(s *Spec) { s.Database.BackupRetentionDays = 1 }, []string{"plinth:spec.database.backupRetentionDays"}},
		{"no search masters", func(s *Spec) { s.Search.DedicatedMasters = false }, []string{"plinth:spec.search.dedicatedMasters"}},
		{"one search node", func(s *Spec) { s.Search.InstanceCount = 1 }, []string{"plinth:spec.search.instanceCount"}},
		{"one cache node", func(s *Spec) { s.Cache.Nodes = 1 }, []string{"plinth:spec.cache.nodes"}},
		{"bad alarm email", func(s *Spec) { s.Monitoring.AlarmEmail = "oncall" }, []string{"plinth:spec.monitoring.alarmEmail"}},
		{"vault single region", func(s *Spec) { s.BackupVault.Location = "europe-west1" }, []string{"plinth:spec.backupVault.location"}},
		{"vault with primary", func(s *Spec) {
			s.Region = "eu-central-1"
			s.DRRegion = "eu-west-1"
			s.CertificateARN = "arn:aws:acm:eu-central-1:333333333333:certificate/0b1c2d3e-cccc"
			s.BackupVault.Location = "EUR8"
		}, []string{"plinth:spec.backupVault.location"}},
		{"vault kms elsewhere", func(s *Spec) { s.BackupVault.KMSLocation = "us" }, []string{"plinth:spec.backupVault.kmsLocation"}},
		{"vault short retention", func(s *Spec) { s.BackupVault.RetentionDays = 6; s.BackupVault.ColdAfterDays = 6 }, []string{"plinth:spec.backupVault.retentionDays"}},
		{"vault unlocked in production", func(s *Spec) { s.BackupVault.LockRetention = false }, []string{"plinth:spec.backupVault.lockRetention"}},
		{"bad gcp project", func(s *Spec) { s.BackupVault.Project = "X" }, []string{"plinth:spec.backupVault.project"}},
		{"bad gcp project number", func(s *Spec) { s.BackupVault.ProjectNumber = "plinth" }, []string{"plinth:spec.backupVault.projectNumber"}},
		{"many errors at once", func(s *Spec) {
			s.AZCount = 1
			s.Tiers.SFTP.Min, s.Tiers.SFTP.Desired = 1, 1
			s.AdminCIDRs = []string{"0.0.0.0/0"}
		}, []string{"plinth:spec.adminCidrs[0]", "plinth:spec.azCount", "plinth:spec.tiers.sftp.min"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validProduction()
			tt.mutate(&s)
			err := finish(Validate(s))
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if got := keysOf(err); !slices.Equal(got, want) {
				t.Errorf("keys = %v, want %v\n%v", got, want, err)
			}
		})
	}
}

func TestStagingMayBeSmall(t *testing.T) {
	s, _ := Defaults(Staging)
	s.AdminCIDRs = []string{"203.0.113.0/24"}
	s.Domain = "staging.example.com"
	s.CertificateARN = "arn:aws:acm:eu-west-1:111111111111:certificate/0b1c2d3e-aaaa"
	s.BackupVault.Project = "plinth-backups"
	s.BackupVault.ProjectNumber = "123456789"
	s.AccountID = "111111111111"
	if errs := Validate(s); len(errs) != 0 {
		t.Fatalf("staging with single NAT, single AZ data tiers and one instance per tier: %v", errs)
	}
}

func TestOverridesKeepDefaults(t *testing.T) {
	data, _ := EmbeddedStackFile("production")
	base, err := LoadFile("production", data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := ParseStackFile(data)
	cfg.Values[ConfigKey] = strings.Replace(cfg.Values[ConfigKey], `"azCount":3`, `"azCount":3,"tiers":{"app":{"max":12}}`, 1)
	spec, err := Load("production", cfg.Values)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Tiers.App.Max != 12 || spec.Tiers.App.Min != base.Tiers.App.Min || spec.Tiers.App.InstanceType != base.Tiers.App.InstanceType {
		t.Errorf("override app.max: got %+v, base %+v", spec.Tiers.App, base.Tiers.App)
	}
}

func TestErrorNamesCountAndKeys(t *testing.T) {
	_, err := Load("staging", map[string]string{ConfigKey: `{"environment":"staging","azCount":"x","bogus":1}`})
	msg := err.Error()
	for _, want := range []string{"problem(s) in the environment spec", "plinth:spec.azCount: want an integer", "plinth:spec.bogus: unknown key"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

func TestProblemsThroughWrapping(t *testing.T) {
	_, err := Load("staging", map[string]string{ConfigKey: `{"environment":"staging","azCount":0}`})
	outer := multierror.Append(nil, fmt.Errorf("stack staging: %w", err))
	if n, m := len(Problems(err)), len(Problems(fmt.Errorf("run: %w", outer))); n == 0 || n != m {
		t.Errorf("problems: %d direct, %d wrapped", n, m)
	}
	if Problems(errors.New("plain")) != nil {
		t.Error("a plain error has no problems")
	}
}

func TestParseStackFile(t *testing.T) {
	cfg, err := ParseStackFile([]byte("config:\n  aws:region: eu-west-1\n  name: x\n  plinth:token:\n    secure: AAAB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Values["aws:region"] != "eu-west-1" || cfg.Values["plinth:name"] != "x" {
		t.Errorf("values = %v", cfg.Values)
	}
	if !slices.Equal(cfg.Secret, []string{"plinth:token"}) || cfg.Values["plinth:token"] == "AAAB" {
		t.Errorf("secret handling: %v %v", cfg.Secret, cfg.Values)
	}
	if _, err := ParseStackFile([]byte("config: [")); err == nil {
		t.Error("bad yaml parsed")
	}
	if _, err := EmbeddedStackFile("nope"); err == nil || !strings.Contains(err.Error(), "production") {
		t.Errorf("unknown stack error = %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(`{"environment":"production","azCount":3}`)
	f.Add(`{"tiers":{"app":{"min":-1}},"adminCidrs":["::/0"]}`)
	f.Add(`[1,2]`)
	f.Fuzz(func(t *testing.T, raw string) {
		_, _ = Load("production", map[string]string{ConfigKey: raw})
	})
}

func TestDRTargets(t *testing.T) {
	for _, c := range []struct {
		dr   DR
		keys []string
	}{
		{defaultDR(), nil},
		{DR{RTOTarget: "4h", RPOTarget: "5s"}, nil},
		{DR{}, []string{"plinth:spec.dr.rpoTarget", "plinth:spec.dr.rtoTarget"}},
		{DR{RTOTarget: "1h", RPOTarget: "2h"}, []string{"plinth:spec.dr.rpoTarget"}},
		{DR{RTOTarget: "0s", RPOTarget: "9000h"}, []string{"plinth:spec.dr.rpoTarget", "plinth:spec.dr.rtoTarget"}},
		{withCert(drCert), nil},
		{withCert("arn:aws:acm:eu-west-1:333333333333:certificate/0b1c2d3e-dddd"), []string{"plinth:spec.dr.certificateArn"}},
		{withCert("arn:aws:acm:eu-central-1:444444444444:certificate/0b1c2d3e-dddd"), []string{"plinth:spec.dr.certificateArn"}},
		{withCert("not-an-arn"), []string{"plinth:spec.dr.certificateArn"}},
	} {
		var errs errorList
		s := validProduction()
		s.DR = c.dr
		checkDR(&errs, s)
		var got []string
		for _, e := range errs {
			var fe *FieldError
			if errors.As(e, &fe) {
				got = append(got, fe.Key)
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, c.keys) {
			t.Errorf("checkDR(%+v) keys = %v, want %v (%v)", c.dr, got, c.keys, errs)
		}
	}
	rto, rpo := defaultDR().Targets()
	if rto != 24*time.Hour || rpo != 15*time.Minute {
		t.Errorf("default targets = %s/%s, want 24h/15m", rto, rpo)
	}
}

const drCert = "arn:aws:acm:eu-central-1:333333333333:certificate/0b1c2d3e-dddd"

func withCert(arn string) DR {
	d := defaultDR()
	d.CertificateARN = arn
	return d
}
