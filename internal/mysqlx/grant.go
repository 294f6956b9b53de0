package mysqlx

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// BackupPrivileges are the backup user's: read every table, view and routine's definition, take the
// consistent snapshot's locks, read the binlog position and stream the binlog as a replica (the worker's
// binlog streamer runs as the backup user too); nothing that writes.
var BackupPrivileges = []string{"SELECT", "SHOW VIEW", "TRIGGER", "EVENT", "LOCK TABLES", "RELOAD", "REPLICATION CLIENT", "REPLICATION SLAVE"}

// GrantBackupUser creates (or resets the password of) user@'%' with BackupPrivileges only, TLS required.
func GrantBackupUser(ctx context.Context, db *sql.DB, user, password string) error {
	if user == "" || strings.ContainsAny(user, "'`\\\x00") || len(password) < 16 || strings.ContainsAny(password, "'\\\x00") {
		return fmt.Errorf("backup user %q: want a plain name and a password of at least 16 characters without quotes or backslashes", user)
	}
	for _, q := range []string{
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s' REQUIRE SSL", user, password),
		fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY '%s' REQUIRE SSL", user, password),
		fmt.Sprintf("REVOKE ALL PRIVILEGES, GRANT OPTION FROM '%s'@'%%'", user),
		fmt.Sprintf("GRANT %s ON *.* TO '%s'@'%%'", strings.Join(BackupPrivileges, ", "), user),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("backup user %s: %s: %w", user, strings.Join(strings.Fields(q)[:2], " "), err)
		}
	}
	return nil
}
