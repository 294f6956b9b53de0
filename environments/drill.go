package environments

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// DrillConfigKey is the stack-config key that makes a stack a DR drill stack: production's tiers, load
// balancer and bastion rebuilt in its DR region, inside production's DR network, on the drill database.
// `plinth drill` sets it (with production's own `plinth:spec`) on the drill stack it creates; no shipped
// stack file sets it.
const DrillConfigKey = Project + ":drill"

// DrillTag is the tag key every resource of a drill stack carries, with the drill id as its value: teardown
// lists by it to prove nothing is left.
const DrillTag = "plinth:drill"

// Drill is the `plinth:drill` config of a drill stack: which drill, the database the data step made, and
// the DR network production built for it (read from production's inventory output, `drNetwork`).
type Drill struct {
	ID string `json:"id"`
	// DatabaseEndpoint is the drill database's host:port (promoted from the DR replica or restored from the
	// vault): the application's writer endpoint in the drill.
	DatabaseEndpoint string `json:"databaseEndpoint"`
	// Network is production's DR network: the drill builds into its subnets with its security groups, so the
	// firewall matrix holds in the drill exactly as in production.
	Network DrillNetwork `json:"network"`
}

// DrillNetwork names production's DR VPC, its public and private subnets and its security group per tier.
type DrillNetwork struct {
	VpcID            string            `json:"vpcId"`
	PublicSubnetIDs  []string          `json:"publicSubnetIds"`
	PrivateSubnetIDs []string          `json:"privateSubnetIds"`
	SecurityGroups   map[string]string `json:"securityGroups"`
}

// DrillGroups are the security groups a drill stack needs from production's DR firewall.
var DrillGroups = []string{"lb", "app", "worker", "sftp", "bastion"}

var (
	drillIDRE   = regexp.MustCompile(`^drill-[0-9]{8}T[0-9]{6}Z$`)
	endpointRE  = regexp.MustCompile(`^[A-Za-z0-9.-]+:[0-9]{1,5}$`)
	awsIDLikeRE = regexp.MustCompile(`^[A-Za-z0-9._:/-]+$`)
)

// DrillStackName is the stack a drill of source builds: `<source>-drill-<timestamp>`.
func DrillStackName(source, id string) string {
	return source + "-" + id
}

// ParseDrill decodes and checks the `plinth:drill` config value, reporting every problem at once.
func ParseDrill(raw string) (Drill, error) {
	var d Drill
	var errs errorList
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		errs.add(DrillConfigKey, "not a drill config: %v", err)
		return d, finish(errs)
	}
	k := func(f string) string { return DrillConfigKey + "." + f }
	if !drillIDRE.MatchString(d.ID) {
		errs.add(k("id"), "want a drill id such as drill-20261203T030000Z, got %q", d.ID)
	}
	if !endpointRE.MatchString(d.DatabaseEndpoint) {
		errs.add(k("databaseEndpoint"), "want the drill database's host:port, got %q", d.DatabaseEndpoint)
	}
	n := d.Network
	if !awsIDLikeRE.MatchString(n.VpcID) {
		errs.add(k("network.vpcId"), "want production's DR VPC id, got %q", n.VpcID)
	}
	checkIDs := func(key string, ids []string) {
		if len(ids) == 0 {
			errs.add(k(key), "empty: production exports its DR network's subnets (is the DR replica on?)")
		}
		for i, id := range ids {
			if !awsIDLikeRE.MatchString(id) {
				errs.add(fmt.Sprintf("%s[%d]", k(key), i), "want a subnet id, got %q", id)
			}
		}
	}
	checkIDs("network.publicSubnetIds", n.PublicSubnetIDs)
	checkIDs("network.privateSubnetIds", n.PrivateSubnetIDs)
	for _, g := range DrillGroups {
		if id := n.SecurityGroups[g]; !awsIDLikeRE.MatchString(id) {
			errs.add(k("network.securityGroups."+g), "want production's DR security group for %s, got %q", g, id)
		}
	}
	return d, finish(errs)
}

// ForDrill is the spec of drill d of s (production): the same tiers, bastion and load balancer in the DR
// region, named after the drill stack, without deletion protection (a drill is torn down), without a DR
// replica of its own, and with the DR region's certificate (dr.certificateArn) when s names one.
func (s Spec) ForDrill(d Drill) (Spec, error) {
	if s.DRRegion == "" {
		return s, fmt.Errorf("stack %s has no DR region (%s.drRegion): nothing to drill", s.Stack, ConfigKey)
	}
	out := s
	out.Stack = DrillStackName(s.Stack, d.ID)
	out.Region = s.DRRegion
	out.DRRegion = ""
	out.VPCCIDR = s.DRVPCCIDR
	out.DRVPCCIDR = ""
	out.DeletionProtection = false
	if s.DR.CertificateARN != "" {
		out.CertificateARN = s.DR.CertificateARN
	}
	out.AdminCIDRs = slices.Clone(s.AdminCIDRs)
	out.Database.DRReplica = false
	out.Database.ReadReplicas = 0
	return out, nil
}

// DrillStackConfig is the config of drill d's stack: production's own config values (its `plinth:spec`,
// so the drill rebuilds the same platform) plus `plinth:drill`.
func DrillStackConfig(production map[string]string, d Drill) (map[string]string, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	if _, err := ParseDrill(string(raw)); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(production)+1)
	for k, v := range production {
		out[k] = v
	}
	out[DrillConfigKey] = string(raw)
	return out, nil
}
