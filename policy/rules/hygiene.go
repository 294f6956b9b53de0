package rules

import (
	"fmt"
	"slices"
	"strings"
)

// Types that take no tags (sub-resources and attachments).
var untaggable = []string{
	"aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/route:Route", "aws:iam/rolePolicy:RolePolicy",
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketPolicy:BucketPolicy",
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
	"aws:s3/bucketVersioningV2:BucketVersioningV2", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
	"aws:cloudwatch/logMetricFilter:LogMetricFilter", "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
	"aws:secretsmanager/secretVersion:SecretVersion", "aws:sns/topicSubscription:TopicSubscription",
	"aws:kms/alias:Alias",
}

// Required tags (labels on GCP).
var requiredTags = []string{"environment", "owner"}

func hygieneRules() []Rule {
	return []Rule{
		{
			ID: "secrets-not-plain", Level: Mandatory,
			Description: "Passwords and tokens are Pulumi secrets or managed by AWS; never plain values in state.",
			Fix:         "Use manageMasterUserPassword for RDS, and pulumi.ToSecret (or a generated secret) for tokens.",
			Check: func(s *Stack) []Finding {
				var out []Finding
				for _, db := range s.ByType(rdsInstance) {
					if !db.IsSecret("password") {
						out = append(out, Finding{db, "master password is a plain value"})
					} else if _, has := db.Props["password"]; !has && !isReplica(db) && !db.truthy("manageMasterUserPassword") {
						out = append(out, Finding{db, "no managed master password"})
					}
				}
				for _, c := range s.ByType("aws:elasticache/replicationGroup:ReplicationGroup") {
					if !c.IsSecret("authToken") {
						out = append(out, Finding{c, "auth token is a plain value"})
					}
				}
				for _, v := range s.ByType("aws:secretsmanager/secretVersion:SecretVersion") {
					if !v.IsSecret("secretString") {
						out = append(out, Finding{v, "secretString is a plain value"})
					}
				}
				return out
			},
		},
		{
			ID: "tags-required", Level: Mandatory,
			Description: "Every AWS resource carries environment and owner tags (GCP buckets and keys: labels).",
			Fix:         "Pass the stack's base tags (stacks.BaseTags) to the resource.",
			Check: func(s *Stack) []Finding {
				var out []Finding
				for _, r := range s.Resources {
					var missing []string
					switch {
					case r.Type == "aws:autoscaling/group:Group":
						have := map[string]bool{}
						for _, t := range r.list("tags") {
							if m, ok := t.(map[string]any); ok {
								have[fmt.Sprint(m["key"])] = true
							}
						}
						for _, k := range requiredTags {
							if !have[k] {
								missing = append(missing, k)
							}
						}
					case strings.HasPrefix(r.Type, "aws:") && !slices.Contains(untaggable, r.Type):
						for _, k := range requiredTags {
							if r.str("tags."+k) == "" {
								missing = append(missing, k)
							}
						}
					case r.Type == "gcp:storage/bucket:Bucket" || r.Type == "gcp:kms/cryptoKey:CryptoKey":
						for _, k := range requiredTags {
							if r.str("labels."+k) == "" {
								missing = append(missing, k)
							}
						}
					}
					if len(missing) > 0 {
						out = append(out, Finding{r, "missing tags: " + strings.Join(missing, ", ")})
					}
				}
				return out
			},
		},
	}
}

// All returns every rule, in a stable order.
func All() []Rule {
	var out []Rule
	for _, group := range [][]Rule{networkRules(), encryptionRules(), resilienceRules(), vaultRules(), hygieneRules(), grantRules()} {
		out = append(out, group...)
	}
	return out
}
