// Package stacks is the Pulumi program: it reads the environment spec from stack config and wires it into
// the components, exporting the typed inventory that deploys, backups and DR drills read back. Wiring only:
// every resource lives in a component. The same function runs under the `pulumi` CLI (cmd/program,
// Pulumi.yaml), under plinth's Automation API driver, and offline under the mock engine.
package stacks

import (
	"fmt"

	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/plinth-dev/plinth/components/backupvault"
	"github.com/plinth-dev/plinth/components/bastion"
	"github.com/plinth-dev/plinth/components/database"
	"github.com/plinth-dev/plinth/components/firewall"
	"github.com/plinth-dev/plinth/components/loadbalancer"
	"github.com/plinth-dev/plinth/components/network"
	"github.com/plinth-dev/plinth/components/releaseescrow"
	"github.com/plinth-dev/plinth/components/search"
	"github.com/plinth-dev/plinth/components/tier"
	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/components/utility"
	"github.com/plinth-dev/plinth/environments"
)

// Program is the Pulumi program.
func Program(ctx *pulumi.Context) error {
	_, err := Run(ctx)
	return err
}

// Run is Program returning what it exported (the mock engine does not surface stack outputs).
func Run(ctx *pulumi.Context) (pulumi.Map, error) {
	spec, err := SpecFromConfig(ctx)
	if err != nil {
		return nil, err
	}
	d, isDrill, err := drillFromConfig(ctx)
	if err != nil {
		return nil, err
	}
	if isDrill {
		source, named := strings.CutSuffix(ctx.Stack(), "-"+d.ID)
		if !named || source == "" {
			return nil, fmt.Errorf("stack %s: %s is for drill %s but the stack is not named <source>-%s", ctx.Stack(), environments.DrillConfigKey, d.ID, d.ID)
		}
		spec.Stack = source
		p, err := BuildDrill(ctx, spec, d)
		if err != nil {
			return nil, err
		}
		return export(ctx, p), nil
	}
	return RunSpec(ctx, spec)
}

// RunSpec builds an already loaded spec and exports its outputs. Tests use it to build variants (the policy
// corpus builds specs that validation would refuse).
func RunSpec(ctx *pulumi.Context, spec environments.Spec) (pulumi.Map, error) {
	p, err := Build(ctx, spec)
	if err != nil {
		return nil, err
	}
	return export(ctx, p), nil
}

func export(ctx *pulumi.Context, p *Platform) pulumi.Map {
	exports := p.Exports()
	for k, v := range exports {
		ctx.Export(k, v)
	}
	return exports
}

// SpecFromConfig loads and validates the `plinth:spec` stack config.
func SpecFromConfig(ctx *pulumi.Context) (environments.Spec, error) {
	cfg := map[string]string{}
	if raw, ok := ctx.GetConfig(environments.ConfigKey); ok {
		cfg[environments.ConfigKey] = raw
	}
	spec, err := environments.Load(ctx.Stack(), cfg)
	if err != nil {
		return spec, fmt.Errorf("stack %s: %w", ctx.Stack(), err)
	}
	return spec, nil
}

// Platform is everything one stack built.
type Platform struct {
	Spec         environments.Spec
	Network      *network.Network
	Firewall     *firewall.Firewall
	LoadBalancer *loadbalancer.LoadBalancer
	Tiers        map[string]*tier.Tier
	Bastion      *bastion.Bastion
	// DRNetwork and DRFirewall exist when the spec asks for a DR replica: its subnet group and security group
	// live there, and DR drills rebuild the platform into them.
	DRNetwork  *network.Network
	DRFirewall *firewall.Firewall
	Database   *database.Database
	Search     *search.Search
	Utility    *utility.Utility
	Vault      *backupvault.BackupVault
	// Escrow holds the released artifacts: pull staging's store, the DR drill's source of the release.
	Escrow *releaseescrow.ReleaseEscrow
	// drill is set on a drill stack (BuildDrill): its VPC is production's DR VPC and its database the drill's.
	drill *environments.Drill
}

// BaseTags go on every resource: who owns it and which environment it belongs to.
func BaseTags(spec environments.Spec) pulumi.StringMap {
	return pulumi.StringMap{
		"environment": pulumi.String(spec.Environment),
		"owner":       pulumi.String(spec.Owner),
		"stack":       pulumi.String(spec.Stack),
		"managed-by":  pulumi.String("plinth"),
	}
}

