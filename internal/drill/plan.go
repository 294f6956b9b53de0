// Package drill is the DR drill: a pure plan of named steps (this file), one executor that runs them in
// order, times each and always tears down, the measured RPO (a heartbeat cross-checked with GTIDs), the
// backup-source data step, and the drill history kept in the vault.
package drill

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/environments"
)

// Data sources of the drill database.
const (
	SourceReplica = "replica"
	SourceBackup  = "backup"
)

// Step names, in the order the plan runs them.
const (
	StepPreflight = "preflight"
	StepT0        = "t0"
	StepData      = "data"
	StepPlatform  = "platform"
	StepDeploy    = "deploy"
	StepVerify    = "verify"
	StepReport    = "report"
	StepTeardown  = "teardown"
)

// TagKey tags every resource a drill creates; its value is the drill id.
const TagKey = "plinth:drill"

var idRE = regexp.MustCompile(`^drill-[0-9]{8}T[0-9]{6}Z$`)

// NewID names a drill started at t: drill-20261202T174500Z.
func NewID(t time.Time) string { return "drill-" + t.UTC().Format("20060102T150405Z") }

// ValidID reports whether id is a drill id.
func ValidID(id string) bool { return idRE.MatchString(id) }

// Options are what a drill is planned from: the stack's spec and the command's flags.
type Options struct {
	ID     string
	Spec   environments.Spec
	Source string // replica (default) or backup
	// BackupID is the backup to restore (source backup); empty: the newest verified.
	BackupID string
	Keep     bool
}

// Step is one named step of the plan.
type Step struct {
	Name string `json:"name"`
	// Does says what the step does, for --dry-run.
	Does string `json:"does"`
	// Skip is set on a step the plan will not run, saying why.
	Skip string `json:"skip,omitempty"`
}

// Plan is the drill, decided before anything runs.
type Plan struct {
	ID        string        `json:"id"`
	Stack     string        `json:"stack"`
	Region    string        `json:"region"`
	DRRegion  string        `json:"drRegion"`
	Source    string        `json:"source"`
	BackupID  string        `json:"backupId,omitempty"`
	Keep      bool          `json:"keep"`
	Tag       string        `json:"tag"`
	RTOTarget time.Duration `json:"-"`
	RPOTarget time.Duration `json:"-"`
	RTO       string        `json:"rtoTarget"`
	RPO       string        `json:"rpoTarget"`
	Steps     []Step        `json:"steps"`
}

// NewPlan builds the plan, or every reason it cannot (each naming the flag or key).
func NewPlan(o Options) (Plan, error) {
	var errs []string
	if !ValidID(o.ID) {
		errs = append(errs, fmt.Sprintf("drill id %q: want drill-YYYYMMDDTHHMMSSZ", o.ID))
	}
	src := o.Source
	if src == "" {
		src = SourceReplica
	}
	switch src {
	case SourceReplica:
		if o.BackupID != "" {
			errs = append(errs, "--backup: only with --source backup")
		}
		if !o.Spec.Database.DRReplica {
			errs = append(errs, fmt.Sprintf("--source replica: stack %s has no DR replica (plinth:spec.database.drReplica): use --source backup", o.Spec.Stack))
		}
	case SourceBackup:
	default:
		errs = append(errs, fmt.Sprintf("--source: want replica or backup, got %q", o.Source))
	}
	if o.Spec.DRRegion == "" {
		errs = append(errs, fmt.Sprintf("stack %s has no DR region (plinth:spec.drRegion): nothing to drill", o.Spec.Stack))
	}
	rto, rpo := o.Spec.DR.Targets()
	if rto <= 0 || rpo <= 0 {
		errs = append(errs, fmt.Sprintf("stack %s: plinth:spec.dr targets invalid (rtoTarget %q, rpoTarget %q)", o.Spec.Stack, o.Spec.DR.RTOTarget, o.Spec.DR.RPOTarget))
	}
	if len(errs) > 0 {
		return Plan{}, fmt.Errorf("drill plan: %s", strings.Join(errs, "; "))
	}
	p := Plan{ID: o.ID, Stack: o.Spec.Stack, Region: o.Spec.Region, DRRegion: o.Spec.DRRegion, Source: src,
		BackupID: o.BackupID, Keep: o.Keep, Tag: TagKey + "=" + o.ID, RTOTarget: rto, RPOTarget: rpo,
		RTO: o.Spec.DR.RTOTarget, RPO: o.Spec.DR.RPOTarget}
	p.Steps = steps(p)
	return p, nil
}

func steps(p Plan) []Step {
	data := fmt.Sprintf("create a drill database in %s from production's DR replica (a replica of the replica, then promoted; the DR replica itself is never touched), tagged %s", p.DRRegion, p.Tag)
	if p.Source == SourceBackup {
		b := "the newest verified backup"
		if p.BackupID != "" {
			b = "backup " + p.BackupID
		}
		data = fmt.Sprintf("restore %s from the vault into a new database in %s with the restore identity; every table's rows and hash checked against the backup's manifest", b, p.DRRegion)
	}
	teardown := Step{Name: StepTeardown, Does: fmt.Sprintf("destroy the drill stack and database, then list by tag %s: leftBehind counts what remains", p.Tag)}
	if p.Keep {
		teardown.Skip = fmt.Sprintf("--keep: the drill stays up for inspection; tear it down with `plinth drill teardown %s --stack %s`", p.ID, p.Stack)
	}
	return []Step{
		{Name: StepPreflight, Does: "production healthy; DR replica lag; newest verified backup and its age; the release production runs and where the DR region fetches it"},
		{Name: StepT0, Does: "heartbeat rows written to the primary every second; T0 is the last heartbeat, with the primary's GTID position (MariaDB @@gtid_binlog_pos, MySQL @@gtid_executed)"},
		{Name: StepData, Does: data},
		{Name: StepPlatform, Does: fmt.Sprintf("build production's tiers, load balancer and bastion in %s from the same spec on the drill database (the plinth up engine path), every resource tagged %s", p.DRRegion, p.Tag)},
		{Name: StepDeploy, Does: "roll out the release production runs to the drill stack with the deploy engine"},
		{Name: StepVerify, Does: "HTTPS health and the first successful write through the drill load balancer (RTO ends there)"},
		{Name: StepReport, Does: fmt.Sprintf("RTO (T0 to the first write) against %s, measured RPO (last heartbeat recovered, GTID cross-check) against %s, a verdict; appended to the drill history in the vault", p.RTO, p.RPO)},
		teardown,
	}
}
