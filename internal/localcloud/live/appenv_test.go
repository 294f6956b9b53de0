package live

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/environments"
)

// TestAppDataFromRecords: the app tier's view of the data tier is read back from its launch template's user
// data (what the program rendered: the writer, a replica, the cache primary, the secrets' ids); only the app
// tier has one; the primary gets the application user, whose password is its own secret, stable.
func TestAppDataFromRecords(t *testing.T) {
	for _, stack := range []string{environments.Staging, environments.Production} {
		recs := stackRecords(t, stack)
		s, err := StateFromRecords(recs, "ssh-ed25519 AAAA test", Addresses{})
		if err != nil {
			t.Fatal(err)
		}
		secrets := OpenSecrets("")
		spec, err := DataFromRecords(recs, s, stack, secrets)
		if err != nil {
			t.Fatal(err)
		}
		app, ok := spec.Apps["app"]
		if len(spec.Apps) != 1 || !ok {
			t.Fatalf("%s: apps %+v", stack, spec.Apps)
		}
		var writer string
		for _, r := range recs {
			if r.Type == typeRDS && rdsRole(r) == RolePrimary {
				writer = str(r, "endpoint")
			}
		}
		if app.Writer != writer || app.DBSecretID != userdata.AppDBSecretID(stack) || !strings.HasSuffix(app.CacheAddr, ":6379") ||
			!strings.HasPrefix(app.CacheTokenSecretID, "arn:aws:secretsmanager:") || (app.Reader == app.Writer) != (stack == environments.Staging) {
			t.Errorf("%s: app data %+v (writer %s)", stack, app, writer)
		}
		for _, d := range spec.Databases {
			if (d.AppUser != "") != (d.Role == RolePrimary) {
				t.Errorf("%s: database %s (%s) app user %q", stack, d.Name, d.Role, d.AppUser)
			}
			if d.Role != RolePrimary {
				continue
			}
			raw, err := secrets.Get(userdata.AppDBSecretID(stack))
			var c MasterSecret
			if err != nil || json.Unmarshal([]byte(raw), &c) != nil || c.Username != userdata.AppDBUser || c.Password != d.AppPassword ||
				len(c.Password) < 16 || c.Password == d.MasterPassword {
				t.Errorf("%s: app secret %v: user %q, password of %d characters", stack, err, c.Username, len(c.Password))
			}
		}
		again, err := DataFromRecords(recs, s, stack, secrets)
		if err != nil || !slices.Equal(again.Databases, spec.Databases) {
			t.Errorf("%s: a second derivation differs: %v", stack, err)
		}
	}
}