// Build wires spec into components.
func Build(ctx *pulumi.Context, spec environments.Spec) (*Platform, error) {
	p := &Platform{Spec: spec, Tiers: map[string]*tier.Tier{}}
	name := func(s string) string { return spec.Stack + "-" + s }
	tags := BaseTags(spec)
	account := pulumi.String(spec.AccountID)

	primary, err := aws.NewProvider(ctx, name("aws-"+spec.Region), &aws.ProviderArgs{
		Region:            pulumi.String(spec.Region),
		AllowedAccountIds: pulumi.StringArray{account},
		DefaultTags:       &aws.ProviderDefaultTagsArgs{Tags: tags},
	})
	if err != nil {
		return nil, err
	}
	inPrimary := pulumi.Provider(primary)

	p.Network, err = network.New(ctx, name("network"), &network.Args{
		Region: spec.Region, CIDR: spec.VPCCIDR, AZCount: spec.AZCount,
		PerAZNAT: spec.NATStrategy == environments.NATPerAZ, LogRetentionDays: spec.LogRetentionDays,
		AccountID: account, Tags: tags,
	}, inPrimary)
	if err != nil {
		return nil, err
	}
	p.Firewall, err = firewall.New(ctx, name("firewall"), &firewall.Args{
		VpcID:      p.Network.VpcID.ToStringOutput(),
		AdminCIDRs: spec.AdminCIDRs,
		Ports:      firewall.Ports{App: spec.Tiers.App.Port, SFTP: spec.Tiers.SFTP.Port},
		Tags:       tags,
	}, inPrimary)
	if err != nil {
		return nil, err
	}
	sg := func(t string) pulumi.StringOutput { return p.Firewall.GroupIDs[t].ToStringOutput() }

	data, resolveData := deferredAppData(ctx)
	err = buildCompute(ctx, p, placement{
		VpcID: p.Network.VpcID.ToStringOutput(), Public: p.Network.PublicSubnetIDs, Private: p.Network.PrivateSubnetIDs,
		Group: func(t string) pulumi.StringInput { return sg(t) }, DeletionProtection: spec.DeletionProtection, AppData: data,
	}, tags, inPrimary)
	if err != nil {
		return nil, err
	}
	if err := buildEscrow(ctx, p, tags, inPrimary); err != nil {
		return nil, err
	}
	if err := buildData(ctx, p, account, tags, inPrimary); err != nil {
		return nil, err
	}
	resolveData(p)
	return p, nil
}

// buildEscrow builds the release escrow, readable under artifacts/ by every compute tier's instance role.
// A drill stack has none of its own: it deploys production's release from production's escrow.
func buildEscrow(ctx *pulumi.Context, p *Platform, tags pulumi.StringMap, opt pulumi.ResourceOption) error {
	readers := map[string]pulumi.StringInput{}
	for n, t := range p.Tiers {
		readers[n] = t.RoleARN
	}
	var err error
	p.Escrow, err = releaseescrow.New(ctx, p.Spec.Stack+"-escrow", &releaseescrow.Args{
		Readers: readers, Protect: p.Spec.DeletionProtection, Tags: tags,
	}, opt)
	return err
}

// placement is where the compute tiers go: a VPC, its public and private subnets, a security group per tier.
type placement struct {
	VpcID              pulumi.StringInput
	Public, Private    pulumi.StringArrayInput
	Group              func(tier string) pulumi.StringInput
	DeletionProtection bool
	// AppData, when set, is what the app tier's service is told of the data tier (appdata.go).
	AppData pulumix.Input[userdata.Data]
}

