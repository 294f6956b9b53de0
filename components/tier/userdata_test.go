package tier

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestUserDataGolden pins the EC2 boot script of an app instance: key-only sshd, the service unit, its
// environment file and the narrowly scoped sudo rule the deploy engine needs (all from components/userdata).
func TestUserDataGolden(t *testing.T) {
	got, err := UserData(UserDataInput{Tier: "app", SSHUser: "plinth", AuthorizedKeysParameter: "/plinth/staging/ssh/authorized_keys",
		Region: "us-east-1", LogGroup: "/plinth/staging/app", ServicePort: 8443})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "userdata-app.sh", got)
	for _, must := range []string{"plinth-app.service", "visudo -cf /etc/sudoers.d/plinth-app.new", "PermitOpen 127.0.0.1:8443",
		"ExecStart=/srv/plinth/app/current/app", "EnvironmentFile=/etc/default/plinth-app"} {
		if !strings.Contains(got, must) {
			t.Errorf("user data lacks %q", must)
		}
	}
}

// golden compares got with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("user data differs from %s:\n%s", path, got)
	}
}

func TestUserDataRejectsBadUser(t *testing.T) {
	if _, err := UserData(UserDataInput{Tier: "app", SSHUser: "x y", ServicePort: 80}); err == nil || !strings.Contains(err.Error(), "tier app") {
		t.Errorf("error %v, want one naming the tier and the user", err)
	}
}
