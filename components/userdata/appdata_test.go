package userdata

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

var testData = Data{Writer: "db.internal:3306", Reader: "db-replica.internal:3306", DBSecretID: AppDBSecretID("staging"),
	CacheAddr: "cache.internal:6379", CacheTokenSecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:cache-token-AbCdEf"}

// TestAppServiceGolden pins what an app host that uses the data tier runs: the environment file (endpoints
// and the secrets' ids, no value), the unit with its ExecStartPre, the EC2 secrets script and the secrets file
// both clouds write.
func TestAppServiceGolden(t *testing.T) {
	s := Service{Tier: "app", User: "plinth", Port: 8443}
	env := must(t)(AppEnvironmentFileContent(s, testData))
	golden(t, "plinth-app-data.env", env)
	golden(t, "plinth-app-data.service", must(t)(AppServiceUnit(s)))
	golden(t, "plinth-app-secrets.sh", must(t)(SecretsScript(s, "us-east-1")))
	secrets := must(t)(SecretsFileContent(s, Secrets{DBUser: AppDBUser, DBPassword: "0123abcd0123abcd", CacheToken: "tok3nTOK3Ntok3n0"}))
	golden(t, "plinth-app.secrets", secrets)
	// The environment file reads back into the same Data (what the live cloud does with the user data).
	got, ok, err := DataFromEnvironment(ParseEnvironmentFile(env))
	want := testData
	want.Database, want.CAFile = AppSchema, CAFile
	if err != nil || !ok || got != want {
		t.Errorf("DataFromEnvironment: %+v %v %v, want %+v", got, ok, err, want)
	}
	if _, ok, err := DataFromEnvironment(ParseEnvironmentFile(must(t)(EnvironmentFileContent(s)))); ok || err != nil {
		t.Errorf("a file without the data tier: ok %v err %v", ok, err)
	}
	for _, v := range []string{"0123abcd0123abcd", "tok3nTOK3Ntok3n0"} {
		if strings.Contains(env, v) {
			t.Errorf("the environment file holds a secret value %q", v)
		}
	}
}

func TestAppDataBadInputNamesTheField(t *testing.T) {
	s := Service{Tier: "app", User: "plinth", Port: 8443}
	bad := func(f func(*Data)) error {
		d := testData
		f(&d)
		_, err := AppEnvironmentFileContent(s, d)
		return err
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{bad(func(d *Data) { d.Writer = "db" }), `writer "db"`},
		{bad(func(d *Data) { d.Reader = "x:0" }), `reader "x:0"`},
		{bad(func(d *Data) { d.CacheAddr = "$(reboot):6379" }), `cache "$(reboot):6379"`},
		{bad(func(d *Data) { d.DBSecretID = "a b" }), `db secret id "a b"`},
		{bad(func(d *Data) { d.CacheTokenSecretID = "" }), `cache token secret id ""`},
		{bad(func(d *Data) { d.Database = "App;drop" }), `database "App;drop"`},
		{bad(func(d *Data) { d.CAFile = "ca.pem" }), `ca file "ca.pem"`},
		{second(SecretsScript(s, "moon")), `region "moon"`},
		{second(SecretsFileContent(s, Secrets{DBUser: "u", DBPassword: "has space", CacheToken: "t"})), "secret PLINTH_DB_PASSWORD"},
		{bad(func(d *Data) { d.CacheAddr = "" }), `cache ""`},
		{second(SecretsFileContent(s, Secrets{DBUser: "u", DBPassword: "", CacheToken: "t"})), "secret PLINTH_DB_PASSWORD"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error %v, want it to name %q", tc.err, tc.want)
		}
	}
	// The error names the variable, never the value.
	if err := second(SecretsFileContent(s, Secrets{DBUser: "u", DBPassword: "s3cret'value", CacheToken: "t"})); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v shows the value", err)
	}
}

