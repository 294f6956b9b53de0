package mysqlx

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
)

// BackupPrivileges are the backup user's: read every table, view and routine's definition, take the
// consistent snapshot's locks, read the binlog position and stream the binlog as a replica (the worker's
// binlog streamer runs as the backup user too); nothing that writes.
var BackupPrivileges = []string{"SELECT", "SHOW VIEW", "TRIGGER", "EVENT", "LOCK TABLES", "RELOAD", "REPLICATION CLIENT", "REPLICATION SLAVE"}

// AppPrivileges are the application user's, on its schema only: DML, no DDL, nothing global.
var AppPrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}

// AppHealthTable is the table of the application's schema the platform's health check writes and reads back
// (examples/webservice): created with the schema, since the application user may not create tables.
const AppHealthTable = "health"

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)

// GrantBackupUser creates (or resets the password of) user@'%' with BackupPrivileges only, TLS required.
func GrantBackupUser(ctx context.Context, db *sql.DB, user, password string) error {
	return grantUser(ctx, db, "backup", user, password, fmt.Sprintf("GRANT %s ON *.*", strings.Join(BackupPrivileges, ", ")))
}

// GrantAppUser creates the application's schema and its health table when they do not exist, then creates
// (or resets the password of) user@'%' with AppPrivileges on that schema only, TLS required. Run as the
// master user on the primary: the schema, table and account replicate to the replicas.
func GrantAppUser(ctx context.Context, db *sql.DB, user, password, schema string) error {
	if !schemaRE.MatchString(schema) {
		return fmt.Errorf("app user %q: schema %q: want a lower-case name", user, schema)
	}
	for _, q := range []string{
		fmt.Sprintf("CREATE DATABASE IF NOT EXISTS `%s`", schema),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.`%s` (id INT PRIMARY KEY, at VARCHAR(40) NOT NULL)", schema, AppHealthTable),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("app user %s: %s: %w", user, strings.Join(strings.Fields(q)[:2], " "), err)
		}
	}
	return grantUser(ctx, db, "app", user, password, fmt.Sprintf("GRANT %s ON `%s`.*", strings.Join(AppPrivileges, ", "), schema))
}

// grantUser creates (or resets the password of) user@'%', TLS required, with only grant ("GRANT ... ON ...").
func grantUser(ctx context.Context, db *sql.DB, what, user, password, grant string) error {
	if user == "" || strings.ContainsAny(user, "'`\\\x00") || len(password) < 16 || strings.ContainsAny(password, "'\\\x00") {
		return fmt.Errorf("%s user %q: want a plain name and a password of at least 16 characters without quotes or backslashes", what, user)
	}
	for _, q := range []string{
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s' REQUIRE SSL", user, password),
		fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY '%s' REQUIRE SSL", user, password),
		fmt.Sprintf("REVOKE ALL PRIVILEGES, GRANT OPTION FROM '%s'@'%%'", user),
		fmt.Sprintf("%s TO '%s'@'%%'", grant, user),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s user %s: %s: %w", what, user, strings.Join(strings.Fields(q)[:2], " "), err)
		}
	}
	return nil
}
