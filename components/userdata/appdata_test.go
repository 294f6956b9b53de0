package userdata

import (
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
		{second(SecretsFileContent(s, Secrets{DBUser: "u", DBPassword: "p", CacheToken: ""})), "secret PLINTH_CACHE_TOKEN"},
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
