package views

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
)

// Bytes renders a byte count with binary units.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// BackupRunResult is what `plinth backup run` reports.
type BackupRunResult struct {
	Store    string             `json:"store"`
	Manifest *manifest.Manifest `json:"manifest"`
	Notes    *backup.RunNotes   `json:"notes,omitempty"`
	Duration time.Duration      `json:"durationNs"`
	// Skipped says why no backup was taken (a scheduled run whose period another run claimed).
	Skipped string `json:"skipped,omitempty"`
}

// BackupRun renders a finished backup.
func BackupRun(w io.Writer, format string, r BackupRunResult) error {
	if format == "json" {
		return JSON(w, r)
	}
	if r.Skipped != "" {
		fmt.Fprintf(w, "no backup taken: %s (store %s)\n", r.Skipped, r.Store)
		return nil
	}
	m := r.Manifest
	secs := r.Duration.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(m.PlainSize()) / secs / 1e6
	}
	fmt.Fprintf(w, "backup %s complete in %s: %d tables, %d rows, %s raw -> %s stored in %d objects (%.1f MB/s)\n",
		m.ID, r.Duration.Round(time.Millisecond), len(m.Tables), m.Rows(), Bytes(m.PlainSize()), Bytes(m.Size()), len(m.Objects), rate)
	fmt.Fprintf(w, "store:      %s\n", r.Store)
	fmt.Fprintf(w, "snapshot:   %s:%d gtid %q\n", m.Snapshot.BinlogFile, m.Snapshot.BinlogPos, m.Snapshot.GTID)
	fmt.Fprintf(w, "recipients: %s\n", strings.Join(m.Recipients, ", "))
	if n := r.Notes; n != nil {
		fmt.Fprintf(w, "objects:    %s\n", objectCounts(n.Objects))
		for _, x := range n.Warnings {
			fmt.Fprintf(w, "warning:    %s\n", x)
		}
	}
	return nil
}

func objectCounts(c map[string]int) string {
	var parts []string
	for _, k := range []string{"view", "procedure", "function", "trigger", "event"} {
		if c[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s(s)", c[k], k))
		}
	}
	if len(parts) == 0 {
		return "no views, routines, triggers or events"
	}
	return strings.Join(parts, ", ")
}

