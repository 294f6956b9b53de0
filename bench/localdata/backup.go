package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	_ "github.com/go-sql-driver/mysql"

	"github.com/plinth-dev/plinth/bench/internal/livehome"
	"github.com/plinth-dev/plinth/bench/internal/timing"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
)

// The measured ways to take a backup of benchdb, in the order of each round.
const (
	toolDump     = "mariadb-dump > /dev/null"
	toolPipeline = "mariadb-dump | zstd -3 | openssl enc"
	toolMydumper = "mydumper -c (gzip)"
	toolPlinth   = "plinth backup run -> live vault"
	toolPlinthFS = "plinth backup run -> file://"
)

// results are the rounds' wall times by tool, the raw dump's size and plinth's peak RSS.
type results struct {
	mb     float64
	times  map[string][]float64
	order  []string
	peak   int64
	rounds int
}

func (r *results) add(tool string, d time.Duration) {
	if _, ok := r.times[tool]; !ok {
		r.order = append(r.order, tool)
	}
	r.times[tool] = append(r.times[tool], d.Seconds())
}

func (r *results) median(tool string) float64 { return timing.Median(r.times[tool]) }

// ratio is the peer's median time over plinth's (into the vault): above 1, plinth is faster.
func (r *results) ratio(peer string) float64 {
	if r.median(peer) == 0 || r.median(toolPlinth) == 0 {
		return 0
	}
	return r.median(peer) / r.median(toolPlinth)
}

func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "\nbackup of %s (%.0f MB raw dump) through the published bastion to the primary, medians of %d rounds:\n", dbName, r.mb, r.rounds)
	fmt.Fprintf(w, "  %-36s %8s %8s  %s\n", "", "median s", "MB/s", "rounds (s)")
	for _, t := range r.order {
		var each []string
		for _, s := range r.times[t] {
			each = append(each, fmt.Sprintf("%.1f", s))
		}
		fmt.Fprintf(w, "  %-36s %8.1f %8.1f  %s\n", t, r.median(t), r.mb/r.median(t), strings.Join(each, " "))
	}
	fmt.Fprintf(w, "  plinth's peak RSS %d MiB\n", r.peak>>20)
}

func (r *results) summary() string {
	s := fmt.Sprintf("backup_mb_s=%.1f backup_vs_dump=%.2f backup_vs_pipeline=%.2f", r.mb/r.median(toolPlinth), r.ratio(toolDump), r.ratio(toolPipeline))
	if _, ok := r.times[toolMydumper]; ok {
		s += fmt.Sprintf(" backup_vs_mydumper=%.2f", r.ratio(toolMydumper))
	}
	return s + fmt.Sprintf(" peak_rss_mib=%d", r.peak>>20)
}

// backups fills benchdb on the primary, opens the peers' tunnel and measures the rounds.
func (b *benchRun) backups() (*results, error) {
	ctx := context.Background()
	if err := b.fill(ctx); err != nil {
		return nil, err
	}
	port, stop, err := b.tunnel(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	cnf, err := b.clientConfig(ctx, port)
	if err != nil {
		return nil, err
	}
	dump := "mariadb-dump --defaults-extra-file=" + cnf + " --single-transaction " + dbName
	// Warm-up (untimed) and the raw dump's size: the MB/s numerator of every tool.
	out, err := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", dump+" | wc -c").Output()
	if err != nil {
		return nil, fmt.Errorf("%s | wc -c: %w", dump, err)
	}
	size, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return nil, err
	}
	r := &results{mb: size / 1e6, times: map[string][]float64{}, rounds: b.o.rounds}
	fmt.Printf("\ndatabase %s: raw dump %.0f MB (%d rows x 4 tables); peers through ssh -L 127.0.0.1:%d -> %s (published bastion %s), TLS\n",
		dbName, r.mb, b.o.rows, port, b.primaryAddr(), b.st.Bastion)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	fsStore := filepath.Join(b.work, "vault-file")
	for round := 1; round <= b.o.rounds; round++ {
		fmt.Printf("round %d (load %s)\n", round, loadavg())
		shells := []struct{ tool, script string }{
			{toolDump, dump + " > /dev/null"},
			{toolPipeline, dump + " | zstd -3 -q -c | openssl enc -aes-256-ctr -pbkdf2 -pass pass:bench > /dev/null"},
		}
		if b.o.mydumper {
			dir := filepath.Join(b.work, "mydumper")
			shells = append(shells, struct{ tool, script string }{toolMydumper, fmt.Sprintf(
				"rm -rf %s && mydumper --defaults-file=%s --ssl --ca=%s -B %s -t %d -c --trx-consistency-only -r 400000 -o %s",
				dir, cnf, b.st.CAFile, dbName, b.o.workers, dir)})
		}
		for _, s := range shells {
			d, err := timing.Shell(ctx, s.script)
			if err != nil {
				return nil, err
			}
			r.add(s.tool, d)
			fmt.Printf("  %-36s %6.1f s %7.1f MB/s\n", s.tool, d.Seconds(), r.mb/d.Seconds())
		}
		args := []string{"backup", "run", "--stack", stack, "--cloud", "local", "-d", dbName, "-r", id.Recipient().String(), "-q", "-j", strconv.Itoa(b.o.workers)}
		for _, to := range []struct{ tool, store string }{{toolPlinth, ""}, {toolPlinthFS, "file://" + fsStore + "?metadata=skip"}} {
			a := args
			if to.store != "" {
				if err := os.RemoveAll(fsStore); err != nil {
					return nil, err
				}
				if err := os.MkdirAll(fsStore, 0o700); err != nil {
					return nil, err
				}
				a = append(append([]string{}, args...), "--store", to.store)
			}
			d, peak, out, err := timing.Measure(ctx, b.h.Env(), b.h.Plinth, a...)
			if err != nil {
				return nil, fmt.Errorf("plinth %s: %w\n%s", strings.Join(a, " "), err, livehome.Tail(out))
			}
			r.add(to.tool, d)
			r.peak = max(r.peak, peak)
			fmt.Printf("  %-36s %6.1f s %7.1f MB/s, peak RSS %d MiB\n", to.tool, d.Seconds(), r.mb/d.Seconds(), peak>>20)
		}
	}
	return r, nil
}

func (b *benchRun) primary() (name, addr string) {
	for _, d := range b.st.Databases {
		if d.Role == live.RolePrimary {
			return d.Name, d.Address
		}
	}
	return "", ""
}

func (b *benchRun) primaryAddr() string { _, a := b.primary(); return net.JoinHostPort(a, "3306") }

// fill generates benchdb on the primary as root on its socket (unlogged: the replicas do not replay 1 GB),
// its buffer pool raised meanwhile when asked and set back after.
func (b *benchRun) fill(ctx context.Context) error {
	var pool int64
	if b.o.fillBufferPool != "" {
		var err error
		if pool, err = parseSize(b.o.fillBufferPool); err != nil {
			return err
		}
	}
	return livehome.FillPrimary(ctx, b.st, dbName, b.o.rows, pool)
}

// parseSize reads a byte count with an optional K, M or G suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult = 1 << 10
	case strings.HasSuffix(s, "M"):
		mult = 1 << 20
	case strings.HasSuffix(s, "G"):
		mult = 1 << 30
	}
	n, err := strconv.ParseInt(strings.TrimRight(s, "KMG"), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-fill-buffer-pool %q: want a size such as 512M", s)
	}
	return n * mult, nil
}
