package tier

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/plinth-dev/plinth/components/userdata"
)

// UserDataInput parameterises the boot script shared by every instance tier and the bastion.
type UserDataInput struct {
	Tier    string
	SSHUser string
	// AuthorizedKeysParameter is the SSM parameter holding the admins' public keys (key-only SSH; keys rotate
	// without rebuilding instances).
	AuthorizedKeysParameter string
	Region                  string
	LogGroup                string
	// AllowTCPForwarding is true only on the bastion (ProxyJump).
	AllowTCPForwarding bool
	// ServicePort, when set, installs the tier's service unit (plinth-<tier>.service), its environment file
	// and the sudo rule the deploy engine's restart and logs commands need.
	ServicePort int
	// Data, when set (the app tier), names the data tier in the service's environment file (endpoints and
	// the secrets' ids) and installs the ExecStartPre that resolves the secrets at start (appdata.go).
	Data *userdata.Data
	// Backup, when set (the worker tier of a stack whose spec names backup recipients), installs the scheduled
	// backup and the binlog streamer (backup.go).
	Backup *userdata.Backup
	// Extra is appended (tier-specific set-up: EIP association on the bastion, the sftp jail, ...).
	Extra string
}

// UserData renders the cloud-init script: key-only sshd, the login user, the tier's service, and the
// CloudWatch agent shipping auth and audit logs (every SSH session and command is recorded off the host).
// The sshd configuration, unit, environment and sudoers rule come from components/userdata, the renderer the
// live local cloud uses too.
func UserData(in UserDataInput) (string, error) {
	sshd, err := userdata.SSHDConfig(userdata.SSHD{User: in.SSHUser, Bastion: in.AllowTCPForwarding, ServicePort: in.ServicePort})
	if err != nil {
		return "", fmt.Errorf("tier %s user data: %w", in.Tier, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/bash
# plinth %[1]s tier boot script (generated: components/tier/userdata.go)
set -euo pipefail
useradd --create-home --shell /bin/bash %[2]s 2>/dev/null || true
cat > %[7]s <<'KEYS'
#!/bin/sh
# AuthorizedKeysCommand: the admins' keys live in SSM Parameter Store, never on the image.
[ "$1" = "%[2]s" ] || exit 0
exec aws --region %[4]s ssm get-parameter --name '%[3]s' --query Parameter.Value --output text
KEYS
chmod 0755 %[7]s
cat > %[8]s <<'SSHD'
%[5]sSSHD
sshd -t
systemctl restart sshd
# Record every interactive session's keystrokes (pam_tty_audit -> auditd -> CloudWatch).
grep -q pam_tty_audit /etc/pam.d/sshd || echo 'session required pam_tty_audit.so enable=*' >> /etc/pam.d/sshd
dnf install -y amazon-cloudwatch-agent
cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'CWA'
{"logs":{"logs_collected":{"files":{"collect_list":[
 {"file_path":"/var/log/secure","log_group_name":"%[6]s","log_stream_name":"{instance_id}/secure"},
 {"file_path":"/var/log/audit/audit.log","log_group_name":"%[6]s","log_stream_name":"{instance_id}/audit"},
 {"file_path":"/var/log/plinth/*.log","log_group_name":"%[6]s","log_stream_name":"{instance_id}/plinth"}]}}},
 "metrics":{"namespace":"CWAgent","metrics_collected":{"mem":{"measurement":["mem_used_percent"]},"disk":{"measurement":["used_percent"],"resources":["/"]}}}}
CWA
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
install -d -o %[2]s -g %[2]s -m 0750 %[9]s %[10]s
`, in.Tier, in.SSHUser, in.AuthorizedKeysParameter, in.Region, sshd, in.LogGroup,
		userdata.AuthorizedKeysCommand, userdata.SSHDConfigPath, userdata.ReleaseBase, userdata.LogDir)
	if in.ServicePort > 0 {
		if err := service(&b, userdata.Service{Tier: in.Tier, User: in.SSHUser, Port: in.ServicePort}, in.Data, in.Region); err != nil {
			return "", fmt.Errorf("tier %s user data: %w", in.Tier, err)
		}
	}
	if in.Backup != nil {
		if err := backupUnits(&b, *in.Backup, in.Region); err != nil {
			return "", fmt.Errorf("tier %s user data: %w", in.Tier, err)
		}
	}
	if in.Extra != "" {
		b.WriteString(in.Extra)
		if !strings.HasSuffix(in.Extra, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String(), nil
}

// service installs the tier's unit, environment file and sudo rule (checked with visudo before it counts);
// with data, the app's: the data tier's environment and the secrets' ExecStartPre (appService).
func service(b *strings.Builder, s userdata.Service, data *userdata.Data, region string) error {
	unit, env, err := serviceFiles(b, s, data, region)
	if err != nil {
		return err
	}
	sudoers, err := userdata.Sudoers(s, userdata.EC2Commands)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, `install -d -o %[1]s -g %[1]s -m 0750 %[2]s
cat > %[3]s <<'ENV'
%[4]sENV
cat > /etc/systemd/system/%[5]s <<'UNIT'
%[6]sUNIT
cat > %[7]s.new <<'SUDO'
%[8]sSUDO
chmod 0440 %[7]s.new
visudo -cf %[7]s.new
mv %[7]s.new %[7]s
systemctl daemon-reload
systemctl enable %[5]s
`, s.User, s.Root(), s.EnvironmentFile(), env, s.Unit(), unit, s.SudoersFile(), sudoers)
	return nil
}

// serviceFiles renders the unit and environment file: the plain service's, or with data the app's, after
// writing to b what the app's unit needs first (appService).
func serviceFiles(b *strings.Builder, s userdata.Service, data *userdata.Data, region string) (unit, env string, err error) {
	if data == nil {
		if unit, err = userdata.ServiceUnit(s); err != nil {
			return "", "", err
		}
		env, err = userdata.EnvironmentFileContent(s)
		return unit, env, err
	}
	if unit, err = userdata.AppServiceUnit(s); err != nil {
		return "", "", err
	}
	if env, err = userdata.AppEnvironmentFileContent(s, *data); err != nil {
		return "", "", err
	}
	script, err := userdata.SecretsScript(s, region)
	if err != nil {
		return "", "", err
	}
	appService(b, s, *data, region, script)
	return unit, env, nil
}

// appService installs what the app's unit needs before it starts: jq, the CA bundle verifying the data
// tier (RDS's bundle of the region, then the system's roots for ElastiCache's Amazon certificates) and the
// ExecStartPre fetching the secrets by id with the instance role. No secret value is in the user data.
func appService(b *strings.Builder, s userdata.Service, d userdata.Data, region, script string) {
	ca := d.CAFile
	if ca == "" {
		ca = userdata.CAFile
	}
	fmt.Fprintf(b, `dnf install -y jq
install -d -m 0755 %[1]s
curl -fsS --retry 5 https://truststore.pki.rds.amazonaws.com/%[2]s/%[2]s-bundle.pem -o %[3]s.new
cat /etc/pki/tls/certs/ca-bundle.crt >> %[3]s.new
chmod 0644 %[3]s.new
mv %[3]s.new %[3]s
cat > %[4]s <<'SECRETS'
%[5]sSECRETS
chmod 0700 %[4]s
`, filepath.Dir(ca), region, ca, s.SecretsScriptPath(), script)
}
