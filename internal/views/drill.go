package views

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/plinth-dev/plinth/internal/drill"
)

// DrillPlan renders `plinth drill --dry-run`.
func DrillPlan(w io.Writer, format string, p drill.Plan) error {
	if format == "json" {
		return JSON(w, p)
	}
	fmt.Fprintf(w, "drill %s of %s: %s -> %s, source %s", p.ID, p.Stack, p.Region, p.DRRegion, p.Source)
	if p.BackupID != "" {
		fmt.Fprintf(w, " (backup %s)", p.BackupID)
	}
	fmt.Fprintf(w, "\ntargets: RTO %s, RPO %s; every resource tagged %s\n", p.RTO, p.RPO, p.Tag)
	for i, s := range p.Steps {
		fmt.Fprintf(w, "%d. %-9s %s\n", i+1, s.Name, s.Does)
		if s.Skip != "" {
			fmt.Fprintf(w, "   %-9s skipped: %s\n", "", s.Skip)
		}
	}
	fmt.Fprintln(w, "(dry run: nothing was created)")
	return nil
}

func optSeconds(s *float64) string {
	if s == nil {
		return "not measured"
	}
	return (time.Duration(*s * float64(time.Second))).Round(time.Millisecond).String()
}

// DrillReport renders a drill's report; -o json is that one object.
func DrillReport(w io.Writer, format string, r *drill.Report) error {
	if format == "json" {
		return JSON(w, r)
	}
	fmt.Fprintf(w, "drill %s of %s (source %s", r.ID, r.Stack, r.Source)
	if r.BackupID != "" {
		fmt.Fprintf(w, ", backup %s", r.BackupID)
	}
	fmt.Fprintf(w, "): %s\n", strings.ToUpper(r.Verdict))
	fmt.Fprintf(w, "RTO %s (target %s)\nRPO %s (target %s)\n", optSeconds(r.RTOSeconds), r.RTOTarget, optSeconds(r.RPOSeconds), r.RPOTarget)
	if r.RPO != nil {
		fmt.Fprintf(w, "    %d heartbeats lost; GTID primary %s, recovered %s: %d transactions behind", r.RPO.LostBeats, r.RPO.PrimaryGTID, r.RPO.RecoveredGTID, r.RPO.GTIDBehind)
		if !r.RPO.Consistent {
			fmt.Fprint(w, " (INCONSISTENT with the heartbeats)")
		}
		fmt.Fprintln(w)
	}
	if m := r.Tables; m != nil {
		if m.Skipped != "" {
			fmt.Fprintf(w, "tables: not compared with %s: %s\n", m.Against, m.Skipped)
		} else {
			fmt.Fprintf(w, "tables: %d (%d rows) match %s at %s (rows and hashes)\n", m.Tables, m.Rows, m.Against, m.GTID)
		}
	}
	if v := r.Verify; v != nil {
		fmt.Fprintf(w, "verify: %s wrote (database %s, read from the %s) at attempt %d\n", v.URL, v.Health.Database, v.Health.DatabaseRead, v.Attempts)
		if d := v.DatabaseWrite; d != nil {
			fmt.Fprintf(w, "    on the drill database %s: %s at %s (at its promotion: %q)\n", d.Where, d.Table, d.At, d.Before)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSECONDS\tSTATUS\t")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\n", s.Name, s.Seconds, s.Status, s.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case r.Kept:
		fmt.Fprintln(w, "kept:", r.TeardownHint)
	default:
		fmt.Fprintf(w, "left behind: %d\n", r.LeftBehind)
	}
	for _, l := range r.LeftBehindList {
		fmt.Fprintln(w, "  ", l)
	}
	return nil
}

// DrillHistory renders `plinth drill history`.
func DrillHistory(w io.Writer, format string, rs []drill.Report) error {
	if format == "json" {
		return JSON(w, rs)
	}
	if len(rs) == 0 {
		fmt.Fprintln(w, "no drill recorded")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DRILL\tSOURCE\tRTO\tRPO\tVERDICT\tLEFT BEHIND")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", r.ID, r.Source, optSeconds(r.RTOSeconds), optSeconds(r.RPOSeconds), r.Verdict, r.LeftBehind)
	}
	return tw.Flush()
}

// DrillTeardown renders `plinth drill teardown`.
func DrillTeardown(w io.Writer, format string, r drill.TeardownResult) error {
	if format == "json" {
		return JSON(w, r)
	}
	fmt.Fprintf(w, "drill %s: %d left behind\n", r.ID, len(r.Left))
	for _, l := range r.Left {
		fmt.Fprintln(w, "  ", l)
	}
	for _, n := range r.NotChecked {
		fmt.Fprintln(w, "not checked:", n)
	}
	return nil
}
