package live

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-sql-driver/mysql"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// The app tier's environment, as on EC2: the tier's user data (components/tier) names the data tier in the
// unit's environment file (endpoints and the secrets' ids, components/userdata). The live cloud reads that
// file back from the launch template (appDataFromRecords), writes the same file on each host of the tier with
// the live CA at userdata.CAFile, and at every start of the unit resolves the secrets it names from the local
// Secrets Manager into the secrets file (0600, the service user's) — what the unit's ExecStartPre does with
// Secrets Manager on EC2 — before the supervisor reads both files, as systemd does. The application user
// (userdata.AppDBUser: DML on its schema only) is created on the primary from the master secret, its
// password its own secret (userdata.AppDBSecretID).

// appEnv is a tier's data-tier environment and the store its secrets resolve from.
type appEnv struct {
	data    userdata.Data
	secrets secretReader
}

// secretReader is what an app tier's unit reads its secrets from: the stack's local Secrets Manager, or a
// drill stack's view of its source's (drillSecrets).
type secretReader interface {
	Get(id string) (string, error)
}

// drillSecrets is what a DR drill stack's app tier may read: its source's application-user secret and
// nothing else (not the source's master secret, not another stack's), from the source's Secrets Manager. The
// drill's app writes to the drill database, which holds the source's users (promoted from its DR replica);
// on AWS the same secret is read in the DR region (docs/drill.md).
type drillSecrets struct {
	source string
	store  *Secrets
}

func (d drillSecrets) Get(id string) (string, error) {
	if want := userdata.AppDBSecretID(d.source); id != want {
		return "", fmt.Errorf("secret %s: a drill stack of %s may read only %s", id, d.source, want)
	}
	return d.store.Get(id)
}

// appSecrets is the store stack's app tiers read their secrets from: a drill stack's is drillSecrets of
// its source's store.
func (h *Hook) appSecrets(stack string) secretReader {
	if source, _, ok := DrillSource(stack); ok {
		return drillSecrets{source: source, store: h.secrets(source)}
	}
	return h.secrets(stack)
}

// appEnvs are the tiers' (tier -> appEnv), set by the data tier's reconcile, read when a host starts.
type appEnvs struct {
	mu sync.Mutex
	m  map[string]appEnv
}

func (a *appEnvs) get(tier string) (appEnv, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.m[tier]
	return e, ok
}

func (a *appEnvs) set(m map[string]appEnv) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m = m
}

// appData reads each instance tier's Data from its launch template's user data: the environment file the
// boot script writes (none: the tier does not use the data tier).
func (d *deriver) appData() map[string]userdata.Data {
	out := map[string]userdata.Data{}
	for _, lt := range d.byType[typeLT] {
		tier := tag(lt, "plinth:tier")
		script, err := base64.StdEncoding.DecodeString(str(lt, "userData"))
		if err != nil || tier == "" {
			continue // hosts() reports it
		}
		env, ok := heredoc(string(script), userdata.Service{Tier: tier}.EnvironmentFile())
		if !ok {
			continue
		}
		data, ok, err := userdata.DataFromEnvironment(userdata.ParseEnvironmentFile(env))
		if err != nil {
			d.fail(lt, "user data: %v", err)
			continue
		}
		if ok {
			out[tier] = data
		}
	}
	return out
}

// heredoc is the body of the boot script's `cat > path <<'ENV'` here-document.
func heredoc(script, path string) (string, bool) {
	start := "cat > " + path + " <<'ENV'\n"
	i := strings.Index(script, start)
	if i < 0 {
		return "", false
	}
	body := script[i+len(start):]
	j := strings.Index(body, "\nENV\n")
	if j < 0 {
		return "", false
	}
	return body[:j+1], true
}

// appCredentials is the application user's secret: created (a random password) on first use.
func appCredentials(stack string, secrets *Secrets) (MasterSecret, error) {
	return storedCredentials(secrets, userdata.AppDBSecretID(stack), userdata.AppDBUser)
}

// grantApp creates the application user on a primary, connected as the master user (the managed secret's
// credentials) over the server's socket; the schema, its health table and the account replicate.
func (dt *DataTier) grantApp(ctx context.Context, r *dbRunning) error {
	if r.spec.AppUser == "" {
		return nil
	}
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = r.spec.MasterUser, r.spec.MasterPassword, "unix", r.socket()
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	return mysqlx.GrantAppUser(ctx, db, r.spec.AppUser, r.spec.AppPassword, userdata.AppSchema)
}