// TestAppDataWithoutCache: a Data naming no cache (a DR drill's app tier: its stack builds none) renders no
// cache variable, reads back the same, and its secrets file has no cache token.
func TestAppDataWithoutCache(t *testing.T) {
	s := Service{Tier: "app", User: "plinth", Port: 8443}
	d := Data{Writer: "10.31.135.254:3306", Reader: "10.31.135.254:3306", DBSecretID: AppDBSecretID("production")}
	env := must(t)(AppEnvironmentFileContent(s, d))
	if strings.Contains(env, "PLINTH_CACHE") || !strings.Contains(env, "PLINTH_DB_SECRET_ID=plinth/production/db-app-user\n") {
		t.Errorf("environment file without a cache:\n%s", env)
	}
	got, ok, err := DataFromEnvironment(ParseEnvironmentFile(env))
	want := d
	want.Database, want.CAFile = AppSchema, CAFile
	if err != nil || !ok || got != want || got.HasCache() {
		t.Errorf("DataFromEnvironment: %+v %v %v, want %+v", got, ok, err, want)
	}
	secrets := must(t)(SecretsFileContent(s, Secrets{DBUser: AppDBUser, DBPassword: "0123abcd0123abcd"}))
	if strings.Contains(secrets, EnvCacheToken) || !strings.Contains(secrets, EnvDBPassword+"=0123abcd0123abcd\n") {
		t.Errorf("secrets file without a cache:\n%s", secrets)
	}
}

// TestSecretsScriptRuns runs the EC2 ExecStartPre with bash against a fake `aws` CLI (and the real jq), the
// paths moved under a temporary directory: it writes the secrets file SecretsFileContent renders, 0600; an
// unsafe value fails it, naming the variable and not the value, and leaves no file.
func TestSecretsScriptRuns(t *testing.T) {
	for _, bin := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s: %v (scripts/install-test-deps.sh installs it)", bin, err)
		}
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	group, err := user.LookupGroupId(me.Gid)
	if err != nil {
		t.Fatal(err)
	}
	s := Service{Tier: "app", User: me.Username, Port: 8443}
	dir := t.TempDir()
	script := strings.ReplaceAll(must(t)(SecretsScript(s, "us-east-1")), EnvironmentDir+"/", dir+"/")
	script = strings.Replace(script, "chown "+me.Username+":"+me.Username, "chown "+me.Username+":"+group.Name, 1)
	if err := os.WriteFile(filepath.Join(dir, "plinth-app"), []byte(must(t)(AppEnvironmentFileContent(s, testData))), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(token string) (string, error) {
		fake := fmt.Sprintf(`#!/bin/sh
# aws --region R secretsmanager get-secret-value --secret-id ID --query SecretString --output text
while [ $# -gt 0 ]; do [ "$1" = --secret-id ] && id=$2; shift; done
case "$id" in
%s) echo '{"username":"plinth_app","password":"0123abcd0123abcd"}' ;;
%s) echo %q ;;
*) echo "ResourceNotFoundException: $id" >&2; exit 254 ;;
esac
`, testData.DBSecretID, testData.CacheTokenSecretID, token)
		bin := filepath.Join(dir, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("tok3nTOK3Ntok3n0"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "plinth-app.secrets"))
	want := must(t)(SecretsFileContent(s, Secrets{DBUser: AppDBUser, DBPassword: "0123abcd0123abcd", CacheToken: "tok3nTOK3Ntok3n0"}))
	if err != nil || string(got) != want {
		t.Fatalf("secrets file (%v):\n%s\nwant\n%s", err, got, want)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "plinth-app.secrets")); fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode %v", fi.Mode())
	}
	_ = os.Remove(filepath.Join(dir, "plinth-app.secrets"))
	out, err := run("bad'token value")
	if err == nil || !strings.Contains(out, "PLINTH_CACHE_TOKEN") || strings.Contains(out, "bad'token") {
		t.Errorf("unsafe token: %v: %s", err, out)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "plinth-app.secrets*")); len(left) != 0 {
		t.Errorf("a failed run left %v", left)
	}
	// A Data without a cache: the script fetches the database user's secret only.
	noCache := testData
	noCache.CacheAddr, noCache.CacheTokenSecretID = "", ""
	if err := os.WriteFile(filepath.Join(dir, "plinth-app"), []byte(must(t)(AppEnvironmentFileContent(s, noCache))), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run("unused"); err != nil {
		t.Fatalf("without a cache: %v: %s", err, out)
	}
	got, err = os.ReadFile(filepath.Join(dir, "plinth-app.secrets"))
	want = must(t)(SecretsFileContent(s, Secrets{DBUser: AppDBUser, DBPassword: "0123abcd0123abcd"}))
	if err != nil || string(got) != want {
		t.Errorf("secrets file without a cache (%v):\n%s\nwant\n%s", err, got, want)
	}
}
