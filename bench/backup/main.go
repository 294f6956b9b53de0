// Command backup benchmarks `plinth backup run` and `plinth backup restore` against mariadb-dump and
// mydumper/myloader (Debian's mydumper, gzip: the only compression it has) measured in the same run on the
// same server with the same thread count, and prints as its last line:
//
//	backup_vs_dump=<r> backup_vs_pipeline=<r> restore_vs_client=<r> backup_vs_mydumper=<r>
//	bigtable_backup_vs_dump=<r> pitr_restore_s=<s> pitr_lost_s=<s> restore_vs_myloader=<r> peak_rss_mib=<n>
//	codec=<plinth's default codec>
//
// The database (~1 GiB of raw dump by default) and a second one whose largest table holds 80% of the rows
// (bigtable_backup_vs_dump: chunking) are generated on a real mariadbd (internal/mysqlx/mysqltest) kept in
// -dir, so later runs reuse them.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"
	_ "github.com/go-sql-driver/mysql"

	"github.com/plinth-dev/plinth/bench/internal/dataset"
	"github.com/plinth-dev/plinth/bench/internal/timing"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-backup:", err)
		os.Exit(1)
	}
}

const (
	dbName = "benchdb"
	bigDB  = "benchbig" // one table holds 80% of the rows
)

