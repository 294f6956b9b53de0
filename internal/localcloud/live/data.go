package live

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The data tier as the engine drives it: the Hook derives a DataSpec from the stack's records
// (DataFromRecords) and, around Platform.Apply, prunes what is gone (PruneData: a database stops before its
// host goes) and then runs the rest (ApplyData). The platform owns its tier (Platform.Data) and closes it
// first.

// Data is the platform's data tier.
func (p *Platform) Data() *DataTier { return p.data }

// PruneData stops the databases and cache nodes spec no longer has, or whose host s no longer has, and the
// vault when spec has none: call it before Platform.Apply(s).
func (dt *DataTier) PruneData(s State, spec DataSpec) error {
	hosts := map[string]bool{}
	for _, h := range s.Hosts {
		hosts[h.Name] = true
	}
	dt.mu.Lock()
	defer dt.mu.Unlock()
	var errs []error
	wantDB := map[string]Database{}
	for _, d := range spec.Databases {
		wantDB[d.Name] = d
	}
	for _, role := range []string{RoleDRReplica, RoleReplica, RolePrimary} {
		for _, n := range sortedKeys(dt.dbs) {
			d, ok := wantDB[n]
			if dt.dbs[n].spec.Role == role && (!ok || !hosts[d.Host] || d != dt.dbs[n].spec) {
				errs = append(errs, dt.stopDB(n))
			}
		}
	}
	wantCache := map[string]Cache{}
	for _, c := range spec.Caches {
		wantCache[c.Name] = c
	}
	for _, n := range sortedKeys(dt.caches) {
		if c, ok := wantCache[n]; !ok || !hosts[c.Host] || c != dt.caches[n].spec {
			errs = append(errs, dt.stopCache(n))
		}
	}
	if spec.Vault == nil || (len(dt.vaults) > 0 && !sameVault(dt.vaults[0].opts, *spec.Vault, dt.vaultDir(spec.Vault.Bucket))) {
		errs = append(errs, dt.closeVaults())
	}
	dt.search = spec.Search
	return errors.Join(errs...)
}

func sameVault(running, want VaultOptions, dir string) bool {
	want.Dir = dir
	return running == want
}

func (dt *DataTier) vaultDir(bucket string) string {
	return filepath.Join(dt.p.dir, "vault", bucket, "objects")
}

// ApplyData runs spec on the platform's hosts (after Platform.Apply with WithReplication(s, spec.Databases,
// spec.Caches)): the databases (replication set up), the cache nodes, the vault.
func (dt *DataTier) ApplyData(ctx context.Context, spec DataSpec) error {
	if err := dt.ApplyDatabases(ctx, spec.Databases); err != nil {
		return err
	}
	if err := dt.ApplyCaches(ctx, spec.Caches); err != nil {
		return err
	}
	if spec.Vault == nil {
		return nil
	}
	dt.mu.Lock()
	running := len(dt.vaults) > 0
	dt.mu.Unlock()
	if running {
		return nil
	}
	o := *spec.Vault
	o.Dir = dt.vaultDir(o.Bucket)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("vault %s: %w", o.Bucket, err)
	}
	v, err := dt.ServeVault(l, o)
	if err != nil {
		_ = l.Close()
		return err
	}
	if err := dt.serveVaultOnPlatform(v); err != nil {
		return err
	}
	// The identities' tokens as files (0600) for gs:// URLs' token_file (what `plinth backup` uses).
	files := map[string]string{}
	for id, tok := range map[string]string{VaultWriter: o.WriterToken, VaultRestore: o.RestoreToken} {
		f := filepath.Join(filepath.Dir(o.Dir), id+".token")
		if err := os.WriteFile(f, []byte(tok+"\n"), 0o600); err != nil {
			return fmt.Errorf("vault %s: %w", o.Bucket, err)
		}
		files[id] = f
	}
	dt.mu.Lock()
	v.tokenFiles = files
	dt.mu.Unlock()
	return nil
}

// DataStatus is the data tier in `plinth local status`.
type DataStatus struct {
	Databases []DatabaseStatus `json:"databases"`
	Caches    []CacheStatus    `json:"caches"`
	Vault     *VaultStatus     `json:"vault,omitempty"`
	Search    string           `json:"search,omitempty"`
	// SecretsFile is the local cloud's Secrets Manager (the master and backup users' secrets).
	SecretsFile string `json:"secretsFile,omitempty"`
}

// Status reports the tier (a replica's lag read from the server, bounded by ctx).
func (dt *DataTier) Status(ctx context.Context) DataStatus {
	st := DataStatus{Databases: dt.Databases(ctx), Caches: dt.Caches(), Vault: dt.Vault()}
	if st.Databases == nil {
		st.Databases = []DatabaseStatus{}
	}
	if st.Caches == nil {
		st.Caches = []CacheStatus{}
	}
	dt.mu.Lock()
	st.Search, st.SecretsFile = dt.search, dt.secretsFile
	dt.mu.Unlock()
	return st
}

// hostAddress is the address of a running host of the platform ("" when none runs).
func (p *Platform) hostAddress(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.hosts[name]; ok {
		return h.spec.Address.String()
	}
	return ""
}

// DataOutputs returns the outputs of a data-tier resource as the live tier answers them: an RDS instance's
// address and endpoint are its server's address, a replication group's primary and reader endpoints its
// nodes' (what the inventory, `plinth backup` and the sample service then use). Other resources' outputs are
// returned as they are.
func (p *Platform) DataOutputs(typ, name string, outputs map[string]any) map[string]any {
	set := func(kv map[string]string) map[string]any {
		out := maps.Clone(outputs)
		if out == nil {
			out = map[string]any{}
		}
		for k, v := range kv {
			if v != "" {
				out[k] = v
			}
		}
		return out
	}
	switch typ {
	case typeRDS:
		if a := p.hostAddress(slug(name)); a != "" {
			return set(map[string]string{"address": a, "endpoint": net.JoinHostPort(a, strconv.Itoa(MySQLPort))})
		}
	case typeCacheGroup:
		r := Record{Name: name}
		primary := p.hostAddress(cacheNodeName(r, 0))
		reader := p.hostAddress(cacheNodeName(r, 1))
		if reader == "" {
			reader = primary
		}
		return set(map[string]string{"primaryEndpointAddress": primary, "readerEndpointAddress": reader})
	}
	return outputs
}

// reconcileData is the Hook's data step around Platform.Apply: prune, apply the state with the managed
// replication flows, run the data tier; the app tiers' secrets resolve from apps.
func reconcileData(ctx context.Context, p *Platform, s State, spec DataSpec, secrets *Secrets, apps secretReader) error {
	dt := p.Data()
	dt.mu.Lock()
	dt.secretsFile = secrets.path
	dt.mu.Unlock()
	if err := dt.PruneData(s, spec); err != nil {
		return err
	}
	if err := p.Apply(ctx, WithReplication(s, spec.Databases, spec.Caches)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := dt.ApplyData(ctx, spec); err != nil {
		return err
	}
	return p.applyApps(spec.Apps, apps)
}
