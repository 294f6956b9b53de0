package environments

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

var (
	awsRegionRE     = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	instanceRE      = regexp.MustCompile(`^[a-z]+[0-9][a-z0-9-]*\.(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)$`)
	domainRE        = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	certARNRE       = regexp.MustCompile(`^arn:aws:acm:([a-z0-9-]+):([0-9]{12}):certificate/[0-9a-f-]{8,}$`)
	ownerRE         = regexp.MustCompile(`^[A-Za-z0-9 _.:/=+@-]{1,128}$`)
	unixUserRE      = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	gcpProjectRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	awsAccountRE    = regexp.MustCompile(`^[0-9]{12}$`)
	gcpProjectNumRE = regexp.MustCompile(`^[1-9][0-9]{5,19}$`)
	emailRE         = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[a-z]{2,}$`)
	// scheduleRE: an OnCalendar expression of one line, none of the characters a unit file or shell gives
	// meaning to.
	scheduleRE     = regexp.MustCompile(`^[A-Za-z0-9*:/,. ~+-]{1,64}$`)
	ageRecipientRE = regexp.MustCompile(`^age1[02-9ac-hj-np-z]{58}$`)
	logRetentions  = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// Subnet plan limits (see components/network): the VPC is cut into /(prefix+5) slots, so it must be at
// least a /20 for /25 subnets; larger than /16 is not allowed by AWS.
const (
	minVPCPrefix = 16
	maxVPCPrefix = 20
	maxAZs       = 6
)

// Validate checks a spec and returns every problem, each naming its config key.
func Validate(s Spec) []error {
	var errs errorList
	k := func(path string) string { return ConfigKey + "." + path }
	prod := s.Environment == Production

	if !ownerRE.MatchString(s.Owner) {
		errs.add(k("owner"), "want a team or rotation name (1-128 letters, digits, space, _.:/=+@-), got %q", s.Owner)
	}
	if !awsAccountRE.MatchString(s.AccountID) {
		errs.add(k("accountId"), "want the 12-digit AWS account id the stack deploys into, got %q", s.AccountID)
	}
	if !awsRegionRE.MatchString(s.Region) {
		errs.add(k("region"), "want an AWS region such as eu-west-1, got %q", s.Region)
	}
	switch {
	case s.DRRegion == "" && prod:
		errs.add(k("drRegion"), "production needs a DR region for the cross-region replica and DR drills")
	case s.DRRegion != "" && !awsRegionRE.MatchString(s.DRRegion):
		errs.add(k("drRegion"), "want an AWS region such as eu-central-1, got %q", s.DRRegion)
	case s.DRRegion != "" && s.DRRegion == s.Region:
		errs.add(k("drRegion"), "must differ from region %s: a disaster takes out both", s.Region)
	}
	switch {
	case s.AZCount < 1 || s.AZCount > maxAZs:
		errs.add(k("azCount"), "want 1 to %d availability zones, got %d", maxAZs, s.AZCount)
	case prod && s.AZCount < 2:
		errs.add(k("azCount"), "production needs at least 2 availability zones (N+1 across zones), got %d", s.AZCount)
	}
	vpc, vpcOK := checkVPC(&errs, k("vpcCidr"), s.VPCCIDR, true)
	needDRVPC := s.DRRegion != "" && (prod || s.Database.DRReplica)
	if s.DRVPCCIDR != "" || needDRVPC {
		if dr, ok := checkVPC(&errs, k("drVpcCidr"), s.DRVPCCIDR, needDRVPC); ok && vpcOK && vpc.Overlaps(dr) {
			errs.add(k("drVpcCidr"), "%s overlaps vpcCidr %s: the regions must be routable to each other", dr, vpc)
		}
	}
	switch s.NATStrategy {
	case NATPerAZ:
	case NATSingle:
		if prod {
			errs.add(k("natStrategy"), "production needs %q: a single NAT gateway is a single point of failure", NATPerAZ)
		}
	default:
		errs.add(k("natStrategy"), "want %q or %q, got %q", NATPerAZ, NATSingle, s.NATStrategy)
	}
	checkAdminCIDRs(&errs, k("adminCidrs"), s.AdminCIDRs, vpc, vpcOK)
	if !domainRE.MatchString(s.Domain) {
		errs.add(k("domain"), "want a DNS name such as app.example.com, got %q", s.Domain)
	}
	if m := certARNRE.FindStringSubmatch(s.CertificateARN); m == nil {
		errs.add(k("certificateArn"), "want an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID), got %q", s.CertificateARN)
	} else {
		if m[1] != s.Region {
			errs.add(k("certificateArn"), "certificate is in %s but the load balancer is in %s", m[1], s.Region)
		}
		// An ALB can only use an ACM certificate of its own account (ACM does not share certificates across
		// accounts), so a foreign account's ARN would pass every check until the listener is created.
		if m[2] != s.AccountID && awsAccountRE.MatchString(s.AccountID) {
			errs.add(k("certificateArn"), "certificate belongs to account %s but the stack deploys into account %s: an ALB can only use its own account's certificates", m[2], s.AccountID)
		}
	}
	if prod && !s.DeletionProtection {
		errs.add(k("deletionProtection"), "production must keep deletion protection on")
	}
	if !slices.Contains(logRetentions, s.LogRetentionDays) {
		errs.add(k("logRetentionDays"), "want a CloudWatch retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...), got %d", s.LogRetentionDays)
	}
	for _, t := range []struct {
		name string
		tier Tier
	}{{"app", s.Tiers.App}, {"worker", s.Tiers.Worker}, {"sftp", s.Tiers.SFTP}} {
		checkTier(&errs, k("tiers."+t.name), t.tier, prod)
	}
	if !instanceRE.MatchString(s.Bastion.InstanceType) {
		errs.add(k("bastion.instanceType"), "not an EC2 instance type: %q", s.Bastion.InstanceType)
	}
	if !unixUserRE.MatchString(s.Bastion.SSHUser) || s.Bastion.SSHUser == "root" {
		errs.add(k("bastion.sshUser"), "want a non-root unix user name, got %q", s.Bastion.SSHUser)
	}
	checkDatabase(&errs, s, prod)
	checkSearch(&errs, s, prod)
	checkCache(&errs, s, prod)
	checkMonitoring(&errs, s)
	checkVault(&errs, s, prod)
	checkDR(&errs, s)
	return errs
}

func checkVPC(errs *errorList, key, cidr string, required bool) (netip.Prefix, bool) {
	if cidr == "" {
		if required {
			errs.add(key, "missing: an IPv4 CIDR between /%d and /%d is required", minVPCPrefix, maxVPCPrefix)
		}
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(cidr)
	switch {
	case err != nil:
		errs.add(key, "not a CIDR: %q", cidr)
		return p, false
	case !p.Addr().Is4():
		errs.add(key, "want an IPv4 CIDR, got %s", cidr)
		return p, false
	case p.Masked() != p:
		errs.add(key, "%s has host bits set; did you mean %s?", cidr, p.Masked())
		return p, false
	case p.Bits() < minVPCPrefix:
		errs.add(key, "%s is larger than AWS allows for a VPC (/%d at most)", cidr, minVPCPrefix)
		return p, false
	case p.Bits() > maxVPCPrefix:
		errs.add(key, "%s is too small: the subnet plan needs at least a /%d (%d AZs x public, private, data)", cidr, maxVPCPrefix, maxAZs)
		return p, false
	case !p.Addr().IsPrivate():
		errs.add(key, "%s is not a private (RFC 1918) range", cidr)
		return p, false
	}
	return p, true
}

func checkAdminCIDRs(errs *errorList, key string, cidrs []string, vpc netip.Prefix, vpcOK bool) {
	if len(cidrs) == 0 {
		errs.add(key, "at least one admin CIDR is needed to reach the bastion")
	}
	var seen []netip.Prefix
	for i, c := range cidrs {
		ik := fmt.Sprintf("%s[%d]", key, i)
		p, err := netip.ParsePrefix(c)
		if err != nil {
			errs.add(ik, "not a CIDR: %q", c)
			continue
		}
		switch {
		case p.Bits() == 0:
			errs.add(ik, "%s opens SSH to the whole internet: name the admins' networks", c)
			continue
		case p.Addr().Is4() && p.Bits() < 16, p.Addr().Is6() && p.Bits() < 32:
			errs.add(ik, "%s is too broad for admin access (at most a /16, or /32 for IPv6)", c)
			continue
		case p.Masked() != p:
			errs.add(ik, "%s has host bits set; did you mean %s?", c, p.Masked())
			continue
		case vpcOK && p.Overlaps(vpc):
			errs.add(ik, "%s overlaps the VPC %s: admins connect from outside", c, vpc)
			continue
		}
		for j, q := range seen {
			if q.IsValid() && q.Overlaps(p) {
				errs.add(ik, "%s overlaps %s[%d] %s", c, key, j, q)
			}
		}
		seen = append(seen, p)
	}
}

func checkTier(errs *errorList, key string, t Tier, prod bool) {
	if !instanceRE.MatchString(t.InstanceType) {
		errs.add(key+".instanceType", "not an EC2 instance type (family.size, e.g. m6i.large): %q", t.InstanceType)
	}
	if t.Min < 1 {
		errs.add(key+".min", "want at least 1 instance, got %d", t.Min)
	} else if prod && t.Min < 2 {
		errs.add(key+".min", "production tiers are N+1: want at least 2 instances, got %d", t.Min)
	}
	if t.Desired < t.Min || t.Desired > t.Max {
		errs.add(key+".desired", "want min <= desired <= max, got %d <= %d <= %d", t.Min, t.Desired, t.Max)
	}
	if t.Max < t.Min || t.Max > 100 {
		errs.add(key+".max", "want min <= max <= 100, got max %d with min %d", t.Max, t.Min)
	}
	if t.Port < 1024 || t.Port > 65535 {
		errs.add(key+".port", "want an unprivileged port (1024-65535), got %d", t.Port)
	}
	if t.RootVolumeGiB < 8 || t.RootVolumeGiB > 1024 {
		errs.add(key+".rootVolumeGiB", "want 8 to 1024 GiB, got %d", t.RootVolumeGiB)
	}
}

func checkDatabase(errs *errorList, s Spec, prod bool) {
	d := s.Database
	k := func(f string) string { return ConfigKey + ".database." + f }
	if !strings.HasPrefix(d.InstanceClass, "db.") || !instanceRE.MatchString(strings.TrimPrefix(d.InstanceClass, "db.")) {
		errs.add(k("instanceClass"), "not an RDS instance class (db.family.size, e.g. db.r6g.large): %q", d.InstanceClass)
	}
	if d.EngineVersion != "8.0" && !strings.HasPrefix(d.EngineVersion, "8.0.") {
		errs.add(k("engineVersion"), "want MySQL 8.0 (8.0 or 8.0.x), got %q", d.EngineVersion)
	}
	if d.AllocatedStorageGiB < 20 || d.AllocatedStorageGiB > 65536 {
		errs.add(k("allocatedStorageGiB"), "want 20 to 65536 GiB, got %d", d.AllocatedStorageGiB)
	}
	if d.MaxStorageGiB < d.AllocatedStorageGiB {
		errs.add(k("maxStorageGiB"), "want at least allocatedStorageGiB (%d), got %d", d.AllocatedStorageGiB, d.MaxStorageGiB)
	}
	if d.ReadReplicas < 0 || d.ReadReplicas > 5 {
		errs.add(k("readReplicas"), "want 0 to 5 read replicas, got %d", d.ReadReplicas)
	} else if prod && d.ReadReplicas < 1 {
		errs.add(k("readReplicas"), "production needs at least 1 read replica")
	}
	if prod && !d.MultiAZ {
		errs.add(k("multiAz"), "production needs a Multi-AZ primary")
	}
	if prod && !d.DRReplica {
		errs.add(k("drReplica"), "production needs a replica in the DR region")
	}
	if d.DRReplica && s.DRRegion == "" {
		errs.add(k("drReplica"), "a DR replica needs drRegion to be set")
	}
	if d.BackupRetentionDays < 7 || d.BackupRetentionDays > 35 {
		errs.add(k("backupRetentionDays"), "want 7 to 35 days (RDS maximum), got %d", d.BackupRetentionDays)
	}
}

func checkSearch(errs *errorList, s Spec, prod bool) {
	x := s.Search
	k := func(f string) string { return ConfigKey + ".search." + f }
	if !strings.HasPrefix(x.EngineVersion, "OpenSearch_") {
		errs.add(k("engineVersion"), "want an OpenSearch version such as OpenSearch_2.13, got %q", x.EngineVersion)
	}
	if !isSearchType(x.InstanceType) {
		errs.add(k("instanceType"), "not an OpenSearch instance type (family.size.search): %q", x.InstanceType)
	}
	switch {
	case x.InstanceCount < 1 || x.InstanceCount > 80:
		errs.add(k("instanceCount"), "want 1 to 80 data nodes, got %d", x.InstanceCount)
	case prod && x.InstanceCount < 2:
		errs.add(k("instanceCount"), "production needs data nodes in at least 2 zones, got %d", x.InstanceCount)
	}
	if prod && !x.DedicatedMasters {
		errs.add(k("dedicatedMasters"), "production needs dedicated master nodes")
	}
	if x.DedicatedMasters && !isSearchType(x.MasterInstanceType) {
		errs.add(k("masterInstanceType"), "not an OpenSearch instance type (family.size.search): %q", x.MasterInstanceType)
	}
	if x.VolumeGiB < 10 || x.VolumeGiB > 16384 {
		errs.add(k("volumeGiB"), "want 10 to 16384 GiB, got %d", x.VolumeGiB)
	}
	if x.AutomatedSnapshotUTC < 0 || x.AutomatedSnapshotUTC > 23 {
		errs.add(k("automatedSnapshotHourUtc"), "want an hour 0-23, got %d", x.AutomatedSnapshotUTC)
	}
}

func isSearchType(t string) bool {
	base, ok := strings.CutSuffix(t, ".search")
	return ok && instanceRE.MatchString(base)
}

func checkCache(errs *errorList, s Spec, prod bool) {
	c := s.Cache
	k := func(f string) string { return ConfigKey + ".cache." + f }
	if !strings.HasPrefix(c.NodeType, "cache.") || !instanceRE.MatchString(strings.TrimPrefix(c.NodeType, "cache.")) {
		errs.add(k("nodeType"), "not an ElastiCache node type (cache.family.size): %q", c.NodeType)
	}
	if c.EngineVersion == "" {
		errs.add(k("engineVersion"), "missing: a Redis OSS engine version such as 7.1")
	}
	switch {
	case c.Nodes < 1 || c.Nodes > 6:
		errs.add(k("nodes"), "want 1 to 6 cache nodes, got %d", c.Nodes)
	case prod && c.Nodes < 2:
		errs.add(k("nodes"), "production needs a replica for automatic failover: want at least 2 nodes, got %d", c.Nodes)
	}
}

func checkMonitoring(errs *errorList, s Spec) {
	m := s.Monitoring
	k := func(f string) string { return ConfigKey + ".monitoring." + f }
	if m.AlarmEmail != "" && !emailRE.MatchString(m.AlarmEmail) {
		errs.add(k("alarmEmail"), "not an email address: %q", m.AlarmEmail)
	}
	if m.CPUAlarmPercent < 1 || m.CPUAlarmPercent > 100 {
		errs.add(k("cpuAlarmPercent"), "want 1 to 100, got %d", m.CPUAlarmPercent)
	}
	if m.ReplicaLagSeconds < 1 {
		errs.add(k("replicaLagSeconds"), "want at least 1 second, got %d", m.ReplicaLagSeconds)
	}
	if m.ALB5xxPerFiveMins < 1 {
		errs.add(k("alb5xxPerFiveMinutes"), "want at least 1, got %d", m.ALB5xxPerFiveMins)
	}
}

func checkVault(errs *errorList, s Spec, prod bool) {
	v := s.BackupVault
	k := func(f string) string { return ConfigKey + ".backupVault." + f }
	if !gcpProjectRE.MatchString(v.Project) {
		errs.add(k("project"), "want a GCP project id (6-30 lowercase letters, digits, hyphens), got %q", v.Project)
	}
	if !gcpProjectNumRE.MatchString(v.ProjectNumber) {
		errs.add(k("projectNumber"), "want the GCP project number (digits), got %q", v.ProjectNumber)
	}
	loc, known := vaultLocations[strings.ToUpper(v.Location)]
	switch {
	case !known:
		errs.add(k("location"), "want a GCS multi-region or dual-region (%s), got %q", strings.Join(knownVaultLocations(), ", "), v.Location)
	default:
		if metro, shared := sharedMetro(s.Region, loc.regions); shared {
			errs.add(k("location"), "%s keeps data in %s, the same metro as the primary region %s: the vault must survive the primary's loss", v.Location, metro, s.Region)
		}
		if v.KMSLocation != loc.kms {
			errs.add(k("kmsLocation"), "the CMEK key of a %s bucket must live in %q, got %q", v.Location, loc.kms, v.KMSLocation)
		}
	}
	if v.RetentionDays < 7 || v.RetentionDays > 3650 {
		errs.add(k("retentionDays"), "want 7 to 3650 days, got %d", v.RetentionDays)
	}
	if v.ColdAfterDays < 1 || v.ColdAfterDays > v.RetentionDays {
		errs.add(k("coldAfterDays"), "want 1 to retentionDays (%d), got %d", v.RetentionDays, v.ColdAfterDays)
	}
	if prod && !v.LockRetention {
		errs.add(k("lockRetention"), "production locks the vault's retention policy")
	}
	if !scheduleRE.MatchString(v.Schedule) {
		errs.add(k("schedule"), "want a systemd OnCalendar expression such as daily or \"*-*-* 03:15:00 UTC\", got %q", v.Schedule)
	}
	for i, r := range v.Recipients {
		if !ageRecipientRE.MatchString(r) {
			errs.add(k(fmt.Sprintf("recipients[%d]", i)), "want an age X25519 public key (age1 and 58 characters), got %q", r)
		}
	}
}
