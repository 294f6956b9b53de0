package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/bench/internal/livehome"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
)

// rowsPerMB: the bench-backup tables' rows per MB of dump (1.6e6 rows a table are ~1 GB).
const rowsPerMB = 1600

// benchDB is the generated database a backup drill's backup carries beside production's own.
const benchDB = "drilldata"

// vaultBackup is the verified backup a backup drill restores, and how it was made.
type vaultBackup struct {
	identity string    // the restore identity's file
	started  time.Time // before `backup run`: the backup's snapshot is younger
	dataMB   int
}

// prepareBackup loads dataMB of generated tables into production's primary (unlogged: the replicas and the
// DR replica do not replay it; 0: production's own data only), then takes the backup an operator would:
// `backup keygen`, `backup grant`, `backup run --stack production -r <recipient>` into the live vault and
// `backup verify latest` (which marks it verified: a backup drill's default source).
func prepareBackup(e env, client *live.Client, work string, dataMB int) (vaultBackup, error) {
	b := vaultBackup{identity: filepath.Join(work, "restore.key"), dataMB: dataMB}
	if dataMB > 0 {
		prod, err := stackStatus(client, "production")
		if err != nil {
			return b, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		if err := livehome.FillPrimary(ctx, *prod, benchDB, dataMB*rowsPerMB, 512<<20); err != nil {
			return b, err
		}
	}
	out, _, err := e.run("backup", "keygen", "--out", b.identity)
	if err != nil {
		return b, err
	}
	recipient := regexp.MustCompile(`age1[0-9a-z]+`).FindString(string(out))
	if recipient == "" {
		return b, fmt.Errorf("backup keygen printed no recipient: %s", out)
	}
	if _, _, err := e.run("backup", "grant", "--stack", "production"); err != nil {
		return b, err
	}
	b.started = time.Now()
	if _, _, err := e.run("backup", "run", "--stack", "production", "-r", recipient, "-q"); err != nil {
		return b, err
	}
	ran := time.Since(b.started)
	if _, _, err := e.run("backup", "verify", "latest", "-i", b.identity, "--stack", "production", "-q"); err != nil {
		return b, err
	}
	list, _, err := e.run("backup", "list", "--stack", "production")
	if err != nil {
		return b, err
	}
	fmt.Printf("backup of production (%s): run %.1f s, verified %.1f s after it began\n%s", b.size(), ran.Seconds(),
		time.Since(b.started).Seconds(), indent(string(list)))
	return b, nil
}

func (b vaultBackup) size() string {
	if b.dataMB == 0 {
		return "production's own data"
	}
	return fmt.Sprintf("%d MB generated in %s", b.dataMB, benchDB)
}

func indent(s string) string {
	var out strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		out.WriteString("  " + l + "\n")
	}
	return out.String()
}
