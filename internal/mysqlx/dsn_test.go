package mysqlx

import (
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestDSNRoundTrips(t *testing.T) {
	dsn := DSN("db.example:3306", "backup", "p@ss:w/rd")
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if c.Net != "tcp" || c.Addr != "db.example:3306" || c.User != "backup" || c.Passwd != "p@ss:w/rd" || c.DBName != "" {
		t.Fatalf("%s parsed as %+v", dsn, c)
	}
	if Redact(dsn) != "backup@tcp(db.example:3306)/" {
		t.Errorf("redacted %q", Redact(dsn))
	}
}
