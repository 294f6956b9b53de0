package rules

import (
	"fmt"
	"slices"
	"strings"
)

const rdsInstance = "aws:rds/instance:Instance"

// TLS policies of ALB HTTPS listeners that allow nothing below TLS 1.2.
var albTLS12Policies = []string{
	"ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06", "ELBSecurityPolicy-TLS-1-2-2017-01",
	"ELBSecurityPolicy-TLS-1-2-Ext-2018-06", "ELBSecurityPolicy-FS-1-2-2019-08", "ELBSecurityPolicy-FS-1-2-Res-2020-10",
}

func encryptionRules() []Rule {
	return []Rule{
		{
			ID: "rds-encrypted", Level: Mandatory,
			Description: "RDS instances and their replicas encrypt storage with a customer KMS key.",
			Fix:         "Set storageEncrypted true and kmsKeyId to a customer key of the instance's region.",
			Check: eachOf([]string{rdsInstance}, func(r *Resource) string {
				if !r.truthy("storageEncrypted") || r.str("kmsKeyId") == "" {
					return fmt.Sprintf("storageEncrypted=%v kmsKeyId=%q", r.Get("storageEncrypted"), r.str("kmsKeyId"))
				}
				return ""
			}),
		},
		{
			ID: "ebs-encrypted", Level: Mandatory,
			Description: "Every EBS volume (launch template block devices, instances, volumes) is encrypted.",
			Fix:         "Set ebs.encrypted \"true\" with a kmsKeyId on every block device mapping.",
			Check: func(s *Stack) []Finding {
				var out []Finding
				for _, lt := range s.ByType("aws:ec2/launchTemplate:LaunchTemplate") {
					maps := lt.list("blockDeviceMappings")
					if len(maps) == 0 {
						out = append(out, Finding{lt, "no block device mapping: the root volume falls back to the AMI's (unencrypted) settings"})
					}
					for i := range maps {
						if !lt.truthy(fmt.Sprintf("blockDeviceMappings.%d.ebs.encrypted", i)) {
							out = append(out, Finding{lt, fmt.Sprintf("block device %d is not encrypted", i)})
						}
					}
				}
				for _, v := range s.ByType("aws:ebs/volume:Volume") {
					if !v.truthy("encrypted") {
						out = append(out, Finding{v, "volume is not encrypted"})
					}
				}
				for _, in := range s.ByType("aws:ec2/instance:Instance") {
					if !in.truthy("rootBlockDevice.encrypted") {
						out = append(out, Finding{in, "root volume is not encrypted"})
					}
				}
				return out
			},
		},
		{
			ID: "s3-encrypted", Level: Mandatory,
			Description: "Every S3 bucket has default server-side encryption.",
			Fix:         "Add a BucketServerSideEncryptionConfigurationV2 (AES256 or aws:kms) for the bucket.",
			Check: uncovered("aws:s3/bucketV2:BucketV2", "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
				"bucket", "no default encryption configuration", func(c *Resource) bool {
					alg := c.str("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm")
					return alg == "AES256" || strings.HasPrefix(alg, "aws:kms")
				}),
		},
		{
			ID: "s3-public-access-blocked", Level: Mandatory,
			Description: "Every S3 bucket blocks public ACLs and policies.",
			Fix:         "Add a BucketPublicAccessBlock with all four settings true.",
			Check: uncovered("aws:s3/bucketV2:BucketV2", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
				"bucket", "public access is not fully blocked", func(p *Resource) bool {
					return p.truthy("blockPublicAcls") && p.truthy("blockPublicPolicy") && p.truthy("ignorePublicAcls") && p.truthy("restrictPublicBuckets")
				}),
		},
		{
			ID: "opensearch-encrypted", Level: Mandatory,
			Description: "OpenSearch domains encrypt at rest and node to node.",
			Fix:         "Set encryptAtRest.enabled and nodeToNodeEncryption.enabled to true.",
			Check: eachOf([]string{"aws:opensearch/domain:Domain"}, func(r *Resource) string {
				if !r.truthy("encryptAtRest.enabled") || !r.truthy("nodeToNodeEncryption.enabled") {
					return "encryption at rest or node-to-node encryption is off"
				}
				return ""
			}),
		},
		{
			ID: "cache-encrypted-at-rest", Level: Mandatory,
			Description: "ElastiCache replication groups encrypt at rest.",
			Fix:         "Set atRestEncryptionEnabled true (with a customer kmsKeyId).",
			Check: eachOf([]string{"aws:elasticache/replicationGroup:ReplicationGroup"}, func(r *Resource) string {
				if !r.truthy("atRestEncryptionEnabled") {
					return "atRestEncryptionEnabled is not true"
				}
				return ""
			}),
		},
		{
			ID: "gcs-cmek", Level: Mandatory,
			Description: "GCS buckets encrypt with a customer-managed Cloud KMS key.",
			Fix:         "Set encryption.defaultKmsKeyName to a CryptoKey in the bucket's location.",
			Check: eachOf([]string{"gcp:storage/bucket:Bucket"}, func(r *Resource) string {
				if r.str("encryption.defaultKmsKeyName") == "" {
					return "no default CMEK key"
				}
				return ""
			}),
		},
		{
			ID: "logs-encrypted", Level: Advisory,
			Description: "CloudWatch log groups are encrypted with a customer KMS key.",
			Fix:         "Set kmsKeyId on the log group (its key policy must allow logs.<region>.amazonaws.com).",
			Check: eachOf([]string{"aws:cloudwatch/logGroup:LogGroup"}, func(r *Resource) string {
				if r.str("kmsKeyId") == "" {
					return "log group without a customer key"
				}
				return ""
			}),
		},
		{
			ID: "alb-tls", Level: Mandatory,
			Description: "HTTPS listeners use a TLS >= 1.2 policy; HTTP listeners only redirect to HTTPS.",
			Fix:         "Use sslPolicy ELBSecurityPolicy-TLS13-1-2-2021-06; make port 80's only action a redirect to HTTPS:443.",
			Check: eachOf([]string{"aws:lb/listener:Listener", "aws:alb/listener:Listener"}, func(r *Resource) string {
				switch r.str("protocol") {
				case "HTTPS", "TLS":
					if !slices.Contains(albTLS12Policies, r.str("sslPolicy")) {
						return fmt.Sprintf("TLS policy %q allows versions below 1.2", r.str("sslPolicy"))
					}
				case "HTTP":
					actions := r.list("defaultActions")
					if len(actions) != 1 || r.str("defaultActions.0.type") != "redirect" || r.str("defaultActions.0.redirect.protocol") != "HTTPS" {
						return "plain HTTP listener does something other than redirect to HTTPS"
					}
				}
				return ""
			}),
		},
		{
			ID: "opensearch-https", Level: Mandatory,
			Description: "OpenSearch endpoints enforce HTTPS with TLS >= 1.2.",
			Fix:         "Set domainEndpointOptions.enforceHttps true and tlsSecurityPolicy Policy-Min-TLS-1-2-PFS-2023-10.",
			Check: eachOf([]string{"aws:opensearch/domain:Domain"}, func(r *Resource) string {
				if !r.truthy("domainEndpointOptions.enforceHttps") || !strings.Contains(r.str("domainEndpointOptions.tlsSecurityPolicy"), "TLS-1-2") {
					return fmt.Sprintf("enforceHttps=%v tlsSecurityPolicy=%q", r.Get("domainEndpointOptions.enforceHttps"), r.str("domainEndpointOptions.tlsSecurityPolicy"))
				}
				return ""
			}),
		},
		{
			ID: "cache-transit-encryption", Level: Mandatory,
			Description: "ElastiCache replication groups encrypt in transit.",
			Fix:         "Set transitEncryptionEnabled true.",
			Check: eachOf([]string{"aws:elasticache/replicationGroup:ReplicationGroup"}, func(r *Resource) string {
				if !r.truthy("transitEncryptionEnabled") {
					return "transitEncryptionEnabled is not true"
				}
				return ""
			}),
		},
		{
			ID: "mysql-require-tls", Level: Mandatory,
			Description: "MySQL instances use a parameter group that sets require_secure_transport.",
			Fix:         "Attach a parameter group with require_secure_transport = ON.",
			Check: func(s *Stack) []Finding {
				var out []Finding
				for _, db := range s.ByType(rdsInstance) {
					if e := db.str("engine"); e != "" && e != "mysql" {
						continue
					}
					pg := s.Lookup(db.Ref("parameterGroupName"))
					if pg == nil || !requiresTLS(pg) {
						out = append(out, Finding{db, "its parameter group does not set require_secure_transport"})
					}
				}
				return out
			},
		},
	}
}

func requiresTLS(pg *Resource) bool {
	for _, p := range pg.list("parameters") {
		m, _ := p.(map[string]any)
		if m["name"] == "require_secure_transport" && (m["value"] == "ON" || m["value"] == "1") {
			return true
		}
	}
	return false
}
