package environments

import (
	"fmt"
	"time"
)

// DR holds the disaster-recovery targets `plinth drill` measures a rehearsal against. The targets are Go
// durations ("24h", "15m", "90s").
type DR struct {
	// RTOTarget: the longest acceptable time from the disaster (T0) to the first successful write in the
	// DR region. The platform promises 24h.
	RTOTarget string `json:"rtoTarget"`
	// RPOTarget: the most data (as time before T0) the recovery may lose.
	RPOTarget string `json:"rpoTarget"`
	// CertificateARN is the DR region's ACM certificate for the drill load balancer (ACM certificates are
	// regional: the primary's cannot serve in the DR region). Empty: the drill reuses certificateArn, which
	// only the local cloud accepts.
	CertificateARN string `json:"certificateArn,omitempty"`
}

// Default DR targets.
const (
	DefaultRTOTarget = "24h"
	DefaultRPOTarget = "15m"
)

// maxDRTarget bounds both targets: a drill is yearly, a target beyond a year is a typo.
const maxDRTarget = 366 * 24 * time.Hour

// Targets returns the parsed targets (call after Validate; unparsable values give 0).
func (d DR) Targets() (rto, rpo time.Duration) {
	rto, _ = time.ParseDuration(d.RTOTarget)
	rpo, _ = time.ParseDuration(d.RPOTarget)
	return rto, rpo
}

func defaultDR() DR { return DR{RTOTarget: DefaultRTOTarget, RPOTarget: DefaultRPOTarget} }

func checkDR(errs *errorList, s Spec) {
	d := s.DR
	k := func(f string) string { return ConfigKey + ".dr." + f }
	if d.CertificateARN != "" {
		switch m := certARNRE.FindStringSubmatch(d.CertificateARN); {
		case m == nil:
			errs.add(k("certificateArn"), "want an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID), got %q", d.CertificateARN)
		case s.DRRegion == "":
			errs.add(k("certificateArn"), "set, but the stack has no drRegion to use it in")
		case m[1] != s.DRRegion:
			errs.add(k("certificateArn"), "certificate is in %s but the drill load balancer is in the DR region %s", m[1], s.DRRegion)
		case m[2] != s.AccountID && awsAccountRE.MatchString(s.AccountID):
			errs.add(k("certificateArn"), "certificate belongs to account %s but the stack deploys into account %s", m[2], s.AccountID)
		}
	}
	rto, rtoOK := checkDRTarget(errs, k("rtoTarget"), d.RTOTarget)
	rpo, rpoOK := checkDRTarget(errs, k("rpoTarget"), d.RPOTarget)
	if rtoOK && rpoOK && rpo > rto {
		errs.add(k("rpoTarget"), "%s is longer than dr.rtoTarget (%s): data loss cannot be allowed beyond the recovery time", rpo, rto)
	}
}

func checkDRTarget(errs *errorList, key, v string) (time.Duration, bool) {
	d, err := time.ParseDuration(v)
	switch {
	case v == "":
		errs.add(key, "missing: want a duration such as 24h or 15m")
	case err != nil:
		errs.add(key, "want a duration such as 24h or 15m, got %q", v)
	case d <= 0:
		errs.add(key, "want a positive duration, got %s", v)
	case d > maxDRTarget:
		errs.add(key, "want at most %s, got %s", fmt.Sprint(maxDRTarget), v)
	default:
		return d, true
	}
	return 0, false
}
