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
