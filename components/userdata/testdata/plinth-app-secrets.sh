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
