#!/bin/bash
# plinth worker tier boot script (generated: components/tier/userdata.go)
set -euo pipefail
useradd --create-home --shell /bin/bash plinth 2>/dev/null || true
cat > /usr/local/sbin/plinth-authorized-keys <<'KEYS'
#!/bin/sh
# AuthorizedKeysCommand: the admins' keys live in SSM Parameter Store, never on the image.
[ "$1" = "plinth" ] || exit 0
exec aws --region eu-west-1 ssm get-parameter --name '/plinth/staging/ssh/authorized_keys' --query Parameter.Value --output text
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
PermitOpen 127.0.0.1:8080
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
 {"file_path":"/var/log/secure","log_group_name":"/plinth/staging/worker","log_stream_name":"{instance_id}/secure"},
 {"file_path":"/var/log/audit/audit.log","log_group_name":"/plinth/staging/worker","log_stream_name":"{instance_id}/audit"},
 {"file_path":"/var/log/plinth/*.log","log_group_name":"/plinth/staging/worker","log_stream_name":"{instance_id}/plinth"}]}}},
 "metrics":{"namespace":"CWAgent","metrics_collected":{"mem":{"measurement":["mem_used_percent"]},"disk":{"measurement":["used_percent"],"resources":["/"]}}}}
CWA
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
install -d -o plinth -g plinth -m 0750 /srv/plinth /var/log/plinth
install -d -o plinth -g plinth -m 0750 /srv/plinth/worker
cat > /etc/default/plinth-worker <<'ENV'
# plinth worker service environment (generated: components/userdata)
PLINTH_TIER=worker
PORT=8080
ADDR=0.0.0.0:8080
ENV
cat > /etc/systemd/system/plinth-worker.service <<'UNIT'
[Unit]
Description=plinth worker service
After=network-online.target
Wants=network-online.target
ConditionPathExists=/srv/plinth/worker/current/worker

