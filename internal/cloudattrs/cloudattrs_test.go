package cloudattrs

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestMaterialize(t *testing.T) {
	cases := []struct {
		typ    string
		inputs map[string]any
		idPfx  string
		key    string
		want   string // substring of outputs[key]
	}{
		{"aws:ec2/vpc:Vpc", map[string]any{"cidrBlock": "10.9.0.0/16"}, "vpc-", "cidrBlock", "10.9.0.0/16"},
		{"aws:ec2/vpc:Vpc", map[string]any{}, "vpc-", "arn", "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-"},
		{"aws:lb/loadBalancer:LoadBalancer", map[string]any{}, "arn:aws:elasticloadbalancing:eu-west-1:", "dnsName", ".eu-west-1.elb.amazonaws.com"},
		{"aws:lb/targetGroup:TargetGroup", map[string]any{"name": "app-tg"}, "arn:aws:elasticloadbalancing:", "arnSuffix", "targetgroup/app-tg/"},
		{"aws:autoscaling/group:Group", map[string]any{}, "web-", "name", "web-"},
		{"aws:rds/cluster:Cluster", map[string]any{"clusterIdentifier": "db"}, "db", "readerEndpoint", "db.cluster-ro-"},
		{"aws:rds/cluster:Cluster", map[string]any{"manageMasterUserPassword": true}, "web-", "masterUserSecrets", "secretsmanager"},
		{"aws:ec2/instance:Instance", map[string]any{}, "i-", "privateIp", "10.0."},
		{"aws:s3/bucketV2:BucketV2", map[string]any{}, "web-", "arn", "arn:aws:s3:::web-"},
		{"aws:kms/key:Key", map[string]any{}, "", "arn", ":key/"},
		{"aws:cloudwatch/dashboard:Dashboard", map[string]any{}, "dashboard-", "arn", "arn:aws:cloudwatch:eu-west-1:"},
		{"gcp:serviceaccount/account:Account", map[string]any{"accountId": "writer"}, "projects/vault-p/serviceAccounts/writer@", "email", "writer@vault-p.iam.gserviceaccount.com"},
		{"gcp:storage/bucket:Bucket", map[string]any{"name": "b1"}, "b1", "url", "gs://b1"},
		{"gcp:kms/cryptoKey:CryptoKey", map[string]any{"keyRing": "projects/p/locations/eu/keyRings/r"}, "projects/p/locations/eu/keyRings/r/cryptoKeys/web", "name", "web"},
	}
	for _, c := range cases {
		t.Run(c.typ+"/"+c.key, func(t *testing.T) {
			a := &Resource{Type: c.typ, Logical: "web", Region: "eu-west-1", Project: "vault-p", Inputs: c.inputs}
			id, out := a.Materialize()
			if !strings.HasPrefix(id, c.idPfx) {
				t.Errorf("id %q, want prefix %q", id, c.idPfx)
			}
			if got := fmt.Sprint(out[c.key]); !strings.Contains(got, c.want) {
				t.Errorf("%s = %v, want it to contain %q", c.key, out[c.key], c.want)
			}
			for k, v := range c.inputs {
				if !reflect.DeepEqual(out[k], v) {
					t.Errorf("input %s=%v not passed through (got %v)", k, v, out[k])
				}
			}
			for _, k := range a.ComputedKeys() {
				if _, ok := out[k]; !ok && k != "tagsAll" {
					t.Errorf("computed key %s missing from outputs %v", k, out)
				}
			}
		})
	}
}

// TestSeededIsDeterministic: the offline evaluation's entropy gives the same resource twice, a different
// seed a different one; crypto/rand never repeats.
func TestSeededIsDeterministic(t *testing.T) {
	mk := func(r *Resource) (string, map[string]any) {
		c := *r
		return c.Materialize()
	}
	in := map[string]any{"manageMasterUserPassword": true}
	a := Resource{Type: "aws:rds/instance:Instance", Logical: "db", Region: DefaultRegion, Inputs: in, Rand: Seeded("db")}
	id1, out1 := mk(&a)
	a.Rand = Seeded("db")
	id2, out2 := mk(&a)
	if id1 != id2 || !reflect.DeepEqual(out1, out2) {
		t.Fatalf("seeded materializations differ:\n%s %v\n%s %v", id1, out1, id2, out2)
	}
	a.Rand = Seeded("other")
	if _, out3 := mk(&a); out3["address"] == out1["address"] {
		t.Errorf("two seeds gave the same address %v", out3["address"])
	}
	a.Rand = nil
	_, r1 := mk(&a)
	_, r2 := mk(&a)
	if r1["address"] == r2["address"] {
		t.Errorf("crypto/rand gave the same address twice: %v", r1["address"])
	}
}

func TestDefaultRegionOf(t *testing.T) {
	for pkg, want := range map[string]string{"aws": "eu-west-1", "gcp": "europe-west1", "random": ""} {
		if got := DefaultRegionOf(pkg); got != want {
			t.Errorf("DefaultRegionOf(%s) = %q, want %q", pkg, got, want)
		}
	}
}

func TestRandomResources(t *testing.T) {
	pw := &Resource{Type: "random:index/randomPassword:RandomPassword", Logical: "db",
		Inputs: map[string]any{"length": float64(24), "special": false}}
	id, out := pw.Materialize()
	res, _ := out["result"].(string)
	if id != "none" || len(res) != 24 || strings.ContainsAny(res, "!@#$%&*()-_=+[]{}<>:?") {
		t.Fatalf("password id %q result %q", id, res)
	}
	if _, again := pw.Materialize(); again["result"] == res {
		t.Error("two passwords are equal")
	}
	rid := &Resource{Type: "random:index/randomId:RandomId", Inputs: map[string]any{"byteLength": float64(4)}}
	if _, out := rid.Materialize(); len(out["hex"].(string)) != 8 {
		t.Errorf("random id %v", out)
	}
}
