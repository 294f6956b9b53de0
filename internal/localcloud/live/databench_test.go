package live

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkLocalData measures the live data tier (make bench-local-data; root, under the live lock): the
// replicas' lag under a steady write load from the app tier (median and max, commit on the primary to the
// row visible on the replica), the DR replica's catch-up after 100k writes (START SLAVE to the DR
// replica's GTID position reaching the primary's, its replication paused during the writes and resumed), and
// the four servers' RSS.
func BenchmarkLocalData(b *testing.B) {
	s, dbs := dataState(), testDatabases()
	p, dt := newDataPlatform(b, "bd1", s, dbs, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := dt.ApplyDatabases(ctx, dbs); err != nil {
		b.Fatalf("apply databases: %v", err)
	}
	primary := openFrom(b, p, "app-1", "10.70.16.10:3306", true)
	replica := openFrom(b, p, "app-1", "10.70.17.10:3306", true)
	for _, q := range []string{"CREATE DATABASE bench", "CREATE TABLE bench.t (id INT PRIMARY KEY, v VARCHAR(40))"} {
		if _, err := primary.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	// Steady writes: one row every 10 ms; each one's lag is measured on the replica.
	var lags []time.Duration
	for i := 1; i <= 200; i++ {
		if _, err := primary.ExecContext(ctx, "INSERT INTO bench.t VALUES (?, 'steady')", i); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		for {
			var n int
			if err := replica.QueryRowContext(ctx, "SELECT COUNT(*) FROM bench.t WHERE id = ?", i).Scan(&n); err == nil && n == 1 {
				break
			}
			if time.Since(committed) > 30*time.Second {
				b.Fatalf("row %d never reached the replica", i)
			}
		}
		lags = append(lags, time.Since(committed))
		time.Sleep(10 * time.Millisecond)
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	median, worst := lags[len(lags)/2], lags[len(lags)-1]

	// 100k writes (1000 transactions of 100 rows) while the DR replica's link is paused (STOP SLAVE), then
	// its catch-up from START SLAVE.
	dr, err := sql.Open("mysql", rootDSN(socketPath(p.HostDir("db-dr")+"/mysql/mysqld.sock")))
	if err != nil {
		b.Fatal(err)
	}
	defer dr.Close()
	if _, err := dr.ExecContext(ctx, "STOP SLAVE"); err != nil {
		b.Fatal(err)
	}
	for tx := 0; tx < 1000; tx++ {
		q := "INSERT INTO bench.t VALUES "
		args := make([]any, 0, 100)
		for r := 0; r < 100; r++ {
			if r > 0 {
				q += ","
			}
			q += "(?, 'bulk')"
			args = append(args, 1000+tx*100+r)
		}
		if _, err := primary.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
	}
	var want string
	if err := primary.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&want); err != nil {
		b.Fatal(err)
	}
	last := time.Now()
	if _, err := dr.ExecContext(ctx, "START SLAVE"); err != nil {
		b.Fatal(err)
	}
	for {
		var got string
		if err := dr.QueryRowContext(ctx, "SELECT @@gtid_slave_pos").Scan(&got); err == nil && got == want {
			break
		}
		if time.Since(last) > 5*time.Minute {
			b.Fatal("the DR replica did not catch up in 5 minutes")
		}
		time.Sleep(time.Millisecond)
	}
	catchUp := time.Since(last)
	b.StopTimer()
	var rss int64
	for _, st := range dt.Databases(ctx) {
		rss += st.RSSBytes
	}
	b.ReportMetric(float64(median.Microseconds())/1000, "lag-median-ms")
	b.ReportMetric(float64(worst.Microseconds())/1000, "lag-max-ms")
	b.ReportMetric(float64(catchUp.Milliseconds()), "dr-catchup-ms")
	b.ReportMetric(float64(rss>>20), "databases-rss-MiB")
	fmt.Printf("replica_lag_median_ms=%.2f replica_lag_max_ms=%.2f dr_catchup_100k_ms=%d databases_rss_mib=%d\n",
		float64(median.Microseconds())/1000, float64(worst.Microseconds())/1000, catchUp.Milliseconds(), rss>>20)
}
