package rules

import (
	"fmt"
	"slices"
)

const production = "production"

// inProduction wraps a check so it runs only on production stacks.
func inProduction(check func(s *Stack) []Finding) func(s *Stack) []Finding {
	return func(s *Stack) []Finding {
		if s.Environment() != production {
			return nil
		}
		return check(s)
	}
}

// notInDrill wraps a production check that does not apply to a DR drill stack: a drill rebuilds the tiers
// on the drill's own database (no replicas of its own) and is torn down when it ends (no deletion protection).
func notInDrill(check func(s *Stack) []Finding) func(s *Stack) []Finding {
	return func(s *Stack) []Finding {
		if s.Drill() != "" {
			return nil
		}
		return check(s)
	}
}

func isReplica(db *Resource) bool { return db.str("replicateSourceDb") != "" }

func resilienceRules() []Rule {
	return []Rule{
		{
			ID: "no-public-data", Level: Mandatory,
			Description: "Databases, search domains and caches are never publicly reachable: private, inside the VPC.",
			Fix:         "Set publiclyAccessible false; place search in vpcOptions subnets and caches in a subnet group.",
			Check: func(s *Stack) []Finding {
				var out []Finding
				for _, db := range s.ByType(rdsInstance) {
					if db.truthy("publiclyAccessible") {
						out = append(out, Finding{db, "publiclyAccessible is true"})
					}
				}
				for _, d := range s.ByType("aws:opensearch/domain:Domain") {
					if len(d.list("vpcOptions.subnetIds")) == 0 {
						out = append(out, Finding{d, "domain has a public endpoint (no vpcOptions)"})
					}
				}
				for _, c := range s.ByType("aws:elasticache/replicationGroup:ReplicationGroup") {
					if c.str("subnetGroupName") == "" {
						out = append(out, Finding{c, "cache outside the data subnets"})
					}
				}
				return out
			},
		},
		{
			ID: "asg-n-plus-one", Level: Mandatory,
			Description: "In production every tier's auto scaling group keeps at least 2 instances across at least 2 AZs (the bastion: exactly one, self-healing across AZs).",
			Fix:         "Raise minSize to 2 or more and list subnets in 2 or more AZs.",
			Check: inProduction(eachOf([]string{"aws:autoscaling/group:Group"}, func(r *Resource) string {
				min, _ := r.num("minSize")
				subnets := len(r.list("vpcZoneIdentifiers"))
				switch {
				case subnets < 2:
					return fmt.Sprintf("spans %d subnet(s): an AZ outage takes the tier down", subnets)
				case r.Tier() != "bastion" && min < 2:
					return fmt.Sprintf("minSize %v: one failure leaves the %q tier empty", min, r.Tier())
				}
				return ""
			})),
		},
		{
			ID: "db-multi-az", Level: Mandatory,
			Description: "In production the MySQL primary is Multi-AZ.",
			Fix:         "Set multiAz true on the primary.",
			Check: inProduction(func(s *Stack) []Finding {
				var out []Finding
				for _, db := range s.ByType(rdsInstance) {
					if !isReplica(db) && !db.truthy("multiAz") {
						out = append(out, Finding{db, "primary is single-AZ"})
					}
				}
				return out
			}),
		},
		{
			ID: "db-read-replica", Level: Mandatory,
			Description: "In production the primary region has at least one read replica.",
			Fix:         "Set database.readReplicas to 1 or more.",
			Check: notInDrill(inProduction(func(s *Stack) []Finding {
				primary := s.PrimaryRegion()
				for _, db := range s.ByType(rdsInstance) {
					if isReplica(db) && s.Region(db) == primary {
						return nil
					}
				}
				return []Finding{{firstPrimary(s), "no read replica in " + primary}}
			})),
		},
		{
			ID: "db-dr-replica", Level: Mandatory,
			Description: "In production a replica runs in another region (continuous replication to the DR site).",
			Fix:         "Enable database.drReplica with a drRegion.",
			Check: notInDrill(inProduction(func(s *Stack) []Finding {
				primary := s.PrimaryRegion()
				for _, db := range s.ByType(rdsInstance) {
					if isReplica(db) && s.Region(db) != "" && s.Region(db) != primary {
						return nil
					}
				}
				return []Finding{{firstPrimary(s), "no replica outside " + primary}}
			})),
		},
		{
			ID: "nat-per-az", Level: Mandatory,
			Description: "In production the serving VPC has a NAT gateway in every AZ it uses.",
			Fix:         "Set natStrategy perAz.",
			Check: inProduction(func(s *Stack) []Finding {
				primary := s.PrimaryRegion()
				var out []Finding
				for _, vpc := range s.ByType("aws:ec2/vpc:Vpc") {
					if s.Region(vpc) != primary {
						continue
					}
					azs, nats := map[string]bool{}, map[string]bool{}
					for _, sn := range s.ByType("aws:ec2/subnet:Subnet") {
						if sn.Ref("vpcId") == vpc.URN {
							azs[sn.str("availabilityZone")] = true
						}
					}
					for _, nat := range s.ByType("aws:ec2/natGateway:NatGateway") {
						if sn := s.Lookup(nat.Ref("subnetId")); sn != nil && sn.Ref("vpcId") == vpc.URN {
							nats[sn.str("availabilityZone")] = true
						}
					}
					if len(nats) < len(azs) {
						out = append(out, Finding{vpc, fmt.Sprintf("NAT gateways in %d of %d AZs: one AZ's outage cuts the others' egress", len(nats), len(azs))})
					}
				}
				return out
			}),
		},
		{
			ID: "deletion-protection", Level: Mandatory,
			Description: "In production the load balancer and the MySQL primary have deletion protection.",
			Fix:         "Set enableDeletionProtection / deletionProtection true.",
			Check: notInDrill(inProduction(func(s *Stack) []Finding {
				var out []Finding
				for _, lb := range s.ByType("aws:lb/loadBalancer:LoadBalancer") {
					if !lb.truthy("enableDeletionProtection") {
						out = append(out, Finding{lb, "load balancer can be deleted"})
					}
				}
				for _, db := range s.ByType(rdsInstance) {
					if !isReplica(db) && !db.truthy("deletionProtection") {
						out = append(out, Finding{db, "primary can be deleted"})
					}
				}
				return out
			})),
		},
	}
}

