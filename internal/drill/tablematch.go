package drill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// TableMatch is the data step's proof that the drill database holds the source's data: every table's row
// count and the backup engine's order-independent hash, on both sides, at one GTID position. A replica drill
// compares the promoted drill database with production's primary (ReplicaSource.Primary); a backup drill
// compares the restored tables with the backup's manifest, at the snapshot's GTID.
type TableMatch struct {
	// Against is what the drill database was compared with; GTID the position both were read at.
	Against string `json:"against"`
	GTID    string `json:"gtid"`
	Tables  int    `json:"tables"`
	Rows    int64  `json:"rows"`
	// Mismatch names each table whose rows or hash differ, or that the drill database lacks.
	Mismatch []string `json:"mismatch,omitempty"`
	// Skipped says why no comparison was made (the drill database never reached the source's position).
	Skipped string `json:"skipped,omitempty"`
}

// TableSum is one table's row count and hash.
type TableSum struct {
	Rows int64
	Hash uint64
}

// snapshotSums reads the row count and hash of every non-system table of db in one consistent snapshot (the
// backup engine's: the same encoding and hash as a backup's manifest), and the snapshot's GTID position.
func snapshotSums(ctx context.Context, db *sql.DB) (string, map[string]TableSum, error) {
	s, err := mysqlx.BeginSnapshot(ctx, db, "", nil, 1)
	if err != nil {
		return "", nil, err
	}
	defer s.Close()
	sums := make(map[string]TableSum, len(s.Tables))
	for _, t := range s.Tables {
		n, h, err := s.DumpTable(ctx, 0, t, func([]byte) error { return nil })
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", t, err)
		}
		sums[t.String()] = TableSum{Rows: n, Hash: h}
	}
	return s.Position.GTID, sums, nil
}

// CompareSums judges the drill side against the source: every source table must be on the drill side with
// the same rows and hash (tables only the drill side has are not the source's business).
func CompareSums(against, gtid string, source, drill map[string]TableSum) TableMatch {
	m := TableMatch{Against: against, GTID: gtid, Tables: len(source)}
	for _, name := range slices.Sorted(maps.Keys(source)) {
		want := source[name]
		m.Rows += want.Rows
		got, ok := drill[name]
		switch {
		case !ok:
			m.Mismatch = append(m.Mismatch, name+": missing on the drill database")
		case got != want:
			m.Mismatch = append(m.Mismatch, fmt.Sprintf("%s: %d rows (hash %016x) on the drill database, %d (hash %016x) on the source",
				name, got.Rows, got.Hash, want.Rows, want.Hash))
		}
	}
	return m
}

// Err is the comparison's failure, naming the tables that differ.
func (m *TableMatch) Err(where string) error {
	if m == nil || len(m.Mismatch) == 0 {
		return nil
	}
	return fmt.Errorf("drill database %s differs from %s at %s: %v", where, m.Against, m.GTID, m.Mismatch)
}

// alignWithPrimary stops the drill database (a replica still), reads the primary's tables in a consistent
// snapshot at its GTID position G, and lets the drill database replicate up to exactly G (at most wait):
// then, promoted, it holds what the primary held at G. It returns G and the primary's sums, or why the
// comparison cannot be made (the drill database is promoted with what it has, as without the comparison).
func alignWithPrimary(ctx context.Context, primary, drillDB *sql.DB, flavor string, wait time.Duration) (string, map[string]TableSum, string, error) {
	rds := false
	if flavor != mysql.MariaDBFlavor {
		var err error
		if rds, err = mysqlx.IsRDS(ctx, drillDB); err != nil {
			return "", nil, "", err
		}
	}
	if _, err := drillDB.ExecContext(ctx, mysqlx.StopReplicaSQL(flavor, rds)); err != nil {
		return "", nil, "", fmt.Errorf("stop replication: %w", err)
	}
	gtid, sums, err := snapshotSums(ctx, primary)
	if err != nil {
		return "", nil, "", fmt.Errorf("production's primary: table sums: %w", err)
	}
	until, err := mysqlx.ReplicateUntilSQL(flavor, rds, gtid)
	if err != nil {
		// The drill database cannot stop there (an RDS set of several servers): restart it, compare nothing.
		if _, rerr := drillDB.ExecContext(ctx, mysqlx.StartReplicaSQL(flavor, rds)); rerr != nil {
			return "", nil, "", fmt.Errorf("restart replication: %w", rerr)
		}
		return gtid, nil, err.Error(), nil
	}
	if _, err := drillDB.ExecContext(ctx, until); err != nil {
		return "", nil, "", fmt.Errorf("replicate until %s: %w", gtid, err)
	}
	err = mysqlx.WaitGTID(ctx, drillDB, flavor, gtid, wait)
	switch {
	case errors.Is(err, mysqlx.ErrGTIDWaitTimeout):
		return gtid, nil, fmt.Sprintf("the drill database did not reach the primary's snapshot %s within %s", gtid, wait), nil
	case err != nil:
		return "", nil, "", err
	}
	return gtid, sums, "", nil
}