func run() error {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "plinth-bench-backup"), "server datadir and scratch space (kept between runs)")
	plinth := flag.String("plinth", "bin/plinth", "the plinth binary under test")
	rows := flag.Int("rows", 1_600_000, "rows per table (4 tables; 1.6e6 gives ~1 GiB of raw dump)")
	runs := flag.Int("runs", 3, "rounds of each backup-side measurement, interleaved; ratios use the medians (shared machines are noisy)")
	workers := flag.Int("workers", 4, "plinth --workers")
	skipRestore := flag.Bool("skip-restore", false, "only the backup-side measurements (tuning)")
	restoreOnly := flag.Bool("restore-only", false, "only time plinth backup restore of the latest backup in -dir (tuning)")
	pitrWrites := flag.Int("pitr-writes", 100_000, "rows written between the snapshot and the point-in-time target (0: no PITR measurement)")
	dumperRows := flag.Int("mydumper-rows", 400_000, "mydumper --rows: its chunk size (plinth chunks ~64 MiB of rows by itself)")
	codecs := flag.Int("codecs", 0, "only compare the codecs (CPU, bytes, decode CPU; N rounds) on the plaintext of the latest backups in -dir, no server")
	flag.Parse()
	ctx := context.Background()
	if *codecs > 0 {
		return runCodecs(*dir, *codecs)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	srv, err := mysqltest.Start(ctx, mysqltest.Options{Dir: filepath.Join(*dir, "server"), BufferPool: "2G"})
	if err != nil {
		return err
	}
	defer srv.Stop()
	db, err := sql.Open("mysql", srv.DSN(""))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := dataset.Generate(ctx, db, dbName, dataset.Uniform(*rows), os.Stdout); err != nil {
		return err
	}
	// The second data set: the same total shape with one table holding 80% of the rows.
	bigRows := *rows * 4 * 3 / 8 // 60% of the main set's rows
	big := bigRows * 8 / 10
	rest := (bigRows - big) / 3
	if err := dataset.Generate(ctx, db, bigDB, [4]int{big, rest, rest, rest}, os.Stdout); err != nil {
		return err
	}
	for _, q := range []string{"DROP DATABASE IF EXISTS restore_client", "DROP DATABASE IF EXISTS restore_plinth", "DROP DATABASE IF EXISTS restore_myloader", "RESET MASTER"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if *restoreOnly {
		env := append(os.Environ(), "PLINTH_BACKUP_DSN="+srv.DSN(""), "PLINTH_BACKUP_STORE=file://"+filepath.Join(*dir, "vault")+"?metadata=skip",
			"PLINTH_BACKUP_IDENTITY="+filepath.Join(*dir, "bench.key"))
		d, _, out, err := timing.Measure(ctx, env, *plinth, "backup", "restore", "latest", "--rename", dbName+"=restore_plinth", "-j", fmt.Sprint(*workers))
		fmt.Printf("plinth backup restore (%s): %.1fs\n%s", codecOf(filepath.Join(*dir, "vault")), d.Seconds(), out)
		if err != nil {
			return err
		}
		return dataset.SameChecksums(ctx, db, dbName, "restore_plinth")
	}
	// Client tools read the password from a defaults file, not the command line.
	cnf := filepath.Join(*dir, "client.cnf")
	if err := os.WriteFile(cnf, []byte(fmt.Sprintf("[client]\nuser=%s\npassword=%s\nhost=127.0.0.1\nport=%d\n", mysqltest.User, mysqltest.Password, srv.Port)), 0o600); err != nil {
		return err
	}
	dumpArgs := "--defaults-extra-file=" + cnf + " --single-transaction " + dbName
	dumpFile := filepath.Join(*dir, "dump.sql")

	// Warm-up and the restore baseline's input (untimed): the raw dump size is the MB/s numerator for all.
	if _, err := timing.Shell(ctx, "mariadb-dump "+dumpArgs+" > "+dumpFile); err != nil {
		return err
	}
	st, err := os.Stat(dumpFile)
	if err != nil {
		return err
	}
	raw := float64(st.Size())
	mb := raw / 1e6
	fmt.Printf("database: %s, raw dump %.0f MB (%d rows x 4 tables)\n", dbName, mb, *rows)

	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	idFile := filepath.Join(*dir, "bench.key")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		return err
	}
	vault := filepath.Join(*dir, "vault")
	store := "file://" + vault + "?metadata=skip"
	env := append(os.Environ(), "PLINTH_BACKUP_DSN="+srv.DSN(""), "PLINTH_BACKUP_STORE="+store, "PLINTH_BACKUP_IDENTITY="+idFile)
	my := fmt.Sprintf("-h 127.0.0.1 -P %d -u %s -p %s", srv.Port, mysqltest.User, mysqltest.Password) // a local test account
	dumperDir := filepath.Join(*dir, "mydumper")
	bigVault := filepath.Join(*dir, "vault-big")
	bigEnv := append(append([]string{}, env...), "PLINTH_BACKUP_STORE=file://"+bigVault+"?metadata=skip")
	var tDump, tPipe, tBackup, tDumper, tBigDump, tBigBackup rounds
	var rss int64
	var out string
	for r := 1; r <= *runs; r++ {
		d, err := timing.Shell(ctx, "mariadb-dump "+dumpArgs+" > /dev/null")
		if err != nil {
			return err
		}
		tDump.add(d)
		fmt.Printf("run %d: mariadb-dump --single-transaction > /dev/null:        %6.1fs %7.1f MB/s\n", r, d.Seconds(), mb/d.Seconds())
		d, err = timing.Shell(ctx, "mariadb-dump "+dumpArgs+" | zstd -3 -q -c | openssl enc -aes-256-ctr -pbkdf2 -pass pass:bench > /dev/null")
		if err != nil {
			return err
		}
		tPipe.add(d)
		fmt.Printf("run %d: mariadb-dump | zstd -3 | openssl enc -aes-256-ctr:     %6.1fs %7.1f MB/s\n", r, d.Seconds(), mb/d.Seconds())
		_ = os.RemoveAll(vault)
		if err := os.MkdirAll(vault, 0o700); err != nil {
			return err
		}
		var peak int64
		d, peak, out, err = timing.Measure(ctx, env, *plinth, "backup", "run", "-d", dbName, "-r", id.Recipient().String(), "-q", "-j", fmt.Sprint(*workers))
		if err != nil {
			return fmt.Errorf("plinth backup run: %w\n%s", err, out)
		}
		tBackup.add(d)
		rss = max(rss, peak)
		fmt.Printf("run %d: plinth backup run (%s+age -> file://, %d streams):   %6.1fs %7.1f MB/s, peak RSS %d MiB\n", r, codecOf(vault), *workers, d.Seconds(), mb/d.Seconds(), peak>>20)
		d, err = timing.Shell(ctx, fmt.Sprintf("rm -rf %s && mydumper %s -B %s -t %d -c --trx-consistency-only -r %d -o %s", dumperDir, my, dbName, *workers, *dumperRows, dumperDir))
		if err != nil {
			return err
		}
		tDumper.add(d)
		fmt.Printf("run %d: mydumper -c (gzip) -t %d -r %d:                    %6.1fs %7.1f MB/s\n", r, *workers, *dumperRows, d.Seconds(), mb/d.Seconds())
		d, err = timing.Shell(ctx, "mariadb-dump --defaults-extra-file="+cnf+" --single-transaction "+bigDB+" > /dev/null")
		if err != nil {
			return err
		}
		tBigDump.add(d)
		fmt.Printf("run %d: big table set: mariadb-dump > /dev/null:            %6.1fs\n", r, d.Seconds())
		_ = os.RemoveAll(bigVault)
		if err := os.MkdirAll(bigVault, 0o700); err != nil {
			return err
		}
		d, peak, out2, err := timing.Measure(ctx, bigEnv, *plinth, "backup", "run", "-d", bigDB, "-r", id.Recipient().String(), "-j", fmt.Sprint(*workers))
		if err != nil {
			return fmt.Errorf("plinth backup run %s: %w\n%s", bigDB, err, out2)
		}
		tBigBackup.add(d)
		rss = max(rss, peak)
		fmt.Printf("run %d: big table set: plinth backup run (chunked, %s):     %6.1fs, peak RSS %d MiB\n", r, codecOf(bigVault), d.Seconds(), peak>>20)
	}
	for _, r := range []struct {
		name string
		d    rounds
	}{{"mariadb-dump > /dev/null", tDump}, {"mariadb-dump | zstd | openssl", tPipe}, {"plinth backup run (" + codecOf(vault) + ")", tBackup},
		{"mydumper", tDumper}, {"big table set: mariadb-dump", tBigDump}, {"big table set: plinth backup run (" + codecOf(bigVault) + ")", tBigBackup}} {
		fmt.Printf("median of %d: %-34s %6.2fs %v\n", len(r.d), r.name, r.d.median().Seconds(), r.d)
	}
	peers := fmt.Sprintf("backup_vs_mydumper=%.2f bigtable_backup_vs_dump=%.2f", ratio(tDumper, tBackup), ratio(tBigDump, tBigBackup))
	if *pitrWrites > 0 {
		p, err := runPITR(ctx, db, env, *plinth, *dir, id.Recipient().String(), idFile, *pitrWrites)
		if err != nil {
			return err
		}
		peers += fmt.Sprintf(" pitr_restore_s=%.1f pitr_lost_s=%.0f", p.restore.Seconds(), p.lostSecs)
	}
	fmt.Print(indent(out))
	if *skipRestore {
		fmt.Printf("backup_vs_dump=%.2f backup_vs_pipeline=%.2f %s peak_rss_mib=%d codec=%s\n", ratio(tDump, tBackup), ratio(tPipe, tBackup), peers, rss>>20, codecOf(bigVault))
		return nil
	}
	bid := regexp.MustCompile(`backup (\d{8}T\d{6}Z)`).FindStringSubmatch(out)
	if bid == nil {
		return fmt.Errorf("no backup id in output:\n%s", out)
	}

	if _, err := db.ExecContext(ctx, "CREATE DATABASE restore_client"); err != nil {
		return err
	}
	tClient, err := timing.Shell(ctx, "mariadb --defaults-extra-file="+cnf+" restore_client < "+dumpFile)
	if err != nil {
		return err
	}
	fmt.Printf("mariadb < dump.sql:                                       %6.1fs %7.1f MB/s\n", tClient.Seconds(), mb/tClient.Seconds())
	tRestore, _, out, err := timing.Measure(ctx, env, *plinth, "backup", "restore", bid[1], "--rename", dbName+"=restore_plinth", "-q", "-j", fmt.Sprint(*workers))
	if err != nil {
		return fmt.Errorf("plinth backup restore: %w\n%s", err, out)
	}
	fmt.Printf("plinth backup restore (%s, %d loaders):                  %6.1fs %7.1f MB/s\n", codecOf(vault), *workers, tRestore.Seconds(), mb/tRestore.Seconds())
	// -e: myloader writes the binlog as plinth's restore does by default (otherwise it turns it off for its
	// sessions and skips writing every restored row to the binlog, which a restore replicas must see cannot do).
	tLoader, err := timing.Shell(ctx, fmt.Sprintf("myloader %s -d %s -t %d -s %s -B restore_myloader -o -e", my, dumperDir, *workers, dbName))
	if err != nil {
		return err
	}
	fmt.Printf("myloader -t %d -e (binlog on):                             %6.1fs %7.1f MB/s\n", *workers, tLoader.Seconds(), mb/tLoader.Seconds())
	if err := dataset.SameChecksums(ctx, db, dbName, "restore_client", "restore_plinth", "restore_myloader"); err != nil {
		return err
	}
	fmt.Println("restored tables match the source (CHECKSUM TABLE)")
	fmt.Printf("backup_vs_dump=%.2f backup_vs_pipeline=%.2f restore_vs_client=%.2f %s restore_vs_myloader=%.2f peak_rss_mib=%d codec=%s\n",
		ratio(tDump, tBackup), ratio(tPipe, tBackup), tClient.Seconds()/tRestore.Seconds(), peers,
		tLoader.Seconds()/tRestore.Seconds(), rss>>20, codecOf(vault))
	return nil
}

// rounds are one measurement's wall times, one per round.
type rounds []time.Duration

func (r *rounds) add(d time.Duration) { *r = append(*r, d) }

func (r rounds) median() time.Duration {
	s := make([]float64, len(r))
	for i, d := range r {
		s[i] = d.Seconds()
	}
	return time.Duration(timing.Median(s) * float64(time.Second))
}

func (r rounds) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range r {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.2f", d.Seconds())
	}
	return b.String() + "]"
}

// ratio is peer's median over plinth's: above 1, plinth is faster.
func ratio(peer, plinth rounds) float64 { return peer.median().Seconds() / plinth.median().Seconds() }

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String()
}
