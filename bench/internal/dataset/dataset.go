// Package dataset is the benchmarks' database: four InnoDB tables of similar size and different shapes,
// filled server-side from MariaDB's SEQUENCE engine (INSERT ... SELECT FROM seq_1_to_N, unlogged: no row
// crosses the client connection and no replica replays it), so a ~1 GiB database is generated in minutes.
// bench/backup and bench/localdata (the live data tier) measure backups of it.
package dataset

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"time"
)

// SameChecksums compares CHECKSUM TABLE of every table of source with the same table in each of dbs.
func SameChecksums(ctx context.Context, db *sql.DB, source string, dbs ...string) error {
	for _, t := range tables {
		sums := make([]int64, len(dbs)+1)
		for i, d := range append([]string{source}, dbs...) {
			var name string
			if err := db.QueryRowContext(ctx, fmt.Sprintf("CHECKSUM TABLE `%s`.`%s`", d, t.Name)).Scan(&name, &sums[i]); err != nil {
				return err
			}
		}
		for i := 1; i < len(sums); i++ {
			if sums[i] != sums[0] {
				return fmt.Errorf("table %s: CHECKSUM TABLE differs: source %d, %s %d", t.Name, sums[0], dbs[i-1], sums[i])
			}
		}
	}
	return nil
}

// Table is one generated table: its name, CREATE statement and INSERT ... SELECT (%d: the row count).
type Table struct{ Name, Create, Fill string }

// TableList is the tables' names, comma separated.
func TableList() string {
	var n []string
	for _, t := range tables {
		n = append(n, t.Name)
	}
	return strings.Join(n, ", ")
}

// Four tables of similar size and different shapes; filled server-side from the SEQUENCE engine.
var tables = []Table{
	{"events", `CREATE TABLE events (id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, kind VARCHAR(16) NOT NULL,
		payload VARCHAR(255) NOT NULL, created DATETIME NOT NULL, KEY k_user (user_id), KEY k_created (created)) ENGINE=InnoDB`,
		`INSERT INTO events SELECT seq, seq % 50000, ELT(1 + seq % 5, 'click','view','buy','share','like'),
		CONCAT('{"session":"', SHA1(seq), '","path":"/app/', seq % 977, '/items","ua":"Mozilla/5.0 (X11; Linux x86_64)","ref":', seq % 31, '}'),
		FROM_UNIXTIME(1700000000 + seq * 7) FROM seq_1_to_%d`},
	{"orders", `CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY, customer_id INT NOT NULL, status ENUM('new','paid','shipped','cancelled') NOT NULL,
		amount DECIMAL(12,2) NOT NULL, currency CHAR(3) NOT NULL, address VARCHAR(200), note TEXT, placed DATETIME NOT NULL,
		KEY k_customer (customer_id), KEY k_placed (placed)) ENGINE=InnoDB`,
		`INSERT INTO orders SELECT seq, seq % 200000, ELT(1 + seq % 4, 'new','paid','shipped','cancelled'), (seq % 100000) / 100,
		ELT(1 + seq % 3, 'EUR','USD','GBP'), CONCAT(seq % 9999, ' Rue de la Paix, ', 10000 + seq % 89999, ' Paris'),
		IF(seq % 3 = 0, NULL, CONCAT('gift wrap please; ', MD5(seq), ' ', REPEAT('x', seq % 40))),
		FROM_UNIXTIME(1600000000 + seq * 13) FROM seq_1_to_%d`},
	{"users", `CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80) NOT NULL,
		password_hash CHAR(60) NOT NULL, country CHAR(2), created DATETIME NOT NULL, settings VARCHAR(100),
		UNIQUE KEY u_email (email), KEY k_country (country)) ENGINE=InnoDB`,
		`INSERT INTO users SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('User Number ', seq),
		CONCAT('$2b$12$', LEFT(TO_BASE64(UNHEX(SHA2(seq, 256))), 53)), ELT(1 + seq % 6, 'FR','DE','GB','US','ES','IT'),
		FROM_UNIXTIME(1500000000 + seq * 11), CONCAT('{"theme":"', IF(seq % 2, 'dark', 'light'), '","lang":"en"}')
		FROM seq_1_to_%d`},
	{"audit_log", `CREATE TABLE audit_log (id BIGINT NOT NULL PRIMARY KEY, actor_id INT NOT NULL, action VARCHAR(40) NOT NULL,
		object_ref VARCHAR(64) NOT NULL, ip VARCHAR(45) NOT NULL, at DATETIME(3) NOT NULL, details VARCHAR(160),
		KEY k_actor (actor_id, at)) ENGINE=InnoDB`,
		`INSERT INTO audit_log SELECT seq, seq % 5000, ELT(1 + seq % 6, 'login','logout','update_profile','create_order','delete_item','export'),
		CONCAT('obj:', SHA1(seq * 3)), CONCAT('10.', seq % 256, '.', (seq DIV 256) % 256, '.', seq % 251),
		FROM_UNIXTIME(1650000000 + seq * 3 + (seq % 1000) / 1000), CONCAT('changed fields: ', seq % 17, ' ', MD5(seq))
		FROM seq_1_to_%d`},
}

// Generate fills database name with the four tables, counts[i] rows in the i-th, unless it already holds
// exactly that (a marker table records the counts); progress goes to out. The session is unlogged
// (sql_log_bin = 0: the connection needs BINLOG ADMIN, e.g. root on the server's socket).
func Generate(ctx context.Context, db *sql.DB, name string, counts [4]int, out io.Writer) error {
	sig := fmt.Sprint(counts)
	var have int
	_ = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'generated_ok'", name).Scan(&have)
	if have == 1 {
		var n string
		if err := db.QueryRowContext(ctx, "SELECT n FROM "+name+".generated_ok").Scan(&n); err == nil && (n == sig || n == fmt.Sprint(counts[0]) && counts == [4]int{counts[0], counts[0], counts[0], counts[0]}) {
			fmt.Fprintf(out, "reusing generated database %s\n", name)
			return nil
		}
	}
	fmt.Fprintf(out, "generating %s: rows per table %v\n", name, counts)
	start := time.Now()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, q := range []string{"DROP DATABASE IF EXISTS " + name, "CREATE DATABASE " + name, "USE " + name, "SET SESSION sql_log_bin = 0"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	for i, t := range tables {
		if _, err := conn.ExecContext(ctx, t.Create); err != nil {
			return fmt.Errorf("create %s: %w", t.Name, err)
		}
		if _, err := conn.ExecContext(ctx, strings.Replace(t.Fill, "%d", fmt.Sprint(counts[i]), 1)); err != nil {
			return fmt.Errorf("fill %s: %w", t.Name, err)
		}
		fmt.Fprintf(out, "  %s: %d rows (%s)\n", t.Name, counts[i], time.Since(start).Round(time.Second))
	}
	for _, q := range []string{"CREATE TABLE generated_ok (n VARCHAR(100))", fmt.Sprintf("INSERT INTO generated_ok VALUES ('%s')", sig), "ANALYZE TABLE " + TableList()} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// Uniform is counts of rows rows in each table.
func Uniform(rows int) [4]int { return [4]int{rows, rows, rows, rows} }
