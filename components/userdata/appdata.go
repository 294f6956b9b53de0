package userdata

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// The app tier's view of the data tier: the endpoints and the ids of the secrets its service uses, in the
// unit's environment file (EC2's user data and the live local cloud render it here), and the secret values
// resolved when the unit starts into a second file only the service user reads: on EC2 the unit's
// ExecStartPre (SecretsScript, as root) fetches them from Secrets Manager by id; on the live local cloud the
// host's supervisor resolves them from the local Secrets Manager. Never a secret value in the user data.

// Names of the data tier the app uses.
const (
	// AppDBUser is the application's own database user: DML on AppSchema only, never the master user.
	AppDBUser = "plinth_app"
	// AppSchema is the application's schema.
	AppSchema = "plinth_app"
	// CAFile is where the roots verifying the data tier's servers are placed on an app host.
	CAFile = ReleaseBase + "/tls/ca.pem"
)

// AppDBSecretID is the secret holding the application user's credentials ({"username","password"}).
func AppDBSecretID(stack string) string { return "plinth/" + stack + "/db-app-user" }

// The data tier's variables of the environment file.
const (
	EnvDBWriter           = "PLINTH_DB_WRITER"
	EnvDBReader           = "PLINTH_DB_READER"
	EnvDBName             = "PLINTH_DB_NAME"
	EnvDBSecretID         = "PLINTH_DB_SECRET_ID"
	EnvCacheAddr          = "PLINTH_CACHE_ADDR"
	EnvCacheTokenSecretID = "PLINTH_CACHE_TOKEN_SECRET_ID"
	EnvCAFile             = "PLINTH_CA_FILE"
)

// The variables of the secrets file, resolved at the unit's start.
const (
	EnvDBUser     = "PLINTH_DB_USER"
	EnvDBPassword = "PLINTH_DB_PASSWORD"
	EnvCacheToken = "PLINTH_CACHE_TOKEN"
)

// Data names the data tier in an app service's environment.
type Data struct {
	// Writer is host:port of the primary; Reader of a replica (the writer when the stack has none).
	Writer, Reader string
	// Database is the application's schema (default AppSchema).
	Database string
	// DBSecretID is the secret of the application's database user (AppDBSecretID).
	DBSecretID string
	// CacheAddr is host:port of the cache's primary; CacheTokenSecretID the secret of its auth token. Both
	// empty: the stack gives the app no cache (a DR drill's stack builds none), and the unit gets no cache
	// variables, so the service checks none.
	CacheAddr          string
	CacheTokenSecretID string
	// CAFile verifies the servers' certificates (default CAFile).
	CAFile string
}

var (
	secretIDRE = regexp.MustCompile(`^[A-Za-z0-9/_+=.@:!-]{1,512}$`)
	schemaRE   = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)
	regionRE   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
)

// HasCache says whether d names a cache (either of its fields set: Validate then requires both).
func (d Data) HasCache() bool { return d.CacheAddr != "" || d.CacheTokenSecretID != "" }

// Validate names the field at fault.
func (d Data) Validate() error {
	addrs := [][2]string{{"writer", d.Writer}, {"reader", d.Reader}}
	secrets := [][2]string{{"db secret id", d.DBSecretID}}
	if d.HasCache() {
		addrs = append(addrs, [2]string{"cache", d.CacheAddr})
		secrets = append(secrets, [2]string{"cache token secret id", d.CacheTokenSecretID})
	}
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a[1])
		n, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || n < 1 || n > 65535 || strings.ContainsAny(host, " \t\r\n'\"\\$`") {
			return fmt.Errorf("data tier: %s %q: want host:port", a[0], a[1])
		}
	}
	for _, s := range secrets {
		if !secretIDRE.MatchString(s[1]) {
			return fmt.Errorf("data tier: %s %q: want a secret name or ARN", s[0], s[1])
		}
	}
	if db := d.database(); !schemaRE.MatchString(db) {
		return fmt.Errorf("data tier: database %q: want a lower-case schema name", db)
	}
	if f := d.caFile(); !strings.HasPrefix(f, "/") || strings.ContainsAny(f, " \t\r\n'\"\\$`") {
		return fmt.Errorf("data tier: ca file %q: want an absolute path", f)
	}
	return nil
}

func (d Data) database() string { return firstSet(d.Database, AppSchema) }
func (d Data) caFile() string   { return firstSet(d.CAFile, CAFile) }

