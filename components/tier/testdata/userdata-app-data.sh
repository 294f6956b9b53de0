#!/bin/bash
# plinth app tier boot script (generated: components/tier/userdata.go)
set -euo pipefail
useradd --create-home --shell /bin/bash plinth 2>/dev/null || true
cat > /usr/local/sbin/plinth-authorized-keys <<'KEYS'
#!/bin/sh
# AuthorizedKeysCommand: the admins' keys live in SSM Parameter Store, never on the image.
[ "$1" = "plinth" ] || exit 0
exec aws --region us-east-1 ssm get-parameter --name '/plinth/staging/ssh/authorized_keys' --query Parameter.Value --output text
KEYS
chmod 0755 /usr/local/sbin/plinth-authorized-keys
cat > /etc/ssh/sshd_config.d/10-plinth.conf <<'SSHD'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PubkeyAuthentication yes
AuthenticationMethods publickey
AllowUsers plinth
AuthorizedKeysFile none
AuthorizedKeysCommand /usr/local/sbin/plinth-authorized-keys %u
AuthorizedKeysCommandUser nobody
AllowTcpForwarding local
PermitOpen 127.0.0.1:8443
GatewayPorts no
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
 {"file_path":"/var/log/secure","log_group_name":"/plinth/staging/app","log_stream_name":"{instance_id}/secure"},
 {"file_path":"/var/log/audit/audit.log","log_group_name":"/plinth/staging/app","log_stream_name":"{instance_id}/audit"},
 {"file_path":"/var/log/plinth/*.log","log_group_name":"/plinth/staging/app","log_stream_name":"{instance_id}/plinth"}]}}},
 "metrics":{"namespace":"CWAgent","metrics_collected":{"mem":{"measurement":["mem_used_percent"]},"disk":{"measurement":["used_percent"],"resources":["/"]}}}}
CWA
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
install -d -o plinth -g plinth -m 0750 /srv/plinth /var/log/plinth
dnf install -y jq
install -d -m 0755 /srv/plinth/tls
curl -fsS --retry 5 https://truststore.pki.rds.amazonaws.com/us-east-1/us-east-1-bundle.pem -o /srv/plinth/tls/ca.pem.new
cat /etc/pki/tls/certs/ca-bundle.crt >> /srv/plinth/tls/ca.pem.new
chmod 0644 /srv/plinth/tls/ca.pem.new
mv /srv/plinth/tls/ca.pem.new /srv/plinth/tls/ca.pem
cat > /usr/local/sbin/plinth-app-secrets <<'SECRETS'
#!/bin/bash
# plinth app: resolve the data tier's secrets named in /etc/default/plinth-app (generated: components/userdata)
set -euo pipefail
. /etc/default/plinth-app
get() { aws --region us-east-1 secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text; }
re='^[A-Za-z0-9_.,:@%+=/~-]{1,512}$'
safe() { [[ "$2" =~ $re ]] || { echo "secret $1: empty or unsafe characters" >&2; exit 1; }; printf '%s=%s\n' "$1" "$2"; }
db=$(get "$PLINTH_DB_SECRET_ID")
tmp=$(mktemp /etc/default/plinth-app.secrets.XXXXXX)
trap 'rm -f "$tmp"' EXIT
chmod 0600 "$tmp"
{
  echo "# plinth app service secrets (resolved at start; generated: components/userdata)"
  safe PLINTH_DB_USER "$(jq -r .username <<<"$db")"
  safe PLINTH_DB_PASSWORD "$(jq -r .password <<<"$db")"
  if [[ -n "${PLINTH_CACHE_TOKEN_SECRET_ID:-}" ]]; then safe PLINTH_CACHE_TOKEN "$(get "$PLINTH_CACHE_TOKEN_SECRET_ID")"; fi
} > "$tmp"
chown plinth:plinth "$tmp"
mv "$tmp" /etc/default/plinth-app.secrets
trap - EXIT
SECRETS
chmod 0700 /usr/local/sbin/plinth-app-secrets
install -d -o plinth -g plinth -m 0750 /srv/plinth/app
cat > /etc/default/plinth-app <<'ENV'
# plinth app service environment (generated: components/userdata)
PLINTH_TIER=app
PORT=8443
ADDR=0.0.0.0:8443
# the data tier: endpoints and the ids of the secrets resolved when the unit starts
PLINTH_DB_WRITER=db.abc.us-east-1.rds.amazonaws.com:3306
PLINTH_DB_READER=db-r1.abc.us-east-1.rds.amazonaws.com:3306
PLINTH_DB_NAME=plinth_app
PLINTH_DB_SECRET_ID=plinth/staging/db-app-user
PLINTH_CACHE_ADDR=master.cache.abc.use1.cache.amazonaws.com:6379
PLINTH_CACHE_TOKEN_SECRET_ID=arn:aws:secretsmanager:us-east-1:123456789012:secret:staging-utility-cache-auth-token-AbCdEf
PLINTH_CA_FILE=/srv/plinth/tls/ca.pem
ENV
cat > /etc/systemd/system/plinth-app.service <<'UNIT'
[Unit]
Description=plinth app service
After=network-online.target
Wants=network-online.target
ConditionPathExists=/srv/plinth/app/current/app

[Service]
Type=simple
User=plinth
Group=plinth
EnvironmentFile=/etc/default/plinth-app
ExecStartPre=+/usr/local/sbin/plinth-app-secrets
EnvironmentFile=/etc/default/plinth-app.secrets
WorkingDirectory=/srv/plinth/app
ExecStart=/srv/plinth/app/current/app
Restart=always
RestartSec=1
NoNewPrivileges=yes
ProtectSystem=full
PrivateTmp=yes
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=multi-user.target
UNIT
cat > /etc/sudoers.d/plinth-app.new <<'SUDO'
# plinth app: the deploy engine's restart and logs commands (generated: components/userdata)
Defaults:plinth !requiretty
plinth ALL=(root) NOPASSWD: /usr/bin/systemctl restart plinth-app.service, /usr/bin/journalctl -u plinth-app.service -n 20 --no-pager
SUDO
chmod 0440 /etc/sudoers.d/plinth-app.new
visudo -cf /etc/sudoers.d/plinth-app.new
mv /etc/sudoers.d/plinth-app.new /etc/sudoers.d/plinth-app
systemctl daemon-reload
systemctl enable plinth-app.service
