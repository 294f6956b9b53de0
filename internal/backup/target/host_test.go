package target

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostEnvironmentNamesTheDatabase: a worker host's environment (the backup units') gives the DSN and the
// store without the stack's outputs: the secret read from its file, TLS required, no bastion.
func TestHostEnvironmentNamesTheDatabase(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "db.json")
	if err := os.WriteFile(secret, []byte(`{"username":"plinth_backup","password":"s3cret-s3cret-s3cret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvDBSecretFile: secret, EnvDBAddr: "10.10.64.10:3306", EnvStore: "mem://"}
	o := &Opener{Getenv: func(k string) string { return env[k] }} // no StackOutputs: the stack is not read
	tg, err := o.Open(context.Background(), Request{Flags: Flags{Stack: "staging", Writer: true}, DB: true, ResolveOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tg.DSN, "plinth_backup:s3cret-s3cret-s3cret@tcp(10.10.64.10:3306)/") || !strings.Contains(tg.DSN, "tls=plinth-host-staging") {
		t.Errorf("DSN %q", tg.DSN)
	}
	if tg.StoreURL != "mem://" || strings.Contains(tg.Address(), "s3cret") {
		t.Errorf("store %q, address %q", tg.StoreURL, tg.Address())
	}

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvDBSecretFile: secret, EnvDBAddr: "10.10.64.10"}, EnvDBAddr},
		{map[string]string{EnvDBSecretFile: filepath.Join(t.TempDir(), "none"), EnvDBAddr: "h:3306"}, EnvDBSecretFile},
		{map[string]string{EnvDBSecretFile: writeFile(t, `{"username":"u"}`), EnvDBAddr: "h:3306"}, "want the secret's JSON"},
	} {
		o := &Opener{Getenv: func(k string) string { return tc.env[k] }}
		_, err := o.Open(context.Background(), Request{Flags: Flags{Store: "mem://"}, DB: true, ResolveOnly: true})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: error %v, want it to name %q", tc.env, err, tc.want)
		}
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
