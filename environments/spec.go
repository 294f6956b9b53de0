// Package environments is the typed spec of a plinth environment: defaults per environment kind, overrides
// read from stack config (the `plinth:spec` object in environments/Pulumi.<stack>.yaml) and validation that
// reports every error at once, each naming its config key. Pure: no I/O.
package environments

// Environment kinds. Each stack names one; its defaults come from the kind.
const (
	Staging       = "staging"
	Preproduction = "preproduction"
	Production    = "production"
)

// ConfigKey is the one structured stack-config key plinth reads.
const ConfigKey = "plinth:spec"

// NAT strategies.
const (
	NATPerAZ  = "perAz"
	NATSingle = "single"
)

// Spec is everything the program needs to build one environment.
type Spec struct {
	// Stack is the Pulumi stack name (not read from config).
	Stack string `json:"-"`

	Environment string `json:"environment"`
	// Owner is tagged on every resource (team or on-call rotation).
	Owner string `json:"owner"`
	// AccountID is the AWS account the stack deploys into (providers refuse any other; key policies and the
	// vault's workload identity federation name it).
	AccountID string `json:"accountId"`
	// Region is the primary AWS region; DRRegion hosts the cross-region replica and DR rebuilds.
	Region   string `json:"region"`
	DRRegion string `json:"drRegion"`
	// AZCount is how many availability zones of Region the VPC spans.
	AZCount int `json:"azCount"`
	// VPCCIDR is the primary VPC's IPv4 range; DRVPCCIDR the DR region's (must not overlap: peering, restores).
	VPCCIDR   string `json:"vpcCidr"`
	DRVPCCIDR string `json:"drVpcCidr"`
	// NATStrategy is perAz (one NAT gateway per AZ, no cross-AZ dependency) or single.
	NATStrategy string `json:"natStrategy"`
	// AdminCIDRs may reach the bastion on SSH. Never 0.0.0.0/0.
	AdminCIDRs []string `json:"adminCidrs"`
	// Domain served by the load balancer and the ACM certificate for it.
	Domain         string `json:"domain"`
	CertificateARN string `json:"certificateArn"`
	// DeletionProtection on the load balancer and databases; final snapshots on delete.
	DeletionProtection bool `json:"deletionProtection"`
	// LogRetentionDays for flow logs, bastion session logs and access logs.
	LogRetentionDays int `json:"logRetentionDays"`

	Tiers       Tiers       `json:"tiers"`
	Bastion     Bastion     `json:"bastion"`
	Database    Database    `json:"database"`
	Search      Search      `json:"search"`
	Cache       Cache       `json:"cache"`
	Monitoring  Monitoring  `json:"monitoring"`
	BackupVault BackupVault `json:"backupVault"`
	// DR: the recovery targets a DR drill is measured against (dr.go).
	DR DR `json:"dr"`
}

// Tiers are the compute tiers run as auto scaling groups.
type Tiers struct {
	App    Tier `json:"app"`
	Worker Tier `json:"worker"`
	SFTP   Tier `json:"sftp"`
}

// TierNames are the compute tiers' names (the keys of plinth:spec.tiers), the tiers a deploy targets.
func TierNames() []string { return []string{"app", "worker", "sftp"} }

// Tier sizes one auto scaling group.
type Tier struct {
	InstanceType string `json:"instanceType"`
	Desired      int    `json:"desired"`
	Min          int    `json:"min"`
	Max          int    `json:"max"`
	// Port the tier's service listens on (app: behind the load balancer; worker: health endpoint).
	Port int `json:"port"`
	// RootVolumeGiB is the encrypted root volume's size.
	RootVolumeGiB int `json:"rootVolumeGiB"`
}

// Bastion is the single monitored SSH access point.
type Bastion struct {
	InstanceType string `json:"instanceType"`
	// SSHUser is the key-only login user on every host.
	SSHUser string `json:"sshUser"`
}

// Database is the MySQL tier: a primary, read replicas in the primary region and one replica in DRRegion.
type Database struct {
	InstanceClass       string `json:"instanceClass"`
	EngineVersion       string `json:"engineVersion"`
	AllocatedStorageGiB int    `json:"allocatedStorageGiB"`
	MaxStorageGiB       int    `json:"maxStorageGiB"`
	MultiAZ             bool   `json:"multiAz"`
	ReadReplicas        int    `json:"readReplicas"`
	DRReplica           bool   `json:"drReplica"`
	BackupRetentionDays int    `json:"backupRetentionDays"`
}

// Search is the OpenSearch domain.
type Search struct {
	EngineVersion        string `json:"engineVersion"`
	InstanceType         string `json:"instanceType"`
	InstanceCount        int    `json:"instanceCount"`
	DedicatedMasters     bool   `json:"dedicatedMasters"`
	MasterInstanceType   string `json:"masterInstanceType"`
	VolumeGiB            int    `json:"volumeGiB"`
	AutomatedSnapshotUTC int    `json:"automatedSnapshotHourUtc"`
}

// Cache is the ElastiCache (Redis OSS) replication group of the utility tier.
type Cache struct {
	NodeType      string `json:"nodeType"`
	EngineVersion string `json:"engineVersion"`
	// Nodes is the number of cache clusters in the group (primary + replicas).
	Nodes int `json:"nodes"`
}

// Monitoring is the alarm topic and thresholds of the utility tier.
type Monitoring struct {
	// AlarmEmail subscribes to the alarm topic when set.
	AlarmEmail        string `json:"alarmEmail"`
	CPUAlarmPercent   int    `json:"cpuAlarmPercent"`
	ReplicaLagSeconds int    `json:"replicaLagSeconds"`
	ALB5xxPerFiveMins int    `json:"alb5xxPerFiveMinutes"`
}

// BackupVault is the GCS bucket on GCP that holds the encrypted database backups.
type BackupVault struct {
	// Project is the GCP project of the vault, and ProjectNumber its number (names Cloud Storage's service
	// agent, which alone may use the CMEK key).
	Project       string `json:"project"`
	ProjectNumber string `json:"projectNumber"`
	// Location is a GCS multi-region (EU, US, ASIA) or dual-region (EUR4, NAM4, ...).
	Location string `json:"location"`
	// KMSLocation is the Cloud KMS location of the CMEK key ring (must match the bucket's: "eu", "us", ...).
	KMSLocation   string `json:"kmsLocation"`
	RetentionDays int    `json:"retentionDays"`
	// ColdAfterDays moves objects to COLDLINE after this many days.
	ColdAfterDays int `json:"coldAfterDays"`
	// LockRetention locks the bucket's retention policy (irreversible: production only).
	LockRetention bool `json:"lockRetention"`
	// Schedule is when the worker tier's backup timer fires: a systemd OnCalendar expression (default
	// DefaultBackupSchedule, daily).
	Schedule string `json:"schedule"`
	// Recipients are the age X25519 public keys (age1...) every scheduled backup and binlog segment is
	// encrypted to. Only public keys: the identities that decrypt never reach a host. Without any, the worker
	// tier installs no backup units.
	Recipients []string `json:"recipients"`
}

// DefaultBackupSchedule is the backup timer's default: daily at 03:15 UTC.
const DefaultBackupSchedule = "*-*-* 03:15:00 UTC"