// applyApps records the tiers' environments and rewrites the files of the running hosts of those tiers (the
// unit reads them at its next start: a deploy's restart).
func (p *Platform) applyApps(apps map[string]userdata.Data, secrets secretReader) error {
	m := map[string]appEnv{}
	for tier, d := range apps {
		m[tier] = appEnv{data: d, secrets: secrets}
	}
	p.apps.set(m)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range sortedKeys(p.hosts) {
		rh := p.hosts[n]
		if rh.spec.Service == nil {
			continue
		}
		if err := p.writeAppFiles(rh); err != nil {
			return fmt.Errorf("host %s: %w", n, err)
		}
	}
	return nil
}

// writeAppFiles writes a service host's environment file: the data tier's as the user data renders it,
// with the CA file it names, when its tier uses the data tier; the plain service's otherwise.
func (p *Platform) writeAppFiles(rh *host) error {
	s := *rh.spec.Service
	app, ok := p.apps.get(s.Tier)
	if !ok {
		env, err := userdata.EnvironmentFileContent(s)
		if err != nil {
			return err
		}
		return writeFileMode(rh.path("default/"+filepath.Base(s.EnvironmentFile())), env, 0o644)
	}
	env, err := userdata.AppEnvironmentFileContent(s, app.data)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(p.ca.CAFile)
	if err != nil {
		return err
	}
	caPath := rh.path("srv/" + strings.TrimPrefix(firstNonEmpty(app.data.CAFile, userdata.CAFile), "/srv/"))
	if err := os.MkdirAll(filepath.Dir(caPath), 0o755); err != nil {
		return err
	}
	if err := writeFileMode(caPath, string(ca), 0o644); err != nil {
		return err
	}
	return writeFileMode(rh.path("default/"+filepath.Base(s.EnvironmentFile())), env, 0o644)
}

// serviceEnv is the unit's environment at a start, as systemd builds it: the environment file, then (a
// tier using the data tier) the secrets it names, resolved now from the local Secrets Manager into the
// secrets file, 0600 and the service user's. An error names the secret, never its value.
func (p *Platform) serviceEnv(rh *host, s userdata.Service) ([]string, error) {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/" + s.User, "USER=" + s.User}
	files := []string{rh.path("default/" + filepath.Base(s.EnvironmentFile()))}
	if app, ok := p.apps.get(s.Tier); ok {
		f := rh.path("default/" + filepath.Base(s.SecretsFile()))
		if err := resolveSecrets(app, s, f); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		kv := userdata.ParseEnvironmentFile(string(b))
		for _, k := range sortedKeys(kv) {
			env = append(env, k+"="+kv[k])
		}
	}
	return env, nil
}

// resolveSecrets writes the secrets file of a unit from the local Secrets Manager: the ids its Data names
// (the cache token's only when it names a cache), nothing else.
func resolveSecrets(app appEnv, s userdata.Service, path string) error {
	raw, err := app.secrets.Get(app.data.DBSecretID)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Unit(), err)
	}
	var db MasterSecret
	if err := json.Unmarshal([]byte(raw), &db); err != nil {
		return fmt.Errorf("%s: secret %s: want JSON with username and password", s.Unit(), app.data.DBSecretID)
	}
	var token string
	if app.data.HasCache() {
		if token, err = app.secrets.Get(app.data.CacheTokenSecretID); err != nil {
			return fmt.Errorf("%s: %w", s.Unit(), err)
		}
		if token == "" {
			return fmt.Errorf("%s: secret %s: empty", s.Unit(), app.data.CacheTokenSecretID)
		}
	}
	content, err := userdata.SecretsFileContent(s, userdata.Secrets{DBUser: db.Username, DBPassword: db.Password, CacheToken: token})
	if err != nil {
		return err
	}
	tmp := path + ".new"
	if err := writeFileMode(tmp, content, 0o600); err != nil {
		return err
	}
	if err := os.Chown(tmp, userUID, userGID); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeFileMode writes content with mode (whatever the umask).
func writeFileMode(path, content string, mode os.FileMode) error {
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}
