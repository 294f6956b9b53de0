package live

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/components/userdata"
)

// The data tier's resources: how the engine's records become managed hosts (StateFromRecords adds them)
// and the databases, cache nodes and vault that run on them (DataFromRecords).
const (
	typeRDS           = "aws:rds/instance:Instance"
	typeRDSSubnets    = "aws:rds/subnetGroup:SubnetGroup"
	typeRDSParams     = "aws:rds/parameterGroup:ParameterGroup"
	typeCacheGroup    = "aws:elasticache/replicationGroup:ReplicationGroup"
	typeCacheSubnets  = "aws:elasticache/subnetGroup:SubnetGroup"
	typeBucket        = "gcp:storage/bucket:Bucket"
	typeSecretVersion = "aws:secretsmanager/secretVersion:SecretVersion"
	typeSearch        = "aws:opensearch/domain:Domain"
)

// dataPlays are the data tier's types whose changes reshape the live platform.
var dataPlays = []string{typeRDS, typeRDSSubnets, typeRDSParams, typeCacheGroup, typeCacheSubnets, typeBucket,
	typeSecretVersion, typeSearch}

// managedOnlyUser is the hosts' account while the state has only managed nodes (no instance's user data
// names the login user yet, or any more: during an up or a destroy).
const managedOnlyUser = "plinth"

// SearchNotLive is what `plinth local status` says of an OpenSearch domain.
const SearchNotLive = "not live: OpenSearch is not packaged for this machine; the domain stays a record of the local cloud"

// DataSpec is what the data tier runs: DataFromRecords derives it, DataTier.ApplyData runs it.
type DataSpec struct {
	Databases []Database
	Caches    []Cache
	// Vault is the backup bucket (nil: none).
	Vault *VaultOptions
	// Search says what stands in for a search domain ("" when the stack has none).
	Search string
	// Apps are the instance tiers' views of the data tier, read from their user data (appenv.go).
	Apps map[string]userdata.Data
}

// rdsRole classifies an RDS instance: a primary has no source; a replica whose source is an ARN (a
// cross-region replica names its source so) or that has a subnet group of its own is the DR replica.
func rdsRole(r Record) string {
	src := str(r, "replicateSourceDb")
	switch {
	case src == "":
		return RolePrimary
	case strings.HasPrefix(src, "arn:") || str(r, "dbSubnetGroupName") != "":
		return RoleDRReplica
	}
	return RoleReplica
}

// rdsSource finds the primary a replica names (by identifier or ARN).
func (d *deriver) rdsSource(r Record) (Record, bool) {
	src := str(r, "replicateSourceDb")
	for _, p := range d.byType[typeRDS] {
		if src != "" && (src == str(p, "identifier") || src == str(p, "arn") || src == id(p)) {
			return p, true
		}
	}
	return Record{}, false
}

// byName finds a record of typ whose name output or id is name.
func (d *deriver) byName(typ, name string) (Record, bool) {
	for _, r := range d.byType[typ] {
		if name != "" && (str(r, "name") == name || id(r) == name) {
			return r, true
		}
	}
	return Record{}, false
}

// pickSubnet is the subnet of ids in zone az (the first when none is).
func (d *deriver) pickSubnet(ids []string, az string, i int) string {
	if len(ids) == 0 {
		return ""
	}
	for _, s := range ids {
		for _, r := range d.byType[typeSubnet] {
			if id(r) == s && az != "" && str(r, "availabilityZone") == az {
				return s
			}
		}
	}
	return ids[i%len(ids)]
}

