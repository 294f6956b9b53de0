// Command localdata benchmarks production's live data tier from the operator's seat (`make bench-local-data`;
// root, run it under flock -o /tmp/plinth-live.lock: it creates network namespaces). From an empty plinth
// home it brings production up on the local cloud, deploys the sample service to the app tier, then:
//
//   - memory: the whole live platform (the live server and every process below it, by pid tree: hosts'
//     sshd, services, HAProxy, the four mariadbd, redis, the vault in the server) by kind, RSS and PSS,
//     after up and again after the backups (warm buffer pools);
//   - backup through the bastion: a ~1 GB database (the bench-backup tables, filled server-side) on the
//     primary; each round times `plinth backup run --stack production --cloud local` (the backup user's
//     secret, SSH direct-tcpip through the published bastion, TLS verified with the local CA, into the live
//     vault) against peers over the same path, an OpenSSH tunnel (-L) through the published bastion to the
//     primary with TLS: bare mariadb-dump > /dev/null, mariadb-dump | zstd -3 | openssl enc, mydumper; and
//     plinth again into a file:// store (the vault's share of the time). Medians of the rounds.
//
// The last line is machine-readable:
//
//	backup_mb_s=<n> backup_vs_dump=<r> backup_vs_pipeline=<r> backup_vs_mydumper=<r> peak_rss_mib=<n> platform_rss_mib=<n> platform_pss_mib=<n>
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/plinth-dev/plinth/bench/internal/platmem"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
)

const (
	stack  = "production"
	dbName = "benchdb"
)

type options struct {
	rounds, rows, workers int
	home                  string // "" a fresh one, removed at the end
	keep                  bool   // leave the platform up (with -home: iterate on the measurements)
	mydumper              bool
	fillBufferPool        string
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of the backup measurements (medians)")
	flag.IntVar(&o.rows, "rows", 1_600_000, "rows per table (4 tables; 1.6e6 gives ~1 GB of raw dump)")
	flag.IntVar(&o.workers, "workers", 4, "plinth --workers and mydumper --threads")
	flag.StringVar(&o.home, "home", "", "plinth home (default: a fresh one, removed after); a home whose production is live is reused")
	flag.BoolVar(&o.keep, "keep", false, "leave production up (no destroy) and the home in place")
	flag.BoolVar(&o.mydumper, "mydumper", true, "measure mydumper too")
	flag.StringVar(&o.fillBufferPool, "fill-buffer-pool", "512M", "the primary's innodb_buffer_pool_size while the database is generated (set back after; \"\": unchanged)")
	flag.Parse()
	if err := bench(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench-local-data:", err)
		os.Exit(1)
	}
}

func bench(o options) (err error) {
	if err := live.Check(); err != nil {
		return err
	}
	b, err := newBench(o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.close()) }()
	fmt.Printf("load average at start: %s\n", loadavg())
	if err := b.up(); err != nil {
		return err
	}
	before, err := b.memory()
	if err != nil {
		return err
	}
	fmt.Printf("\nplatform memory after up (production: %d hosts, the sample service on the app tier), by kind:\n", len(b.st.Hosts))
	before.Print(os.Stdout, "  ")
	fmt.Printf("  mariadbd by server (RSS MiB): %s\n", b.byServer(before, "mariadbd"))
	res, err := b.backups()
	if err != nil {
		return err
	}
	after, err := b.memory()
	if err != nil {
		return err
	}
	fmt.Printf("\nplatform memory after the backups (warm buffer pools), by kind:\n")
	after.Print(os.Stdout, "  ")
	fmt.Printf("  mariadbd by server (RSS MiB): %s\n", b.byServer(after, "mariadbd"))
	peak := max(before.RSS, after.RSS)
	verdict := "met"
	if peak >= 2<<30 {
		verdict = "MISSED"
	}
	fmt.Printf("platform RSS %.0f MiB (PSS %.0f MiB) after up, %.0f MiB (PSS %.0f MiB) after the backups: target < 2048 MiB %s\n",
		platmem.MiB(before.RSS), platmem.MiB(before.PSS), platmem.MiB(after.RSS), platmem.MiB(after.PSS), verdict)
	fmt.Printf("load average at end: %s\n", loadavg())
	res.print(os.Stdout)
	fmt.Printf("%s platform_rss_mib=%.0f platform_pss_mib=%.0f\n", res.summary(), platmem.MiB(peak), platmem.MiB(max(before.PSS, after.PSS)))
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