[Service]
Type=simple
User=plinth
Group=plinth
EnvironmentFile=/etc/default/plinth-worker
WorkingDirectory=/srv/plinth/worker
ExecStart=/srv/plinth/worker/current/worker
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
cat > /etc/sudoers.d/plinth-worker.new <<'SUDO'
# plinth worker: the deploy engine's restart and logs commands (generated: components/userdata)
Defaults:plinth !requiretty
plinth ALL=(root) NOPASSWD: /usr/bin/systemctl restart plinth-worker.service, /usr/bin/journalctl -u plinth-worker.service -n 20 --no-pager
SUDO
chmod 0440 /etc/sudoers.d/plinth-worker.new
visudo -cf /etc/sudoers.d/plinth-worker.new
mv /etc/sudoers.d/plinth-worker.new /etc/sudoers.d/plinth-worker
systemctl daemon-reload
systemctl enable plinth-worker.service
# Scheduled backups and the binlog streamer (writer identity: workload identity federation, no key).
useradd --system --no-create-home --home-dir /srv/plinth-backup --shell /sbin/nologin plinth-backup 2>/dev/null || true
install -d -o plinth-backup -g plinth-backup -m 0700 /srv/plinth-backup
cat > /etc/default/plinth-backup <<'ENV'
# plinth backup units' environment (generated: components/userdata); secrets live in /srv/plinth-backup
PLINTH_BACKUP_STACK=staging
PLINTH_DB_SECRET_FILE=/srv/plinth-backup/db.json
PLINTH_DB_CA_FILE=/srv/plinth-backup/db-ca.pem
GOOGLE_APPLICATION_CREDENTIALS=/srv/plinth-backup/gcp-writer.json
ENV
install -o plinth-backup -g plinth-backup -m 0644 /dev/stdin /srv/plinth-backup/recipients <<'RCPT'
# age recipients of stack staging's backups (public keys only)
age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
RCPT
install -o plinth-backup -g plinth-backup -m 0644 /dev/stdin /srv/plinth-backup/gcp-writer.json <<'GCP'
{
  "audience": "//iam.googleapis.com/projects/100000000001/locations/global/workloadIdentityPools/staging-vault-aws/providers/aws",
  "credential_source": {
    "environment_id": "aws1",
    "imdsv2_session_token_url": "http://169.254.169.254/latest/api/token",
    "region_url": "http://169.254.169.254/latest/meta-data/placement/availability-zone",
    "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity\u0026Version=2011-06-15",
    "url": "http://169.254.169.254/latest/meta-data/iam/security-credentials"
  },
  "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/staging-vault-writer@plinth-backups-staging.iam.gserviceaccount.com:generateAccessToken",
  "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
  "token_url": "https://sts.googleapis.com/v1/token",
  "type": "external_account"
}
GCP
curl -fsS --retry 5 -o /srv/plinth-backup/db-ca.pem https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem
chown plinth-backup:plinth-backup /srv/plinth-backup/db-ca.pem
install -o root -g root -m 0700 /dev/stdin /usr/local/sbin/plinth-backup-credentials <<'CREDS'
#!/bin/sh
# plinth backup units' credentials (generated: components/userdata): fetched at each start with the instance
# role, written only for plinth-backup, never printed.
set -eu
umask 077
dir=/srv/plinth-backup
aws --region eu-west-1 secretsmanager get-secret-value --secret-id 'plinth/staging/db-backup-user' --query SecretString --output text > "$dir/db.json.new"
aws --region eu-west-1 ssm get-parameter --name '/plinth/staging/backup/runtime-env' --query Parameter.Value --output text > "$dir/runtime.env.new"
chown plinth-backup:plinth-backup "$dir/db.json.new" "$dir/runtime.env.new"
mv "$dir/db.json.new" /srv/plinth-backup/db.json
mv "$dir/runtime.env.new" /srv/plinth-backup/runtime.env
CREDS
cat > /etc/systemd/system/plinth-backup.service <<'UNIT'
[Unit]
Description=plinth backup of stack staging (generated: components/userdata)
After=network-online.target
Wants=network-online.target
ConditionPathExists=/usr/local/bin/plinth

[Service]
Type=oneshot
User=plinth-backup
Group=plinth-backup
EnvironmentFile=/etc/default/plinth-backup
EnvironmentFile=-/srv/plinth-backup/runtime.env
ExecStartPre=+/usr/local/sbin/plinth-backup-credentials
ExecStart=/usr/local/bin/plinth backup run --stack staging --recipients-file /srv/plinth-backup/recipients --quiet
TimeoutStartSec=6h
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths=/srv/plinth-backup
PrivateTmp=yes
StandardOutput=journal
StandardError=journal
UNIT
cat > /etc/systemd/system/plinth-backup.timer <<'UNIT'
[Unit]
Description=plinth scheduled backup of stack staging (generated: components/userdata)

[Timer]
OnCalendar=*-*-* 03:15:00 UTC
Persistent=true
RandomizedDelaySec=10min
Unit=plinth-backup.service

[Install]
WantedBy=timers.target
UNIT
cat > /etc/systemd/system/plinth-binlog.service <<'UNIT'
[Unit]
Description=plinth binlog streamer of stack staging (generated: components/userdata)
After=network-online.target
Wants=network-online.target
ConditionPathExists=/usr/local/bin/plinth

[Service]
Type=simple
User=plinth-backup
Group=plinth-backup
EnvironmentFile=/etc/default/plinth-backup
EnvironmentFile=-/srv/plinth-backup/runtime.env
ExecStartPre=+/usr/local/sbin/plinth-backup-credentials
ExecStart=/usr/local/bin/plinth backup binlog --stack staging --recipients-file /srv/plinth-backup/recipients --server-id 4242 --cursor /srv/plinth-backup/binlog.cursor
Restart=always
RestartSec=10
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths=/srv/plinth-backup
PrivateTmp=yes
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now plinth-backup.timer plinth-binlog.service