// buildCompute builds the load balancer, the auto-scaled tiers and the bastion of p.Spec at pl: production
// in its own VPC (Build), a DR drill in production's DR VPC (BuildDrill).
func buildCompute(ctx *pulumi.Context, p *Platform, pl placement, tags pulumi.StringMap, opt pulumi.ResourceOption) error {
	spec := p.Spec
	name := func(s string) string { return spec.Stack + "-" + s }
	account := pulumi.String(spec.AccountID)
	var err error
	p.LoadBalancer, err = loadbalancer.New(ctx, name("lb"), &loadbalancer.Args{
		Region: spec.Region, VpcID: pl.VpcID, PublicSubnetIDs: pl.Public,
		SecurityGroupID: pl.Group(firewall.LB), CertificateARN: spec.CertificateARN, AppPort: spec.Tiers.App.Port,
		DeletionProtection: pl.DeletionProtection, LogRetentionDays: spec.LogRetentionDays, Tags: tags,
	}, opt)
	if err != nil {
		return err
	}
	paramPath := "/plinth/" + spec.Stack
	for _, t := range computeTiers(spec) {
		var tgs pulumi.StringArrayInput
		var data pulumix.Input[userdata.Data]
		if t.name == firewall.App {
			tgs, data = pulumi.StringArray{p.LoadBalancer.AppTargetGroupARN}, pl.AppData
		}
		p.Tiers[t.name], err = tier.New(ctx, name(t.name), &tier.Args{
			Tier: t.name, Region: spec.Region, AccountID: account,
			SubnetIDs: pl.Private, SecurityGroupID: pl.Group(t.name),
			InstanceType: t.spec.InstanceType, Min: t.spec.Min, Desired: t.spec.Desired, Max: t.spec.Max,
			RootVolumeGiB: t.spec.RootVolumeGiB, TargetGroupARNs: tgs, SSHUser: spec.Bastion.SSHUser, ServicePort: t.spec.Port, Data: data,
			ParameterPath: paramPath, LogRetentionDays: spec.LogRetentionDays, Backup: p.workerBackup(t.name), Tags: tags,
		}, opt)
		if err != nil {
			return err
		}
	}
	p.Bastion, err = bastion.New(ctx, name("bastion"), &bastion.Args{
		Region: spec.Region, AccountID: account, PublicSubnetIDs: pl.Public,
		SecurityGroupID: pl.Group(firewall.Bastion), InstanceType: spec.Bastion.InstanceType,
		SSHUser: spec.Bastion.SSHUser, ParameterPath: paramPath, LogRetentionDays: spec.LogRetentionDays, Tags: tags,
	}, opt)
	return err
}

// drAZs is how many zones the DR network spans: enough for an RDS subnet group and a DR rebuild.
const drAZs = 2

