package live

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/localcloud"
)

// TestDataFromProductionRecords derives production's data tier from its program's own resources: the
// primary, two replicas in the primary's VPC and the DR replica in the DR VPC, each with TLS required by the
// parameter group and the master secret's credentials (created once, the same on the next derivation); three
// cache nodes (one primary); the vault with the bucket's 90-day retention.
func TestDataFromProductionRecords(t *testing.T) {
	recs := stackRecords(t, environments.Production)
	addrs := Addresses{}
	s, err := StateFromRecords(recs, "ssh-ed25519 AAAA test", addrs)
	if err != nil {
		t.Fatal(err)
	}
	secrets := OpenSecrets(filepath.Join(t.TempDir(), "sm", "secrets.json"))
	spec, err := DataFromRecords(recs, s, "production", secrets)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateDatabases(s, spec.Databases); err != nil {
		t.Fatalf("databases: %v", err)
	}
	if err := ValidateCaches(s, spec.Caches); err != nil {
		t.Fatalf("caches: %v", err)
	}
	if err := WithReplication(s, spec.Databases, spec.Caches).Validate(); err != nil {
		t.Fatalf("state with replication: %v", err)
	}
	vpc := map[string]string{}
	for _, h := range s.Hosts {
		vpc[h.Name] = h.VPC
		if (h.Tier == "db" || h.Tier == "cache") && (h.SSH || h.Public || len(h.Groups) == 0) {
			t.Errorf("managed host %+v: want no sshd, private, in its groups", h)
		}
	}
	roles := map[string]int{}
	var primary Database
	for _, d := range spec.Databases {
		roles[d.Role]++
		if !d.RequireSecureTransport || d.MasterUser != "plinth_admin" || len(d.MasterPassword) < 16 {
			t.Errorf("database %s: tls %v user %q password of %d characters", d.Name, d.RequireSecureTransport, d.MasterUser, len(d.MasterPassword))
		}
		if d.Role == RolePrimary {
			primary = d
		}
	}
	if roles[RolePrimary] != 1 || roles[RoleReplica] != 2 || roles[RoleDRReplica] != 1 {
		t.Fatalf("roles %v", roles)
	}
	for _, d := range spec.Databases {
		if d.Role == RoleDRReplica && vpc[d.Host] == vpc[primary.Host] {
			t.Errorf("the DR replica %s is in the primary's VPC %s", d.Name, vpc[d.Host])
		}
		if d.Role != RolePrimary && (d.Source != primary.Name || d.MasterPassword != primary.MasterPassword) {
			t.Errorf("replica %+v: want source %s and its credentials", d, primary.Name)
		}
	}
	var cachePrimaries int
	for _, c := range spec.Caches {
		if c.Source == "" {
			cachePrimaries++
		}
	}
	if len(spec.Caches) != 3 || cachePrimaries != 1 {
		t.Errorf("caches %+v", spec.Caches)
	}
	if spec.Vault == nil || spec.Vault.Retention != 90*24*time.Hour || spec.Vault.WriterToken == spec.Vault.RestoreToken {
		t.Fatalf("vault %+v", spec.Vault)
	}
	if spec.Search != "" {
		t.Logf("search: %s", spec.Search)
	}

	// The managed secret is in the local cloud's Secrets Manager (0600) and stays the same.
	var master Record
	for _, r := range recs {
		if r.Type == typeRDS && rdsRole(r) == RolePrimary {
			master = r
		}
	}
	raw, err := secrets.Get(rdsSecretID(master))
	if err != nil {
		t.Fatal(err)
	}
	var ms MasterSecret
	if err := json.Unmarshal([]byte(raw), &ms); err != nil || ms.Password != primary.MasterPassword {
		t.Fatalf("master secret %s: %v", rdsSecretID(master), err)
	}
	fi, err := os.Stat(secrets.path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v %v", fi.Mode(), err)
	}
	s2, err := StateFromRecords(recs, "ssh-ed25519 AAAA test", addrs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DataFromRecords(recs, s2, "production", OpenSecrets(secrets.path))
	if err != nil {
		t.Fatal(err)
	}
	for i := range again.Databases {
		if again.Databases[i] != spec.Databases[i] {
			t.Errorf("second derivation: %+v, want %+v", again.Databases[i], spec.Databases[i])
		}
	}
	if *again.Vault != *spec.Vault {
		t.Error("second derivation: other vault tokens")
	}
}

func TestDataFromRecordsNamesBadResources(t *testing.T) {
	recs := []Record{
		{Type: typeRDS, Name: "db-primary", ID: "db-1", Inputs: map[string]any{"dbSubnetGroupName": "nope"}},
		{Type: typeCacheGroup, Name: "cache", ID: "c-1", Inputs: map[string]any{"subnetGroupName": "gone", "numCacheClusters": 1.0}},
	}
	_, err := StateFromRecords(recs, "", nil)
	for _, want := range []string{`db-primary: db subnet group "nope"`, `cache: cache subnet group "gone"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to name %q", err, want)
		}
	}
	bad := []Record{{Type: typeBucket, Name: "vault", ID: "Not_A_Bucket"}}
	if _, err := DataFromRecords(bad, State{}, "s", OpenSecrets("")); err == nil || !strings.Contains(err.Error(), "gcp:storage/bucket:Bucket vault") {
		t.Errorf("bad bucket: %v", err)
	}
}

func TestSecretsKeepValuesInMemoryAndOnDisk(t *testing.T) {
	for _, s := range []*Secrets{OpenSecrets(""), OpenSecrets(filepath.Join(t.TempDir(), "s.json"))} {
		v, err := s.GetOrCreate("a", func() (string, error) { return "one", nil })
		if err != nil || v != "one" {
			t.Fatal(v, err)
		}
		if v, _ := s.GetOrCreate("a", func() (string, error) { return "two", nil }); v != "one" {
			t.Errorf("GetOrCreate replaced the value: %q", v)
		}
		if _, err := s.Get("missing"); err == nil || !strings.Contains(err.Error(), "secret missing") {
			t.Errorf("missing: %v", err)
		}
		if err := s.Put("b", "x"); err != nil {
			t.Fatal(err)
		}
		if ids, _ := s.IDs(); strings.Join(ids, ",") != "a,b" {
			t.Errorf("ids %v", ids)
		}
	}
}

// testHookDataTier checks the data tier the hook ran for staging's records: the database at the endpoint the
// engine was answered, TLS required, reachable from the app host with the managed secret's password; the
// cache node at the replication group's endpoint, TLS only with the token; the vault served.
func testHookDataTier(t *testing.T, p *Platform, hook *Hook, st Status, dbEndpoint, cacheAddr string) {
	t.Helper()
	if len(st.Databases) != 1 || len(st.Caches) != 1 || st.Vault == nil || st.Vault.URL == "" {
		t.Fatalf("data tier: databases %+v caches %+v vault %+v", st.Databases, st.Caches, st.Vault)
	}
	db := st.Databases[0]
	if db.Role != RolePrimary || !db.Running || db.LagSeconds != 0 || dbEndpoint != db.Address+":3306" {
		t.Errorf("database %+v, engine endpoint %q", db, dbEndpoint)
	}
	if c := st.Caches[0]; !c.Running || c.Address != cacheAddr {
		t.Errorf("cache %+v, engine endpoint %q", c, cacheAddr)
	}
	ids, err := hook.secrets("staging").IDs()
	if err != nil {
		t.Fatal(err)
	}
	var raw string
	for _, id := range ids {
		if strings.Contains(id, "rds!db") {
			raw, _ = hook.secrets("staging").Get(id)
		}
	}
	var ms MasterSecret
	if err := json.Unmarshal([]byte(raw), &ms); err != nil || ms.Password == "" {
		t.Fatalf("no managed master secret among %v: %v", ids, err)
	}
	app := ""
	for _, h := range st.Hosts {
		if h.Tier == "app" {
			app = h.Name
		}
	}
	conn := openAs(t, p, app, dbEndpoint, ms.Username, ms.Password, true)
	var one int
	if err := conn.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("app -> database over TLS as the master user: %v", err)
	}
	plain := openAs(t, p, app, dbEndpoint, ms.Username, ms.Password, false)
	if err := plain.QueryRow("SELECT 1").Scan(&one); err == nil {
		t.Error("a plain-text client was accepted")
	}
}

// TestHookRunsProductionDataTier replays production's creates of its networks, groups and data tier
// through the Hook (the instances' auto scaling groups left out: this is the data tier's test): the four
// databases run at the addresses the engine was answered, a row written to the primary (over TLS, as the
// master user of the managed secret) appears on both replicas and on the DR replica across its link, the
// replicas report their lag, the three cache nodes and the vault run; then every delete leaves nothing.
func TestHookRunsProductionDataTier(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
	}
	p := startPlatform(t, "hkp", State{})
	hook := &Hook{Platform: func(string) (*Platform, error) { return p, nil },
		Seed: func(string) ([]localcloud.Resource, error) { return nil, nil }}
	var changes []localcloud.Change
	for _, c := range stackChanges(t, environments.Production) {
		if c.Type != typeASG && c.Type != typeLT && c.Type != typeLB && c.Type != typeTG {
			changes = append(changes, c)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	start := time.Now()
	endpoints := map[string]string{}
	for _, c := range changes {
		out, err := hook.Apply(ctx, c)
		if err != nil {
			t.Fatalf("create %s: %v", c.URN, err)
		}
		if c.Type == typeRDS {
			endpoints[slug(urnName(c.URN))], _ = out["endpoint"].(string)
		}
	}
	t.Logf("production data tier up through the hook in %s", time.Since(start).Round(time.Millisecond))
	st := p.Status()
	if len(st.Databases) != 4 || len(st.Caches) != 3 || st.Vault == nil {
		t.Fatalf("data tier: %+v %+v %+v", st.Databases, st.Caches, st.Vault)
	}
	var rss int64
	var primary DatabaseStatus
	for _, d := range st.Databases {
		rss += d.RSSBytes
		if !d.Running || endpoints[d.Name] != d.Address+":3306" {
			t.Errorf("database %+v: engine endpoint %q", d, endpoints[d.Name])
		}
		if d.Role == RolePrimary {
			primary = d
		}
	}
	for _, c := range st.Caches {
		rss += c.RSSBytes
	}
	t.Logf("RSS: 4 databases and 3 cache nodes %d MiB", rss>>20)
	var ms MasterSecret
	ids, _ := hook.secrets("production").IDs()
	for _, id := range ids {
		if strings.Contains(id, "rds!db") {
			raw, _ := hook.secrets("production").Get(id)
			_ = json.Unmarshal([]byte(raw), &ms)
		}
	}
	// The master user's pool to the primary from the primary's own namespace (the replicas' namespaces
	// read their own server).
	w := openAs(t, p, primary.Name, primary.Address+":3306", ms.Username, ms.Password, true)
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS hk", "CREATE TABLE IF NOT EXISTS hk.t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO hk.t VALUES (1, 'through-the-hook')"} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, d := range st.Databases {
		if d.Role == RolePrimary {
			continue
		}
		r := openAs(t, p, d.Name, d.Address+":3306", ms.Username, ms.Password, true)
		var v string
		err := waitFor(30*time.Second, func() (bool, error) {
			return r.QueryRowContext(ctx, "SELECT v FROM hk.t WHERE id = 1").Scan(&v) == nil, nil
		})
		if err != nil || v != "through-the-hook" {
			t.Errorf("%s %s: the primary's row: %q %v", d.Role, d.Name, v, err)
		}
	}
	for _, d := range p.Status().Databases {
		if d.LagSeconds < 0 {
			t.Errorf("database %s: not replicating", d.Name)
		}
	}
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		c.Op = localcloud.OpDelete
		if _, err := hook.Apply(ctx, c); err != nil {
			t.Fatalf("delete %s: %v", c.URN, err)
		}
	}
	if st := p.Status(); len(st.Hosts) != 0 || len(st.Databases) != 0 || len(st.Caches) != 0 || st.Vault != nil {
		t.Errorf("after the deletes: %+v", st)
	}
}

// TestDataHostsKeepTheirAddressesAsTheTierGrows derives production with its primary alone, then with every
// instance: the primary's host keeps its address (a host that moved would be a new server).
func TestDataHostsKeepTheirAddressesAsTheTierGrows(t *testing.T) {
	all := stackRecords(t, environments.Production)
	var first []Record
	for _, r := range all {
		if r.Type != typeRDS || rdsRole(r) == RolePrimary {
			first = append(first, r)
		}
	}
	addrs := Addresses{}
	addrOf := func(recs []Record) map[string]string {
		s, err := StateFromRecords(recs, "k", addrs)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, h := range s.Hosts {
			out[h.Name] = h.Address.String()
		}
		return out
	}
	before, after := addrOf(first), addrOf(all)
	for name, a := range before {
		if after[name] != a {
			t.Errorf("host %s moved from %s to %s", name, a, after[name])
		}
	}
}
