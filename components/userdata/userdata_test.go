package userdata

import (
	"flag"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/goldentest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldentest.Check(t, *update, name, got)
}

// must fails t on an error: must(t)(Render(...)).
func must(t *testing.T) func(string, error) string {
	return func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestSSHDConfigGolden(t *testing.T) {
	golden(t, "sshd-app.conf", must(t)(SSHDConfig(SSHD{User: "plinth", ServicePort: 8080})))
	golden(t, "sshd-bastion.conf", must(t)(SSHDConfig(SSHD{User: "plinth", Bastion: true})))
	golden(t, "sshd-plain.conf", must(t)(SSHDConfig(SSHD{User: "plinth"})))
}

func TestServiceGolden(t *testing.T) {
	s := Service{Tier: "app", User: "plinth", Port: 8443}
	golden(t, "plinth-app.service", must(t)(ServiceUnit(s)))
	golden(t, "plinth-app.env", must(t)(EnvironmentFileContent(s)))
	golden(t, "plinth-app.sudoers", must(t)(Sudoers(s, EC2Commands)))
	if s.ExecStart() != "/srv/plinth/app/current/app" || s.Unit() != "plinth-app.service" {
		t.Errorf("ExecStart %s, Unit %s", s.ExecStart(), s.Unit())
	}
}

func TestSudoersIsNarrow(t *testing.T) {
	got := must(t)(Sudoers(Service{Tier: "worker", User: "ops", Port: 9000}, EC2Commands))
	for _, bad := range []string{"ALL=(ALL)", "NOPASSWD: ALL", "*", "systemctl restart plinth-app"} {
		if strings.Contains(got, bad) {
			t.Errorf("sudoers holds %q:\n%s", bad, got)
		}
	}
}

func TestBadInputNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(SSHDConfig(SSHD{User: "root; rm"})), `user "root; rm"`},
		{second(SSHDConfig(SSHD{User: "plinth", ServicePort: 70000})), "port 70000"},
		{second(ServiceUnit(Service{Tier: "app", User: "plinth", Port: 0})), "service app: port 0"},
		{second(ServiceUnit(Service{Tier: "app", User: "plinth", Port: 80, Binary: "../x"})), `binary "../x"`},
		{second(ServiceUnit(Service{Tier: "App X", User: "plinth", Port: 80})), `tier "App X"`},
		{second(Sudoers(Service{Tier: "app", User: "plinth", Port: 80}, Commands{Systemctl: "systemctl", Journalctl: "/j"})), `command "systemctl"`},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error %v, want it to name %q", tc.err, tc.want)
		}
	}
}

func second(_ string, err error) error { return err }