// managedHosts are the data tier's nodes: one host per RDS instance (named after the resource) in its
// subnet group's subnet (a replica in its primary's group, in its availability zone), one per cache node of a
// replication group (<group>-1 the primary); no sshd, the resource's security groups.
func (d *deriver) managedHosts() []Host {
	var out []Host
	add := func(r Record, name, tier, subnetID string, groups []string) {
		sn, addr, ok := d.allocate(r, "data/"+name, subnetID)
		if !ok {
			return
		}
		out = append(out, Host{Name: name, Tier: tier, VPC: sn.vpc, Address: addr, Subnet: sn.cidr, Groups: groups})
	}
	for _, r := range d.byType[typeRDS] {
		group := str(r, "dbSubnetGroupName")
		if group == "" {
			if src, ok := d.rdsSource(r); ok {
				group = str(src, "dbSubnetGroupName")
			}
		}
		sg, ok := d.byName(typeRDSSubnets, group)
		if !ok {
			d.fail(r, "db subnet group %q: no such subnet group (of the instance or its source)", group)
			continue
		}
		// The instance's zone's subnet, else the group's first: never by position among the instances, which
		// changes as they are created (a host that moved subnet would be a new host).
		add(r, slug(r.Name), firstNonEmpty(tag(r, "plinth:tier"), "db"), d.pickSubnet(strs(sg, "subnetIds"), str(r, "availabilityZone"), 0),
			strs(r, "vpcSecurityGroupIds"))
	}
	for _, r := range d.byType[typeCacheGroup] {
		sg, ok := d.byName(typeCacheSubnets, str(r, "subnetGroupName"))
		if !ok {
			d.fail(r, "cache subnet group %q: no such subnet group", str(r, "subnetGroupName"))
			continue
		}
		for i := 0; i < max(num(r, "numCacheClusters"), 1); i++ {
			add(r, cacheNodeName(r, i), firstNonEmpty(tag(r, "plinth:tier"), "cache"), d.pickSubnet(strs(sg, "subnetIds"), "", i),
				strs(r, "securityGroupIds"))
		}
	}
	return out
}

func cacheNodeName(r Record, i int) string {
	base := slug(r.Name)
	if len(base) > 28 {
		base = strings.TrimRight(base[:28], "-")
	}
	return fmt.Sprintf("%s-%d", base, i+1)
}

// rdsSecretID is the id of the managed master-user secret of a primary (the ARN the engine returned).
func rdsSecretID(r Record) string {
	return firstNonEmpty(str(r, "masterUserSecrets.0.secretArn"), "rds!"+firstNonEmpty(str(r, "identifier"), id(r)))
}

// Well-known secrets of a stack in the local cloud's Secrets Manager (plinth's own, not the program's).
func VaultTokenID(stack, identity string) string {
	return "plinth/" + stack + "/vault-" + identity + "-token"
}

// DataFromRecords derives what the data tier runs on the hosts StateFromRecords placed (s): each RDS instance
// a database with the master user's password from the managed secret (created in secrets on first use, as
// RDS does), require_secure_transport from its parameter group; each cache replication group's nodes with
// the program's auth token; the backup bucket's vault with its retention and the writer and restore
// identities' tokens (kept in secrets); the secret versions' values are stored in secrets. Every problem is reported, naming its resource.
func DataFromRecords(recs []Record, s State, stack string, secrets *Secrets) (DataSpec, error) {
	d := &deriver{byType: map[string][]Record{}}
	for _, r := range recs {
		d.byType[r.Type] = append(d.byType[r.Type], r)
	}
	for _, rs := range d.byType {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	}
	hosts := map[string]bool{}
	for _, h := range s.Hosts {
		hosts[h.Name] = true
	}
	var spec DataSpec
	creds := map[string]MasterSecret{}
	primaries := func(want bool) []Record {
		var out []Record
		for _, r := range d.byType[typeRDS] {
			if (rdsRole(r) == RolePrimary) == want {
				out = append(out, r)
			}
		}
		return out
	}
	for _, r := range append(primaries(true), primaries(false)...) {
		name := slug(r.Name)
		if !hosts[name] {
			continue // StateFromRecords reported why
		}
		db := Database{Name: name, Host: name, Role: rdsRole(r), RequireSecureTransport: d.secureTransport(r)}
		if db.Role == RolePrimary {
			c, err := masterCredentials(r, secrets)
			if err != nil {
				d.fail(r, "%v", err)
				continue
			}
			creds[name] = c
			db.MasterUser, db.MasterPassword = c.Username, c.Password
			app, err := appCredentials(stack, secrets)
			if err != nil {
				d.fail(r, "%v", err)
				continue
			}
			db.AppUser, db.AppPassword = app.Username, app.Password
		} else {
			src, ok := d.rdsSource(r)
			if !ok {
				d.fail(r, "replicateSourceDb %q: no such instance", str(r, "replicateSourceDb"))
				continue
			}
			db.Source = slug(src.Name)
			c := creds[db.Source]
			db.MasterUser, db.MasterPassword = c.Username, c.Password
		}
		spec.Databases = append(spec.Databases, db)
	}
	for _, r := range d.byType[typeCacheGroup] {
		token, err := cacheToken(r, secrets)
		if err != nil {
			d.fail(r, "%v", err)
			continue
		}
		for i := 0; i < max(num(r, "numCacheClusters"), 1); i++ {
			c := Cache{Name: cacheNodeName(r, i), Host: cacheNodeName(r, i), AuthToken: token}
			if i > 0 {
				c.Source = cacheNodeName(r, 0)
			}
			if hosts[c.Host] {
				spec.Caches = append(spec.Caches, c)
			}
		}
	}
	for _, r := range d.byType[typeSecretVersion] {
		// Secrets Manager keeps what the program stored (the engine masks it as "[secret]" offline).
		if v := str(r, "secretString"); v != "" && v != "[secret]" && str(r, "secretId") != "" {
			if err := secrets.Put(str(r, "secretId"), v); err != nil {
				d.fail(r, "%v", err)
			}
		}
	}
	if bs := d.byType[typeBucket]; len(bs) > 0 {
		v, err := vaultOptions(bs[0], stack, secrets)
		if err != nil {
			d.fail(bs[0], "%v", err)
		} else {
			spec.Vault = &v
		}
	}
	if len(d.byType[typeSearch]) > 0 {
		spec.Search = SearchNotLive
	}
	spec.Apps = d.appData()
	if err := errors.Join(d.errs...); err != nil {
		return DataSpec{}, err
	}
	return spec, nil
}