// buildData wires the data tiers: the DR network (when there is a DR replica), MySQL, search, the utility
// tier's cache and monitoring, and the backup vault on GCP.
func buildData(ctx *pulumi.Context, p *Platform, account pulumi.StringInput, tags pulumi.StringMap, inPrimary pulumi.ResourceOption) error {
	spec := p.Spec
	name := func(s string) string { return spec.Stack + "-" + s }
	var err error
	var dr *database.DR
	var drAlarms *utility.DRAlarms
	if spec.Database.DRReplica {
		drProvider, err := aws.NewProvider(ctx, name("aws-"+spec.DRRegion), &aws.ProviderArgs{
			Region:            pulumi.String(spec.DRRegion),
			AllowedAccountIds: pulumi.StringArray{account},
			DefaultTags:       &aws.ProviderDefaultTagsArgs{Tags: tags},
		})
		if err != nil {
			return err
		}
		inDR := pulumi.Provider(drProvider)
		p.DRNetwork, err = network.New(ctx, name("dr-network"), &network.Args{
			Region: spec.DRRegion, CIDR: spec.DRVPCCIDR, AZCount: drAZs, PerAZNAT: false,
			LogRetentionDays: spec.LogRetentionDays, AccountID: account, Tags: tags,
		}, inDR)
		if err != nil {
			return err
		}
		p.DRFirewall, err = firewall.New(ctx, name("dr-firewall"), &firewall.Args{
			VpcID: p.DRNetwork.VpcID.ToStringOutput(), AdminCIDRs: spec.AdminCIDRs,
			Ports: firewall.Ports{App: spec.Tiers.App.Port, SFTP: spec.Tiers.SFTP.Port}, Tags: tags,
		}, inDR)
		if err != nil {
			return err
		}
		dr = &database.DR{Provider: drProvider, Region: spec.DRRegion, SubnetIDs: p.DRNetwork.DataSubnetIDs,
			SecurityGroupID: p.DRFirewall.GroupIDs[firewall.DB].ToStringOutput()}
	}
	sg := func(t string) pulumi.StringOutput { return p.Firewall.GroupIDs[t].ToStringOutput() }

	db := spec.Database
	p.Database, err = database.New(ctx, name("db"), &database.Args{
		AccountID: account, Region: spec.Region, AZs: p.Network.AZs,
		SubnetIDs: p.Network.DataSubnetIDs, SecurityGroupID: sg(firewall.DB),
		InstanceClass: db.InstanceClass, EngineVersion: db.EngineVersion,
		AllocatedStorageGiB: db.AllocatedStorageGiB, MaxStorageGiB: db.MaxStorageGiB, MultiAZ: db.MultiAZ,
		ReadReplicas: db.ReadReplicas, BackupRetentionDays: db.BackupRetentionDays,
		DeletionProtection: spec.DeletionProtection, DR: dr, Tags: tags,
	}, inPrimary)
	if err != nil {
		return err
	}
	if dr != nil {
		drAlarms = &utility.DRAlarms{Provider: dr.Provider, ReplicaID: p.Database.DRReplicaID}
	}

	sr := spec.Search
	p.Search, err = search.New(ctx, name("search"), &search.Args{
		AccountID: account, Region: spec.Region, SubnetIDs: p.Network.DataSubnetIDs, AZCount: spec.AZCount,
		SecurityGroupID: sg(firewall.Search), EngineVersion: sr.EngineVersion, InstanceType: sr.InstanceType,
		InstanceCount: sr.InstanceCount, DedicatedMasters: sr.DedicatedMasters, MasterInstanceType: sr.MasterInstanceType,
		VolumeGiB: sr.VolumeGiB, SnapshotHourUTC: sr.AutomatedSnapshotUTC, LogRetentionDays: spec.LogRetentionDays,
		ClientRoleARNs: pulumi.StringArray{p.Tiers[firewall.App].RoleARN, p.Tiers[firewall.Worker].RoleARN},
		Tags:           tags,
	}, inPrimary)
	if err != nil {
		return err
	}

	m := spec.Monitoring
	asgs := map[string]pulumi.StringInput{"bastion": p.Bastion.ASGName}
	for n, t := range p.Tiers {
		asgs[n] = t.ASGName
	}
	p.Utility, err = utility.New(ctx, name("utility"), &utility.Args{
		AccountID: account, Region: spec.Region, SubnetIDs: p.Network.DataSubnetIDs, SecurityGroupID: sg(firewall.Cache),
		Cache: utility.Cache{NodeType: spec.Cache.NodeType, EngineVersion: spec.Cache.EngineVersion, Nodes: spec.Cache.Nodes},
		ClientRoleNames: map[string]pulumi.StringInput{
			firewall.App: p.Tiers[firewall.App].RoleName, firewall.Worker: p.Tiers[firewall.Worker].RoleName,
		},
		AlarmEmail: m.AlarmEmail,
		Thresholds: utility.Thresholds{CPUPercent: m.CPUAlarmPercent, ReplicaLagSeconds: m.ReplicaLagSeconds,
			ALB5xxPerFiveMins: m.ALB5xxPerFiveMins, FailedLogins: 20},
		LoadBalancerSuffix: p.LoadBalancer.ARNSuffix, TargetGroupSuffix: p.LoadBalancer.AppTargetGroupSuffix,
		ASGNames: asgs, PrimaryDBID: p.Database.PrimaryID, ReplicaIDs: p.Database.Replicas, DR: drAlarms,
		BastionMetricsSpace: bastion.MetricNamespace, Tags: tags,
	}, inPrimary)
	if err != nil {
		return err
	}

	v := spec.BackupVault
	gcpProvider, err := gcp.NewProvider(ctx, name("gcp-"+v.Project), &gcp.ProviderArgs{
		Project:       pulumi.String(v.Project),
		DefaultLabels: gcpLabels(spec),
	})
	if err != nil {
		return err
	}
	p.Vault, err = backupvault.New(ctx, vaultName(spec.Stack), &backupvault.Args{
		Project: v.Project, ProjectNumber: v.ProjectNumber, Location: v.Location, KMSLocation: v.KMSLocation,
		RetentionDays: v.RetentionDays, ColdAfterDays: v.ColdAfterDays, Lock: v.LockRetention, ObjectPrefix: spec.Stack + "/",
		AWSAccountID: spec.AccountID, WriterRoleName: p.Tiers[firewall.Worker].RoleName,
		RestoreRoleName: p.Database.RestoreRoleName, Labels: gcpLabels(spec),
	}, pulumi.Provider(gcpProvider))
	if err != nil {
		return err
	}
	return buildBackupRuntime(ctx, p, tags, inPrimary)
}

// gcpLabels are BaseTags in GCP's label syntax (lower case letters, digits, - and _).
func gcpLabels(spec environments.Spec) pulumi.StringMap {
	clean := strings.NewReplacer(" ", "_", ".", "_", ":", "_", "/", "_", "=", "_", "+", "_", "@", "_")
	return pulumi.StringMap{
		"environment": pulumi.String(strings.ToLower(clean.Replace(spec.Environment))),
		"owner":       pulumi.String(strings.ToLower(clean.Replace(spec.Owner))),
		"stack":       pulumi.String(strings.ToLower(clean.Replace(spec.Stack))),
		"managed-by":  pulumi.String("plinth"),
	}
}