// BackupList renders backups, newest first. Incomplete ones only when all is set.
func BackupList(w io.Writer, format string, entries []backup.Entry, all bool) error {
	shown := []backup.Entry{}
	for _, e := range entries {
		if all || e.Restorable() {
			shown = append(shown, e)
		}
	}
	if format == "json" {
		return JSON(w, shown)
	}
	if len(shown) == 0 {
		fmt.Fprintln(w, "no backups")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tVERIFIED\tTABLES\tROWS\tSIZE\tGTID")
	for _, e := range shown {
		status := "complete"
		switch {
		case !e.Complete:
			status = "incomplete"
		case e.Manifest == nil:
			status = "unreadable"
		case len(e.Damaged) > 0:
			status = "DAMAGED"
		}
		verified := "-"
		if e.Verified != nil {
			verified = e.Verified.VerifiedAt.UTC().Format("2006-01-02 15:04")
			if e.Verified.Failed {
				verified = "FAILED " + verified
			} else if e.Verified.RestoreChecked {
				verified += " (restore)"
			}
		}
		gtid := e.GTID
		if gtid == "" {
			gtid = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", e.ID, status, verified, e.Tables, e.Rows, Bytes(e.Size), gtid)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range shown {
		if why := e.NotIntact(); why != "" {
			fmt.Fprintf(w, "%s is not intact: %s\n", e.ID, why)
		}
	}
	return nil
}

// BackupVerify renders a verification report.
func BackupVerify(w io.Writer, format string, r *backup.VerifyReport) error {
	if format == "json" {
		return JSON(w, r)
	}
	bad := 0
	for _, o := range r.Objects {
		if !o.OK {
			bad++
			fmt.Fprintf(w, "FAIL object %s: %s\n", o.Name, o.Error)
		}
	}
	for _, t := range r.Tables {
		if !t.OK && t.Error != "" {
			fmt.Fprintf(w, "FAIL table %s: %s\n", t.Table, t.Error)
		}
	}
	if !r.SealedManifest {
		fmt.Fprintln(w, "FAIL manifest: its sealed copy is missing or differs")
	}
	if r.OK {
		how := "streams rehashed"
		if r.RestoreChecked {
			how = "streams rehashed, restored into scratch and every table compared"
		}
		fmt.Fprintf(w, "backup %s verified: %d objects (%s) read back, %d tables match the manifest (%s) in %s\n",
			r.ID, len(r.Objects), Bytes(r.Bytes), len(r.Tables), how, r.Duration.Round(time.Millisecond))
		if r.Marked {
			fmt.Fprintln(w, "marked verified: prune keeps the newest verified backup")
		}
		if c := r.Binlog; c != nil {
			for _, g := range append(append([]string{}, c.Gaps...), c.Bad...) {
				fmt.Fprintf(w, "FAIL binlog: %s\n", g)
			}
			switch {
			case c.Unavailable != "":
				fmt.Fprintf(w, "binlog: %s\n", c.Unavailable)
			case c.OK():
				fmt.Fprintf(w, "binlog chain from the snapshot (GTID %s) to %s: %d segments, no gap\n", c.From, c.To, c.Segments)
			}
		}
		return nil
	}
	fmt.Fprintf(w, "backup %s FAILED verification: %d of %d objects bad\n", r.ID, bad, len(r.Objects))
	if r.MarkedFailed {
		fmt.Fprintln(w, "recorded as FAILED: list shows it, prune keeps it but no longer counts it as a backup")
	}
	return nil
}

// BackupRestore renders a restore.
func BackupRestore(w io.Writer, format string, r *backup.RestoreReport) error {
	if format == "json" {
		return JSON(w, r)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	for _, t := range r.Tables {
		fmt.Fprintf(tw, "%s\t%d\n", t.Table, t.Rows)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, o := range r.Objects {
		note := ""
		switch {
		case o.DefinerReplaced:
			note = " (definer: the restoring user)"
		case o.DefinerMissing:
			note = " (definer " + o.Definer + " MISSING on the target)"
		}
		fmt.Fprintf(w, "%s %s%s\n", o.Kind, o.Name, note)
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", x)
	}
	fmt.Fprintf(w, "restored backup %s: %d tables, %d rows, %d views/routines/triggers/events, %s in %s\n", r.ID, len(r.Tables), r.Rows, len(r.Objects), Bytes(r.Bytes), r.Duration.Round(time.Millisecond))
	return nil
}

// BackupPrune renders a prune plan or its outcome.
func BackupPrune(w io.Writer, format string, r *backup.PruneReport) error {
	if format == "json" {
		return JSON(w, r)
	}
	remove := 0
	for _, d := range r.Decisions {
		verdict := "keep  "
		if !d.Keep {
			verdict = "remove"
			remove++
		}
		fmt.Fprintf(w, "%s %s  %s\n", verdict, d.ID, strings.Join(d.Reasons, ", "))
	}
	if r.DryRun {
		fmt.Fprintf(w, "dry run: would remove %d of %d backups\n", remove, len(r.Decisions))
		if len(r.Segments) > 0 {
			fmt.Fprintf(w, "dry run: would remove %d binlog segments the oldest kept snapshot already holds\n", len(r.Segments))
		}
		return nil
	}
	fmt.Fprintf(w, "removed %d of %d backups\n", len(r.Removed), len(r.Decisions))
	if len(r.Segments) > 0 {
		fmt.Fprintf(w, "removed %d binlog segments the oldest kept snapshot already holds\n", len(r.Segments))
	}
	return nil
}

// BackupKeygen renders a new identity's public half.
func BackupKeygen(w io.Writer, format string, kp backup.KeyPair) error {
	if format == "json" {
		return JSON(w, kp)
	}
	fmt.Fprintf(w, "wrote a new identity to %s (keep it safe: it decrypts every backup encrypted to it)\n", kp.IdentityFile)
	fmt.Fprintf(w, "public key:  %s\n", kp.Recipient)
	fmt.Fprintf(w, "fingerprint: %s\n", kp.Fingerprint)
	fmt.Fprintf(w, "use it with: plinth backup run --recipient %s ...\n", kp.Recipient)
	return nil
}

// BackupPITR renders a point-in-time restore.
func BackupPITR(w io.Writer, format string, r *backup.PITRReport) error {
	if format == "json" {
		return JSON(w, r)
	}
	if err := BackupRestore(w, format, r.Restore); err != nil {
		return err
	}
	fmt.Fprintf(w, "replayed %d binlog segment(s) from the snapshot's GTID %s up to %s\n", r.Segments, r.Snapshot, r.To)
	return nil
}