// TestServiceEnvResolvesSecrets: an app host's environment file is the user data's (the renderer EC2 uses),
// the CA it names is placed on the host, and each start of the unit resolves the secrets from the local
// Secrets Manager into a 0600 file of the service user's; the supervisor's environment has both. A missing
// secret or an unsafe value fails the start naming the secret or variable, never a value.
func TestServiceEnvResolvesSecrets(t *testing.T) {
	p, rh, svc := appHost(t)
	data := userdata.Data{Writer: "10.0.20.5:3306", Reader: "10.0.21.5:3306", DBSecretID: userdata.AppDBSecretID("staging"),
		CacheAddr: "10.0.20.9:6379", CacheTokenSecretID: "arn:aws:secretsmanager:eu-west-1:1:secret:tok-abcdef"}
	secrets := OpenSecrets("")
	_ = secrets.Put(data.DBSecretID, `{"username":"plinth_app","password":"0123456789abcdef"}`)
	_ = secrets.Put(data.CacheTokenSecretID, "tokentokentokentoken")

	// Without the data tier: the plain service's file, no secrets file.
	if err := p.writeAppFiles(rh); err != nil {
		t.Fatal(err)
	}
	env, err := p.serviceEnv(rh, svc)
	if err != nil || !slices.Contains(env, "PORT=8443") || slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PLINTH_DB") }) {
		t.Fatalf("plain service env %v %v", env, err)
	}

	p.apps.set(map[string]appEnv{"app": {data: data, secrets: secrets}})
	if err := p.writeAppFiles(rh); err != nil {
		t.Fatal(err)
	}
	want, _ := userdata.AppEnvironmentFileContent(svc, data)
	if got, _ := os.ReadFile(rh.path("default/plinth-app")); string(got) != want {
		t.Errorf("environment file:\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(rh.path("srv/plinth/tls/ca.pem")); err != nil {
		t.Errorf("the CA file is not on the host: %v", err)
	}
	env, err = p.serviceEnv(rh, svc)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range []string{"PLINTH_DB_WRITER=10.0.20.5:3306", "PLINTH_DB_USER=plinth_app", "PLINTH_DB_PASSWORD=0123456789abcdef",
		"PLINTH_CACHE_TOKEN=tokentokentokentoken", "PLINTH_CA_FILE=/srv/plinth/tls/ca.pem", "USER=plinth"} {
		if !slices.Contains(env, kv) {
			t.Errorf("service env lacks %s: %v", kv, env)
		}
	}
	fi, err := os.Stat(rh.path("default/plinth-app.secrets"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o600 || st.Uid != userUID || st.Gid != userGID {
		t.Errorf("secrets file %v uid %d gid %d, want 0600 %d:%d", fi.Mode(), st.Uid, st.Gid, userUID, userGID)
	}

	_ = secrets.Put(data.CacheTokenSecretID, "token with 'quote")
	if _, err := p.serviceEnv(rh, svc); err == nil || !strings.Contains(err.Error(), "PLINTH_CACHE_TOKEN") || strings.Contains(err.Error(), "quote") {
		t.Errorf("unsafe token: %v", err)
	}
	p.apps.set(map[string]appEnv{"app": {data: data, secrets: OpenSecrets("")}})
	if _, err := p.serviceEnv(rh, svc); err == nil || !strings.Contains(err.Error(), data.DBSecretID) {
		t.Errorf("missing secret: %v", err)
	}
}

// TestDrillAppReadsOnlyTheSourcesAppSecret: a drill stack's app tier is told of the drill database and of
// production's application-user secret (stacks.BuildDrill), no cache; its unit resolves exactly that secret
// from production's Secrets Manager (the drill stack has none of its own) and is refused any other of
// production's (its master secret) and its own stack's; the secrets file has the user and password only.
func TestDrillAppReadsOnlyTheSourcesAppSecret(t *testing.T) {
	const id = "drill-20261203T063000Z"
	stack := environments.DrillStackName("production", id)
	prod, drill := drillStackRecords(t, id)
	net, err := drNetworkRecords(prod)
	if err != nil {
		t.Fatal(err)
	}
	recs := append(drill, net...)
	s, err := StateFromRecords(recs, "ssh-ed25519 AAAA test", Addresses{})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := DataFromRecords(recs, s, stack, OpenSecrets(""))
	if err != nil {
		t.Fatal(err)
	}
	want := userdata.Data{Writer: "10.31.2.250:3306", Reader: "10.31.2.250:3306", Database: userdata.AppSchema,
		DBSecretID: userdata.AppDBSecretID("production"), CAFile: userdata.CAFile}
	if len(spec.Apps) != 1 || spec.Apps["app"] != want || len(spec.Databases) != 0 || len(spec.Caches) != 0 {
		t.Fatalf("drill data: apps %+v, databases %v, caches %v; want app %+v", spec.Apps, spec.Databases, spec.Caches, want)
	}

	h := &Hook{}
	prodSecrets := h.secrets("production")
	const master = "rds!production-db"
	_ = prodSecrets.Put(master, `{"username":"admin","password":"master-0123456789"}`)
	_ = prodSecrets.Put(want.DBSecretID, `{"username":"plinth_app","password":"app-0123456789abc"}`)
	if h.appSecrets("production") != secretReader(prodSecrets) {
		t.Error("production's app tier does not read production's own store")
	}
	reader := h.appSecrets(stack)
	if v, err := reader.Get(want.DBSecretID); err != nil || !strings.Contains(v, "app-0123456789abc") {
		t.Errorf("the drill app cannot read production's app secret: %v", err)
	}
	for _, other := range []string{master, userdata.AppDBSecretID(stack), "plinth/production/db-backup-user"} {
		if v, err := reader.Get(other); err == nil || !strings.Contains(err.Error(), "may read only "+want.DBSecretID) || strings.Contains(err.Error(), "master-") {
			t.Errorf("drill app read %s: %q %v", other, v, err)
		}
	}

	p, rh, svc := appHost(t)
	if err := p.applyApps(spec.Apps, reader); err != nil {
		t.Fatal(err)
	}
	if err := p.writeAppFiles(rh); err != nil {
		t.Fatal(err)
	}
	env, err := p.serviceEnv(rh, svc)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range []string{"PLINTH_DB_WRITER=10.31.2.250:3306", "PLINTH_DB_READER=10.31.2.250:3306", "PLINTH_DB_USER=plinth_app",
		"PLINTH_DB_PASSWORD=app-0123456789abc", "PLINTH_DB_SECRET_ID=" + want.DBSecretID} {
		if !slices.Contains(env, kv) {
			t.Errorf("drill app env lacks %s: %v", kv, env)
		}
	}
	if slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PLINTH_CACHE") }) {
		t.Errorf("drill app env names a cache: %v", env)
	}
	if b, _ := os.ReadFile(rh.path("default/plinth-app")); strings.Contains(string(b), "app-0123456789abc") {
		t.Error("the environment file holds the password")
	}
	// The drill app's data naming another secret of production: refused at the unit's start, naming it.
	bad := spec.Apps["app"]
	bad.DBSecretID = master
	if err := p.applyApps(map[string]userdata.Data{"app": bad}, reader); err != nil {
		t.Fatal(err)
	}
	if _, err := p.serviceEnv(rh, svc); err == nil || !strings.Contains(err.Error(), master) {
		t.Errorf("drill app with production's master secret: %v", err)
	}
}

// appHost is a platform with a CA file and an app host's directories, for the unit's files (root: chown).
func appHost(t *testing.T) (*Platform, *host, userdata.Service) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("chown to the service user needs root, which make test and CI have (running as uid %d)", os.Geteuid())
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Platform{ca: &CA{CAFile: caFile}}
	svc := userdata.Service{Tier: "app", User: "plinth", Port: 8443}
	rh := &host{spec: Host{Name: "app-1", Service: &svc}, dir: filepath.Join(dir, "app-1")}
	for _, d := range []string{"default", "srv/plinth"} {
		if err := os.MkdirAll(rh.path(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return p, rh, svc
}
