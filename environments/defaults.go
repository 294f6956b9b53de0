package environments

// SFTPPort is the default port of the sftp tier's service.
const SFTPPort = 2222

// Defaults returns the spec of an environment kind before stack overrides. ok is false for an unknown kind.
func Defaults(kind string) (Spec, bool) {
	base := Spec{
		Environment:      kind,
		Owner:            "platform",
		Region:           "eu-west-1",
		NATStrategy:      NATPerAZ,
		LogRetentionDays: 90,
		Bastion:          Bastion{InstanceType: "t3.micro", SSHUser: "plinth"},
		Database: Database{
			InstanceClass: "db.t3.medium", EngineVersion: "8.0", AllocatedStorageGiB: 50, MaxStorageGiB: 200,
			BackupRetentionDays: 7,
		},
		Search: Search{EngineVersion: "OpenSearch_2.13", InstanceType: "t3.medium.search", InstanceCount: 2,
			VolumeGiB: 20, AutomatedSnapshotUTC: 3},
		Cache:      Cache{NodeType: "cache.t3.micro", EngineVersion: "7.1", Nodes: 2},
		Monitoring: Monitoring{CPUAlarmPercent: 80, ReplicaLagSeconds: 30, ALB5xxPerFiveMins: 50},
		BackupVault: BackupVault{
			Location: "EUR4", KMSLocation: "europe", RetentionDays: 30, ColdAfterDays: 30,
			Schedule: DefaultBackupSchedule,
		},
		DR: defaultDR(),
	}
	tier := func(typ string, min, desired, max int) Tier {
		return Tier{InstanceType: typ, Min: min, Desired: desired, Max: max, Port: 8080, RootVolumeGiB: 20}
	}
	// sftp serves SFTP (an sshd restricted to internal-sftp) on SFTPPort; 22 stays the admin sshd.
	sftp := func(typ string, min, desired, max int) Tier {
		t := tier(typ, min, desired, max)
		t.Port = SFTPPort
		return t
	}
	switch kind {
	case Staging:
		s := base
		s.AZCount = 2
		s.VPCCIDR = "10.10.0.0/16"
		s.NATStrategy = NATSingle
		s.LogRetentionDays = 14
		s.Tiers = Tiers{App: tier("t3.small", 1, 1, 2), Worker: tier("t3.small", 1, 1, 2), SFTP: sftp("t3.micro", 1, 1, 1)}
		s.Database.ReadReplicas = 0
		s.Search.InstanceCount = 1
		s.Cache.Nodes = 1
		s.BackupVault.RetentionDays = 7
		s.BackupVault.ColdAfterDays = 7
		return s, true
	case Preproduction:
		s := base
		s.AZCount = 2
		s.VPCCIDR = "10.20.0.0/16"
		s.Tiers = Tiers{App: tier("t3.medium", 2, 2, 4), Worker: tier("t3.medium", 2, 2, 4), SFTP: sftp("t3.small", 2, 2, 2)}
		s.Database.MultiAZ = true
		s.Database.ReadReplicas = 1
		s.Database.InstanceClass = "db.r6g.large"
		s.Search.InstanceType = "r6g.large.search"
		s.BackupVault.RetentionDays = 14
		s.BackupVault.ColdAfterDays = 7
		return s, true
	case Production:
		s := base
		s.AZCount = 3
		s.DRRegion = "eu-central-1"
		s.VPCCIDR = "10.30.0.0/16"
		s.DRVPCCIDR = "10.31.0.0/16"
		s.DeletionProtection = true
		s.LogRetentionDays = 365
		s.Tiers = Tiers{App: tier("m6i.large", 3, 3, 9), Worker: tier("m6i.large", 2, 3, 6), SFTP: sftp("t3.medium", 2, 2, 3)}
		s.Bastion.InstanceType = "t3.small"
		s.Database = Database{
			InstanceClass: "db.r6g.xlarge", EngineVersion: "8.0", AllocatedStorageGiB: 500, MaxStorageGiB: 2000,
			MultiAZ: true, ReadReplicas: 2, DRReplica: true, BackupRetentionDays: 14,
		}
		s.Search = Search{EngineVersion: "OpenSearch_2.13", InstanceType: "r6g.large.search", InstanceCount: 3,
			DedicatedMasters: true, MasterInstanceType: "m6g.large.search", VolumeGiB: 100, AutomatedSnapshotUTC: 3}
		s.Cache = Cache{NodeType: "cache.r6g.large", EngineVersion: "7.1", Nodes: 3}
		s.BackupVault.RetentionDays = 90
		s.BackupVault.LockRetention = true
		return s, true
	}
	return Spec{}, false
}