func firstSet(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Environment is the data tier's part of the environment file, in order: endpoints and the secrets' ids
// (no cache variables when d names no cache).
func (d Data) Environment() [][2]string {
	env := [][2]string{{EnvDBWriter, d.Writer}, {EnvDBReader, d.Reader}, {EnvDBName, d.database()}, {EnvDBSecretID, d.DBSecretID}}
	if d.HasCache() {
		env = append(env, [2]string{EnvCacheAddr, d.CacheAddr}, [2]string{EnvCacheTokenSecretID, d.CacheTokenSecretID})
	}
	return append(env, [2]string{EnvCAFile, d.caFile()})
}

// DataFromEnvironment reads Data back from an environment file's variables (what the live local cloud reads
// from the tier's user data); ok is false when the file names no data tier.
func DataFromEnvironment(env map[string]string) (Data, bool, error) {
	if env[EnvDBWriter] == "" && env[EnvCacheAddr] == "" {
		return Data{}, false, nil
	}
	d := Data{Writer: env[EnvDBWriter], Reader: env[EnvDBReader], Database: env[EnvDBName], DBSecretID: env[EnvDBSecretID],
		CacheAddr: env[EnvCacheAddr], CacheTokenSecretID: env[EnvCacheTokenSecretID], CAFile: env[EnvCAFile]}
	return d, true, d.Validate()
}

// ParseEnvironmentFile reads KEY=VALUE lines (the files rendered here; comments and blank lines skipped).
func ParseEnvironmentFile(content string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(content, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && k != "" && !strings.HasPrefix(k, "#") {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// AppEnvironmentFileContent renders the environment file of a service that uses the data tier: the
// service's variables (EnvironmentFileContent's) then the data tier's. No secret value: only their ids.
func AppEnvironmentFileContent(s Service, d Data) (string, error) {
	base, err := EnvironmentFileContent(s)
	if err != nil {
		return "", err
	}
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("service %s: %w", s.Tier, err)
	}
	var b strings.Builder
	b.WriteString(base)
	b.WriteString("# the data tier: endpoints and the ids of the secrets resolved when the unit starts\n")
	for _, kv := range d.Environment() {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return b.String(), nil
}

// SecretsFile is the file holding the resolved secrets (0600, the service user's), read by the unit after
// its ExecStartPre wrote it.
func (s Service) SecretsFile() string { return s.EnvironmentFile() + ".secrets" }

// SecretsScriptPath is the ExecStartPre that resolves the secrets on EC2.
func (s Service) SecretsScriptPath() string { return "/usr/local/sbin/plinth-" + s.Tier + "-secrets" }

// Secrets are the resolved values the service needs; CacheToken is empty when its Data names no cache.
type Secrets struct {
	DBUser, DBPassword, CacheToken string
}

// safeValueRE is what a value of the secrets file may hold: systemd reads it verbatim (no quotes, no
// escapes, no expansion), and sh reads it the same.
const safeValue = `^[A-Za-z0-9_.,:@%+=/~-]{1,512}$`

var safeValueRE = regexp.MustCompile(safeValue)

// SecretsFileContent renders the secrets file (the cache token's line only when there is a token: a Data
// without a cache). An error names the variable, never the value.
func SecretsFileContent(s Service, v Secrets) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# plinth %s service secrets (resolved at start; generated: components/userdata)\n", s.Tier)
	vars := [][2]string{{EnvDBUser, v.DBUser}, {EnvDBPassword, v.DBPassword}}
	if v.CacheToken != "" {
		vars = append(vars, [2]string{EnvCacheToken, v.CacheToken})
	}
	for _, kv := range vars {
		if !safeValueRE.MatchString(kv[1]) {
			return "", fmt.Errorf("service %s: secret %s: empty or holds a character other than letters, digits and _.,:@%%+=/~-", s.Tier, kv[0])
		}
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return b.String(), nil
}

// SecretsScript renders the ExecStartPre (run as root) that fetches the secrets named in the environment
// file from Secrets Manager with the instance role and writes the secrets file, 0600 and the service user's,
// in SecretsFileContent's format (the cache token only when the file names its secret). Values are checked
// as SecretsFileContent checks them; none is printed.
func SecretsScript(s Service, region string) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	if !regionRE.MatchString(region) {
		return "", fmt.Errorf("service %s: region %q: want an AWS region", s.Tier, region)
	}
	return fmt.Sprintf(`#!/bin/bash
# plinth %[1]s: resolve the data tier's secrets named in %[2]s (generated: components/userdata)
set -euo pipefail
. %[2]s
get() { aws --region %[3]s secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text; }
re='%[11]s'
safe() { [[ "$2" =~ $re ]] || { echo "secret $1: empty or unsafe characters" >&2; exit 1; }; printf '%%s=%%s\n' "$1" "$2"; }
db=$(get "$%[4]s")
tmp=$(mktemp %[5]s.XXXXXX)
trap 'rm -f "$tmp"' EXIT
chmod 0600 "$tmp"
{
  echo "# plinth %[1]s service secrets (resolved at start; generated: components/userdata)"
  safe %[6]s "$(jq -r .username <<<"$db")"
  safe %[7]s "$(jq -r .password <<<"$db")"
  if [[ -n "${%[9]s:-}" ]]; then safe %[8]s "$(get "$%[9]s")"; fi
} > "$tmp"
chown %[10]s:%[10]s "$tmp"
mv "$tmp" %[5]s
trap - EXIT
`, s.Tier, s.EnvironmentFile(), region, EnvDBSecretID, s.SecretsFile(), EnvDBUser, EnvDBPassword, EnvCacheToken,
		EnvCacheTokenSecretID, s.User, safeValue), nil
}

// AppServiceUnit renders the unit of a service that uses the data tier: ServiceUnit's, with the
// ExecStartPre resolving the secrets (as root: "+") and the secrets file read after it.
func AppServiceUnit(s Service) (string, error) {
	unit, err := ServiceUnit(s)
	if err != nil {
		return "", err
	}
	env := "EnvironmentFile=" + s.EnvironmentFile() + "\n"
	extra := fmt.Sprintf("%sExecStartPre=+%s\nEnvironmentFile=%s\n", env, s.SecretsScriptPath(), s.SecretsFile())
	return strings.Replace(unit, env, extra, 1), nil
}