// secureTransport reads require_secure_transport from the instance's parameter group (ON or 1).
func (d *deriver) secureTransport(r Record) bool {
	pg, ok := d.byName(typeRDSParams, str(r, "parameterGroupName"))
	if !ok {
		return false
	}
	for i := 0; ; i++ {
		p := fmt.Sprintf("parameters.%d.", i)
		n := str(pg, p+"name")
		if n == "" {
			return false
		}
		if n == "require_secure_transport" {
			v := strings.ToUpper(str(pg, p+"value"))
			return v == "ON" || v == "1" || v == "TRUE"
		}
	}
}

// masterCredentials is the primary's managed master-user secret: read from the store, created there (a
// random password, as RDS generates one) when the program asked RDS to manage it and it is not there yet.
func masterCredentials(r Record, secrets *Secrets) (MasterSecret, error) {
	return storedCredentials(secrets, rdsSecretID(r), firstNonEmpty(str(r, "username"), "admin"))
}

// storedCredentials reads a database user's secret (JSON: username, password), creating it with user and a
// random password when the store does not have it yet.
func storedCredentials(secrets *Secrets, secretID, user string) (MasterSecret, error) {
	raw, err := secrets.GetOrCreate(secretID, func() (string, error) {
		b, err := json.Marshal(MasterSecret{Username: user, Password: randomToken(16)})
		return string(b), err
	})
	if err != nil {
		return MasterSecret{}, err
	}
	var c MasterSecret
	if err := json.Unmarshal([]byte(raw), &c); err != nil || c.Password == "" {
		return MasterSecret{}, fmt.Errorf("secret %s: want JSON with username and password", secretID)
	}
	if c.Username == "" {
		c.Username = user
	}
	return c, nil
}

// cacheToken is the replication group's auth token as the program set it; where the engine masked it (an
// offline evaluation's "[secret]") one is generated and kept in the store.
func cacheToken(r Record, secrets *Secrets) (string, error) {
	t := str(r, "authToken")
	if len(t) >= 16 && !strings.ContainsAny(t, " \t\r\n\"'\\@[]") {
		return t, nil
	}
	return secrets.GetOrCreate("elasticache!"+firstNonEmpty(id(r), r.Name)+"/auth-token", func() (string, error) { return randomToken(24), nil })
}

// vaultOptions are the bucket's name and retention policy and the identities' tokens (created on first use).
func vaultOptions(r Record, stack string, secrets *Secrets) (VaultOptions, error) {
	o := VaultOptions{Bucket: firstNonEmpty(str(r, "name"), id(r))}
	secs := num(r, "retentionPolicy.retentionPeriod")
	if secs == 0 {
		secs = num(r, "retentionPolicy.0.retentionPeriod")
	}
	o.Retention = time.Duration(secs) * time.Second
	for _, p := range []struct {
		id  string
		dst *string
	}{{VaultWriter, &o.WriterToken}, {VaultRestore, &o.RestoreToken}} {
		t, err := secrets.GetOrCreate(VaultTokenID(stack, p.id), func() (string, error) { return randomToken(24), nil })
		if err != nil {
			return o, err
		}
		*p.dst = t
	}
	return o, o.validate()
}
