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
