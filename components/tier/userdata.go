package tier

import (
	"fmt"
	"strings"
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
	// Extra is appended (tier-specific set-up: EIP association on the bastion, the sftp jail, ...).
	Extra string
}

// UserData renders the cloud-init script: key-only sshd, the login user, and the CloudWatch agent shipping
// auth and audit logs (every SSH session and command is recorded off the host).
func UserData(in UserDataInput) string {
	forwarding := "no"
	if in.AllowTCPForwarding {
		forwarding = "yes"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/bash
# plinth %[1]s tier boot script (generated: components/tier/userdata.go)
set -euo pipefail
useradd --create-home --shell /bin/bash %[2]s 2>/dev/null || true
install -d -m 0755 /usr/local/libexec/plinth
cat > /usr/local/libexec/plinth/authorized-keys <<'KEYS'
#!/bin/sh
# AuthorizedKeysCommand: the admins' keys live in SSM Parameter Store, never on the image.
[ "$1" = "%[2]s" ] || exit 0
exec aws --region %[4]s ssm get-parameter --name '%[3]s' --query Parameter.Value --output text
KEYS
chmod 0755 /usr/local/libexec/plinth/authorized-keys
cat > /etc/ssh/sshd_config.d/10-plinth.conf <<'SSHD'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PubkeyAuthentication yes
AuthenticationMethods publickey
AllowUsers %[2]s
AuthorizedKeysFile none
AuthorizedKeysCommand /usr/local/libexec/plinth/authorized-keys %%u
AuthorizedKeysCommandUser nobody
AllowTcpForwarding %[5]s
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
MaxAuthTries 3
LoginGraceTime 20
ClientAliveInterval 300
ClientAliveCountMax 2
LogLevel VERBOSE
SSHD
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
install -d -o %[2]s -g %[2]s -m 0750 /srv/plinth /var/log/plinth
`, in.Tier, in.SSHUser, in.AuthorizedKeysParameter, in.Region, forwarding, in.LogGroup)
	if in.Extra != "" {
		b.WriteString(in.Extra)
		if !strings.HasSuffix(in.Extra, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}
