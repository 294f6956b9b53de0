package stacks

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// TestDrillStack: production's exported DR network feeds a drill stack (the config `plinth drill` sets),
// which builds only the load balancer, tiers and bastion in the DR region, inside that network, every
// resource tagged with the drill id, and exports an inventory deploy and the drill's verify step read.
func TestDrillStack(t *testing.T) {
	const id = "drill-20261203T030000Z"
	stack := environments.DrillStackName("production", id)
	res, inv := evaluateDrill(t, id)

	for _, r := range res.Resources {
		for _, forbidden := range []string{"aws:ec2/vpc:", "aws:ec2/subnet:", "aws:ec2/securityGroup:", "aws:rds/", "aws:opensearch/", "aws:elasticache/", "gcp:", "pulumi:providers:gcp"} {
			if strings.HasPrefix(r.Type, forbidden) {
				t.Errorf("a drill stack builds no %s: %s", forbidden, r.Name)
			}
		}
		if r.Type == "pulumi:providers:aws" && r.Inputs["region"] != inv.DRRegion {
			t.Errorf("provider %s region %v, want the DR region %s", r.Name, r.Inputs["region"], inv.DRRegion)
		}
		if tags, ok := r.Inputs["tags"].(map[string]any); ok && r.Custom && tags[environments.DrillTag] != id {
			t.Errorf("%s (%s) tags %v lack %s=%s", r.Name, r.Type, tags, environments.DrillTag, id)
		}
	}
	for typ, min := range map[string]int{"aws:lb/loadBalancer:LoadBalancer": 1, "aws:autoscaling/group:Group": 4} {
		if got := len(res.ByType(typ)); got < min {
			t.Errorf("%d %s, want at least %d", got, typ, min)
		}
	}
	certs := 0
	for _, l := range res.ByType("aws:lb/listener:Listener") {
		if arn, _ := l.Inputs["certificateArn"].(string); arn != "" {
			certs++
			if !strings.Contains(arn, ":"+inv.DRRegion+":") {
				t.Errorf("listener %s uses certificate %s: not the DR region's (dr.certificateArn)", l.Name, arn)
			}
		}
	}
	if certs == 0 {
		t.Error("no HTTPS listener in the drill stack")
	}
	for _, lb := range res.ByType("aws:lb/loadBalancer:LoadBalancer") {
		if !sameIDs(lb.Inputs["subnets"], inv.DRNetwork.PublicSubnetIDs) {
			t.Errorf("load balancer subnets %v, want the DR network's public subnets %v", lb.Inputs["subnets"], inv.DRNetwork.PublicSubnetIDs)
		}
	}

	got, err := contract.Parse(res.Outputs)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stack != stack || got.Region != inv.DRRegion || got.VpcID != inv.DRNetwork.VpcID || len(got.Tiers) != 3 ||
		got.Database == nil || got.Database.WriterEndpoint != "drill-db.local:3306" || got.BackupVault != nil || got.DRNetwork != nil {
		t.Errorf("drill inventory = %+v", got)
	}

}

