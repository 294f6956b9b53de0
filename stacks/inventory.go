package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/firewall"
	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/stacks/contract"
)

type namedTier struct {
	name string
	spec environments.Tier
}

// computeTiers are the auto-scaled tiers of a spec, in a stable order.
func computeTiers(s environments.Spec) []namedTier {
	return []namedTier{{firewall.App, s.Tiers.App}, {firewall.Worker, s.Tiers.Worker}, {firewall.SFTP, s.Tiers.SFTP}}
}

// InventoryOutput is the name of the stack output that deploy, backup and DR commands read: a
// contract.Inventory, the one type they decode it into.
const InventoryOutput = contract.Output

// Exports are the stack outputs: the inventory object plus a few top-level conveniences.
func (p *Platform) Exports() pulumi.Map {
	s := p.Spec
	tiers := pulumi.Map{}
	for _, nt := range computeTiers(s) {
		t, ok := p.Tiers[nt.name]
		if !ok {
			continue
		}
		entry := pulumi.Map{
			"asgName": t.ASGName,
			"min":     pulumi.Int(nt.spec.Min),
			"desired": pulumi.Int(nt.spec.Desired),
			"port":    pulumi.Int(nt.spec.Port),
		}
		if nt.name == firewall.App {
			entry["targetGroupArn"] = p.LoadBalancer.AppTargetGroupARN
		}
		tiers[nt.name] = entry
	}
	inventory := pulumi.Map{
		"stack":       pulumi.String(s.Stack),
		"environment": pulumi.String(s.Environment),
		"region":      pulumi.String(s.Region),
		"drRegion":    pulumi.String(s.DRRegion),
		"vpcId":       p.vpcID(),
		"bastion": pulumi.Map{
			"asgName": p.Bastion.ASGName,
			"address": p.Bastion.Address,
			"sshUser": pulumi.String(s.Bastion.SSHUser),
		},
		"loadBalancer": pulumi.Map{
			"arn":               p.LoadBalancer.ARN,
			"dnsName":           p.LoadBalancer.DNSName,
			"appTargetGroupArn": p.LoadBalancer.AppTargetGroupARN,
		},
		"tiers": tiers,
	}
	if p.drill != nil {
		inventory["database"] = pulumi.Map{"writerEndpoint": pulumi.String(p.drill.DatabaseEndpoint)}
	}
	if p.Database != nil {
		inventory["database"] = pulumi.Map{
			"writerEndpoint":  p.Database.WriterEndpoint,
			"readerEndpoints": p.Database.ReaderEndpoints,
			"drReplicaId":     p.Database.DRReplicaID,
			"masterSecretArn": p.Database.MasterSecretARN,
			"restoreRoleName": p.Database.RestoreRoleName,
		}
	}
	if p.Search != nil {
		inventory["search"] = pulumi.Map{"endpoint": p.Search.Endpoint}
	}
	if p.Utility != nil {
		inventory["cache"] = pulumi.Map{
			"primaryEndpoint":    p.Utility.CachePrimaryEndpoint,
			"readerEndpoint":     p.Utility.CacheReaderEndpoint,
			"authTokenSecretArn": p.Utility.AuthTokenSecretARN,
		}
		inventory["alarmTopicArn"] = p.Utility.AlarmTopicARN
	}
	if p.Vault != nil {
		inventory["backupVault"] = pulumi.Map{
			"bucket":                   p.Vault.Bucket,
			"url":                      pulumi.Sprintf("gs://%s", p.Vault.Bucket),
			"kmsKey":                   p.Vault.KMSKey,
			"writerServiceAccount":     p.Vault.WriterServiceAccount,
			"restoreServiceAccount":    p.Vault.RestoreServiceAccount,
			"workloadIdentityProvider": p.Vault.WorkloadIdentityProvider,
		}
	}
	if p.DRNetwork != nil && p.DRFirewall != nil {
		groups := pulumi.StringMap{}
		for _, g := range environments.DrillGroups {
			groups[g] = p.DRFirewall.GroupIDs[g].ToStringOutput()
		}
		inventory["drNetwork"] = pulumi.Map{
			"vpcId":            p.DRNetwork.VpcID,
			"publicSubnetIds":  p.DRNetwork.PublicSubnetIDs,
			"privateSubnetIds": p.DRNetwork.PrivateSubnetIDs,
			"securityGroups":   groups,
		}
	}
	return pulumi.Map{
		InventoryOutput:  inventory,
		"url":            pulumi.String("https://" + s.Domain),
		"bastionAddress": p.Bastion.Address,
	}
}

func (p *Platform) vpcID() pulumi.StringInput {
	if p.drill != nil {
		return pulumi.String(p.drill.Network.VpcID)
	}
	return p.Network.VpcID.ToStringOutput()
}
