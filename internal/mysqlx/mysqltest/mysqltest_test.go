package mysqltest_test

import (
	"testing"

	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

func TestStartsRealServer(t *testing.T) {
	s := mysqltest.New(t)
	db := s.Open(t, "")
	var v string
	if err := db.QueryRow("SELECT VERSION()").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v == "" {
		t.Fatal("empty version")
	}
	var logBin string
	if err := db.QueryRow("SELECT @@log_bin").Scan(&logBin); err != nil || logBin != "1" {
		t.Fatalf("log_bin = %q, %v", logBin, err)
	}
}