// TestDrillConfigErrors: drill config on a stack not named for the drill, or an invalid one, fails the
// program naming the key.
func TestDrillConfigErrors(t *testing.T) {
	cfg := stackConfig(t, "production")
	cfg.Values[environments.DrillConfigKey] = `{"id":"tomorrow"}`
	if _, err := offline.Evaluate(environments.Project, "production-drill-x", cfg.Values, cfg.Secret, Run); err == nil || !strings.Contains(err.Error(), "plinth:drill.id") {
		t.Errorf("a bad drill config must name its key: %v", err)
	}
	d := environments.Drill{ID: "drill-20261203T030000Z", DatabaseEndpoint: "db:3306", Network: environments.DrillNetwork{
		VpcID: "vpc-1", PublicSubnetIDs: []string{"s-1"}, PrivateSubnetIDs: []string{"s-2"},
		SecurityGroups: map[string]string{"lb": "g", "app": "g", "worker": "g", "sftp": "g", "bastion": "g"}}}
	values, err := environments.DrillStackConfig(cfg.Values, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := offline.Evaluate(environments.Project, "production", values, cfg.Secret, Run); err == nil || !strings.Contains(err.Error(), "not named") {
		t.Errorf("drill config on a stack not named for the drill: %v", err)
	}
}

func sameIDs(v any, want []string) bool {
	list, _ := v.([]any)
	var got []string
	for _, x := range list {
		s, _ := x.(string)
		got = append(got, s)
	}
	return slices.Equal(got, want)
}

func evaluateDrill(t *testing.T, id string) (*offline.Result, *contract.Inventory) {
	t.Helper()
	prod := evaluate(t, "production")
	inv, err := contract.Parse(prod.Outputs)
	if err != nil || inv.DRNetwork == nil {
		t.Fatalf("production exports no drNetwork: %v", err)
	}
	cfg := stackConfig(t, "production")
	d := environments.Drill{ID: id, DatabaseEndpoint: "drill-db.local:3306", Network: *inv.DRNetwork}
	values, err := environments.DrillStackConfig(cfg.Values, d)
	if err != nil {
		t.Fatalf("production's drNetwork is not a valid drill network: %v", err)
	}
	res, err := offline.Evaluate(environments.Project, environments.DrillStackName("production", id), values, cfg.Secret, Run)
	if err != nil {
		t.Fatal(err)
	}
	return res, inv
}

// TestDrillAppTierData: the drill stack's app tier is told of the drill database (writer and reader: a
// promoted drill database has no replicas) and of the source's application-user secret (its id, never a
// value), and of no cache (the drill stack builds none); only the app tier's role may read that secret, in
// the DR region (where a region failover reads the replicated secret). No other tier names the data tier.
func TestDrillAppTierData(t *testing.T) {
	const id = "drill-20261203T030000Z"
	res, inv := evaluateDrill(t, id)
	stack := environments.DrillStackName("production", id)
	apps := 0
	for _, lt := range res.ByType("aws:ec2/launchTemplate:LaunchTemplate") {
		ud, err := base64.StdEncoding.DecodeString(lt.Inputs["userData"].(string))
		if err != nil {
			t.Fatalf("%s: %v", lt.Name, err)
		}
		script := string(ud)
		isApp := lt.Name == stack+"-app-lt"
		if has := strings.Contains(script, "PLINTH_DB_WRITER="); has != isApp {
			t.Errorf("%s names the data tier: %v", lt.Name, has)
		}
		if !isApp {
			continue
		}
		apps++
		if w, r := envValue(script, "PLINTH_DB_WRITER"), envValue(script, "PLINTH_DB_READER"); w != "drill-db.local:3306" || r != w {
			t.Errorf("drill app writer %q reader %q, want the drill database drill-db.local:3306 for both", w, r)
		}
		if s := envValue(script, "PLINTH_DB_SECRET_ID"); s != userdata.AppDBSecretID("production") {
			t.Errorf("drill app db secret %q, want production's app user %s", s, userdata.AppDBSecretID("production"))
		}
		for _, no := range []string{"PLINTH_CACHE_ADDR=", "PLINTH_CACHE_TOKEN_SECRET_ID=", "PLINTH_DB_PASSWORD=", "PLINTH_CACHE_TOKEN=", "PLINTH_DB_USER="} {
			if strings.Contains(script, no) {
				t.Errorf("drill app user data sets %s", no)
			}
		}
		if !strings.Contains(script, "ExecStartPre=+/usr/local/sbin/plinth-app-secrets") {
			t.Error("drill app unit does not resolve its secrets at start")
		}
	}
	if apps != 1 {
		t.Fatalf("%d drill app launch templates, want 1", apps)
	}
	readers := 0
	for _, p := range res.ByType("aws:iam/rolePolicy:RolePolicy") {
		doc, _ := p.Inputs["policy"].(string)
		if !strings.Contains(doc, "db-app-user") {
			continue
		}
		readers++
		want := "arn:aws:secretsmanager:" + inv.DRRegion + ":"
		if p.Name != stack+"-app-policy" || !strings.Contains(doc, want) || !strings.Contains(doc, ":secret:plinth/production/db-app-user-??????") || strings.Contains(doc, "rds!") {
			t.Errorf("%s reads the app user's secret: %s", p.Name, doc)
		}
	}
	if readers != 1 {
		t.Errorf("%d role policies read the app user's secret, want the drill app tier's", readers)
	}
}