func firstPrimary(s *Stack) *Resource {
	for _, db := range s.ByType(rdsInstance) {
		if !isReplica(db) {
			return db
		}
	}
	return nil
}

// Roles that let a principal read or delete objects in a bucket.
var readOrDeleteRoles = []string{
	"roles/storage.objectViewer", "roles/storage.objectAdmin", "roles/storage.objectUser", "roles/storage.admin",
	"roles/storage.legacyBucketReader", "roles/storage.legacyBucketOwner", "roles/storage.legacyObjectReader",
	"roles/storage.legacyObjectOwner", "roles/owner", "roles/editor", "roles/viewer",
}

func vaultRules() []Rule {
	return []Rule{
		{
			ID: "vault-retention", Level: Mandatory,
			Description: "The backup vault keeps objects at least 7 days (retention policy).",
			Fix:         "Set retentionPolicy.retentionPeriod to 604800 seconds or more (backupVault.retentionDays >= 7).",
			Check: eachOf([]string{"gcp:storage/bucket:Bucket"}, func(r *Resource) string {
				if p, _ := r.num("retentionPolicy.retentionPeriod"); p < 7*86400 {
					return fmt.Sprintf("retention %v seconds: under 7 days", p)
				}
				return ""
			}),
		},
		{
			ID: "vault-public-access", Level: Mandatory,
			Description: "The backup vault enforces public access prevention and uniform bucket-level access.",
			Fix:         "Set publicAccessPrevention \"enforced\" and uniformBucketLevelAccess true.",
			Check: eachOf([]string{"gcp:storage/bucket:Bucket"}, func(r *Resource) string {
				if r.str("publicAccessPrevention") != "enforced" || !r.truthy("uniformBucketLevelAccess") {
					return "public access not prevented or ACLs still active"
				}
				return ""
			}),
		},
		{
			ID: "vault-writer-create-only", Level: Mandatory,
			Description: "The identity that writes backups can create objects but never read or delete them.",
			Fix:         "Grant the writer only roles/storage.objectCreator; give reads to the separate restore identity.",
			Check: func(s *Stack) []Finding {
				type grant struct {
					r    *Resource
					role string
				}
				byMember := map[string][]grant{} // bucket|member -> roles
				add := func(r *Resource, bucket, member, role string) {
					byMember[bucket+"|"+member] = append(byMember[bucket+"|"+member], grant{r, role})
				}
				for _, m := range s.ByType("gcp:storage/bucketIAMMember:BucketIAMMember") {
					add(m, m.str("bucket"), m.str("member"), m.str("role"))
				}
				for _, b := range s.ByType("gcp:storage/bucketIAMBinding:BucketIAMBinding") {
					for _, member := range b.list("members") {
						add(b, b.str("bucket"), fmt.Sprint(member), b.str("role"))
					}
				}
				var out []Finding
				for _, grants := range byMember {
					writer := slices.ContainsFunc(grants, func(g grant) bool { return g.role == "roles/storage.objectCreator" })
					if !writer {
						continue
					}
					for _, g := range grants {
						if slices.Contains(readOrDeleteRoles, g.role) {
							out = append(out, Finding{g.r, fmt.Sprintf("the backup writer also holds %s", g.role)})
						}
					}
				}
				return out
			},
		},
	}
}
