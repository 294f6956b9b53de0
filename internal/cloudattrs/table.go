package cloudattrs

import (
	"cmp"
	"strings"
)

// typeSpec says how a type's id and computed attributes look. Inputs always pass through to outputs; computed
// attributes only fill keys the inputs do not set.
type typeSpec struct {
	id       func(a *Resource, name string) string
	computed func(a *Resource, id, name string) map[string]any
}

// typeTable holds the types whose ids or computed attributes differ from the generic rule.
var typeTable = map[string]typeSpec{
	"aws:ec2/vpc:Vpc": {id: awsPrefixedID("vpc"), computed: func(a *Resource, id, _ string) map[string]any {
		return map[string]any{
			"arn":                    awsARN(a, "ec2", "vpc/"+id),
			"defaultSecurityGroupId": "sg-" + a.hex(17), "mainRouteTableId": "rtb-" + a.hex(17),
			"defaultNetworkAclId": "acl-" + a.hex(17), "defaultRouteTableId": "rtb-" + a.hex(17),
			"ownerId": Account, "cidrBlock": "10.0.0.0/16", "enableDnsSupport": true,
		}
	}},
	"aws:ec2/subnet:Subnet": {id: awsPrefixedID("subnet"), computed: func(a *Resource, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "ec2", "subnet/"+id), "ownerId": Account,
			"availabilityZone": a.Region + "a", "availabilityZoneId": "euw1-az1"}
	}},
	"aws:ec2/securityGroup:SecurityGroup": {id: awsPrefixedID("sg"), computed: func(a *Resource, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "ec2", "security-group/"+id), "ownerId": Account}
	}},
	"aws:ec2/internetGateway:InternetGateway": {id: awsPrefixedID("igw")},
	"aws:ec2/natGateway:NatGateway": {id: awsPrefixedID("nat"), computed: func(a *Resource, _, _ string) map[string]any {
		return map[string]any{"publicIp": a.publicIP(), "privateIp": a.ip("10.0"), "networkInterfaceId": "eni-" + a.hex(17)}
	}},
	"aws:ec2/eip:Eip": {id: awsPrefixedID("eipalloc"), computed: func(a *Resource, id, _ string) map[string]any {
		ip := a.publicIP()
		return map[string]any{"publicIp": ip, "allocationId": id, "domain": "vpc",
			"publicDns": "ec2-" + strings.ReplaceAll(ip, ".", "-") + "." + a.Region + ".compute.amazonaws.com"}
	}},
	"aws:ec2/routeTable:RouteTable":   {id: awsPrefixedID("rtb")},
	"aws:ec2/networkAcl:NetworkAcl":   {id: awsPrefixedID("acl")},
	"aws:ec2/vpcEndpoint:VpcEndpoint": {id: awsPrefixedID("vpce")},
	"aws:ec2/flowLog:FlowLog":         {id: awsPrefixedID("fl")},
	"aws:ec2/keyPair:KeyPair": {id: nameID, computed: func(a *Resource, id, _ string) map[string]any {
		return map[string]any{"keyPairId": "key-" + a.hex(17), "keyName": id}
	}},
	"aws:ec2/launchTemplate:LaunchTemplate": {id: awsPrefixedID("lt"), computed: func(a *Resource, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "ec2", "launch-template/"+id), "latestVersion": 1, "defaultVersion": 1}
	}},
	"aws:ec2/instance:Instance": {id: awsPrefixedID("i"), computed: func(a *Resource, id, _ string) map[string]any {
		ip := a.ip("10.0")
		return map[string]any{"arn": awsARN(a, "ec2", "instance/"+id), "privateIp": ip,
			"privateDns":    "ip-" + strings.ReplaceAll(ip, ".", "-") + "." + a.Region + ".compute.internal",
			"instanceState": "running", "primaryNetworkInterfaceId": "eni-" + a.hex(17)}
	}},
	"aws:ec2/networkInterface:NetworkInterface": {id: awsPrefixedID("eni"), computed: func(a *Resource, _, _ string) map[string]any {
		return map[string]any{"privateIp": a.ip("10.0"), "macAddress": "02:00:00:" + a.hex(2) + ":" + a.hex(2) + ":" + a.hex(2)}
	}},
	"aws:lb/loadBalancer:LoadBalancer": {computed: func(a *Resource, id, name string) map[string]any {
		suffix := "app/" + name + "/" + a.hex(16)
		return map[string]any{"arn": id, "arnSuffix": suffix, "zoneId": "Z32O12XQLNTSW2",
			"dnsName": name + "-" + a.hex(10) + "." + a.Region + ".elb.amazonaws.com"}
	}, id: func(a *Resource, name string) string {
		return awsARN(a, "elasticloadbalancing", "loadbalancer/app/"+name+"/"+a.hex(16))
	}},
	"aws:lb/targetGroup:TargetGroup": {id: func(a *Resource, name string) string {
		return awsARN(a, "elasticloadbalancing", "targetgroup/"+name+"/"+a.hex(16))
	}, computed: func(a *Resource, id, _ string) map[string]any {
		_, suffix, _ := strings.Cut(id, ":targetgroup/")
		return map[string]any{"arn": id, "arnSuffix": "targetgroup/" + suffix}
	}},
	"aws:lb/listener:Listener": {id: func(a *Resource, _ string) string {
		return awsARN(a, "elasticloadbalancing", "listener/app/"+a.hex(16))
	}, computed: func(_ *Resource, id, _ string) map[string]any { return map[string]any{"arn": id} }},
	"aws:lb/listenerRule:ListenerRule": {id: func(a *Resource, _ string) string {
		return awsARN(a, "elasticloadbalancing", "listener-rule/app/"+a.hex(16))
	}, computed: func(_ *Resource, id, _ string) map[string]any { return map[string]any{"arn": id} }},
	"aws:iam/role:Role": {id: nameID, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"arn": "arn:aws:iam::" + Account + ":role/" + name, "uniqueId": "AROA" + strings.ToUpper(a.hex(17))}
	}},
	"aws:iam/policy:Policy": {id: func(_ *Resource, name string) string { return "arn:aws:iam::" + Account + ":policy/" + name },
		computed: func(a *Resource, id, _ string) map[string]any {
			return map[string]any{"arn": id, "policyId": "ANPA" + strings.ToUpper(a.hex(17))}
		}},
	"aws:iam/instanceProfile:InstanceProfile": {id: nameID, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"arn": "arn:aws:iam::" + Account + ":instance-profile/" + name, "uniqueId": "AIPA" + strings.ToUpper(a.hex(17))}
	}},
	"aws:iam/user:User": {id: nameID, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"arn": "arn:aws:iam::" + Account + ":user/" + name, "uniqueId": "AIDA" + strings.ToUpper(a.hex(17))}
	}},
	"aws:kms/key:Key": {id: func(a *Resource, _ string) string { return a.uuid() }, computed: func(a *Resource, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "kms", "key/"+id), "keyId": id}
	}},
	"aws:kms/alias:Alias": {id: nameID, computed: func(a *Resource, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "kms", id), "targetKeyArn": awsARN(a, "kms", "key/"+a.str("targetKeyId"))}
	}},
	"aws:s3/bucket:Bucket":     {id: s3ID, computed: s3Attrs},
	"aws:s3/bucketV2:BucketV2": {id: s3ID, computed: s3Attrs},
	"aws:sns/topic:Topic": {id: func(a *Resource, name string) string { return awsARN(a, "sns", name) },
		computed: func(_ *Resource, id, _ string) map[string]any { return map[string]any{"arn": id, "owner": Account} }},
	"aws:sns/topicSubscription:TopicSubscription": {id: func(a *Resource, _ string) string { return awsARN(a, "sns", "sub:"+a.uuid()) },
		computed: func(_ *Resource, id, _ string) map[string]any { return map[string]any{"arn": id} }},
	"aws:secretsmanager/secret:Secret": {id: func(a *Resource, name string) string {
		return awsARN(a, "secretsmanager", "secret:"+name+"-"+a.hex(6))
	}, computed: func(_ *Resource, id, _ string) map[string]any { return map[string]any{"arn": id} }},
	"aws:autoscaling/group:Group": {id: nameID, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "autoscaling", "autoScalingGroup:"+a.uuid()+":autoScalingGroupName/"+name)}
	}},
	"aws:cloudwatch/metricAlarm:MetricAlarm": {id: nameID, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "cloudwatch", "alarm:"+name)}
	}},
	"aws:cloudwatch/logGroup:LogGroup": {id: nameID, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "logs", "log-group:"+name)}
	}},
	"aws:rds/cluster:Cluster": {id: func(a *Resource, name string) string { return cmp.Or(a.str("clusterIdentifier"), name) },
		computed: func(a *Resource, id, _ string) map[string]any {
			h := a.hex(12)
			out := map[string]any{
				"arn": awsARN(a, "rds", "cluster:"+id), "clusterIdentifier": id, "port": 3306,
				"endpoint":          id + ".cluster-" + h + "." + a.Region + ".rds.amazonaws.com",
				"readerEndpoint":    id + ".cluster-ro-" + h + "." + a.Region + ".rds.amazonaws.com",
				"clusterResourceId": "cluster-" + strings.ToUpper(a.hex(26)), "hostedZoneId": "Z29XKXDKYMONMX",
			}
			if b, _ := a.Inputs["manageMasterUserPassword"].(bool); b {
				out["masterUserSecrets"] = []any{map[string]any{
					"secretArn":    awsARN(a, "secretsmanager", "secret:rds!cluster-"+a.uuid()+"-"+a.hex(6)),
					"secretStatus": "active", "kmsKeyId": a.str("masterUserSecretKmsKeyId"),
				}}
			}
			return out
		}},
	"aws:rds/clusterInstance:ClusterInstance": {id: func(a *Resource, name string) string { return cmp.Or(a.str("identifier"), name) },
		computed: func(a *Resource, id, _ string) map[string]any {
			return map[string]any{"arn": awsARN(a, "rds", "db:"+id), "identifier": id, "port": 3306,
				"endpoint": id + "." + a.hex(12) + "." + a.Region + ".rds.amazonaws.com", "dbiResourceId": "db-" + strings.ToUpper(a.hex(26))}
		}},
	"aws:rds/instance:Instance": {id: func(a *Resource, name string) string { return cmp.Or(a.str("identifier"), name) },
		computed: func(a *Resource, id, _ string) map[string]any {
			addr := id + "." + a.hex(12) + "." + a.Region + ".rds.amazonaws.com"
			out := map[string]any{"arn": awsARN(a, "rds", "db:"+id), "identifier": id, "port": 3306, "address": addr,
				"endpoint": addr + ":3306", "resourceId": "db-" + strings.ToUpper(a.hex(26)), "hostedZoneId": "Z29XKXDKYMONMX"}
			if b, _ := a.Inputs["manageMasterUserPassword"].(bool); b {
				out["masterUserSecrets"] = []any{map[string]any{
					"secretArn":    awsARN(a, "secretsmanager", "secret:rds!db-"+a.uuid()+"-"+a.hex(6)),
					"secretStatus": "active", "kmsKeyId": a.str("masterUserSecretKmsKeyId"),
				}}
			}
			return out
		}},
	"aws:rds/subnetGroup:SubnetGroup": {id: nameID, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "rds", "subgrp:"+name)}
	}},
	"aws:rds/parameterGroup:ParameterGroup": {id: nameID, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "rds", "pg:"+name)}
	}},
	"aws:rds/clusterParameterGroup:ClusterParameterGroup": {id: nameID, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "rds", "cluster-pg:"+name)}
	}},
	"aws:opensearch/domain:Domain": {id: func(a *Resource, name string) string {
		return awsARN(a, "es", "domain/"+cmp.Or(a.str("domainName"), name))
	}, computed: func(a *Resource, id, name string) map[string]any {
		d := cmp.Or(a.str("domainName"), name)
		return map[string]any{"arn": id, "domainName": d, "domainId": Account + "/" + d,
			"endpoint":          "vpc-" + d + "-" + a.hex(26) + "." + a.Region + ".es.amazonaws.com",
			"dashboardEndpoint": "vpc-" + d + "-" + a.hex(26) + "." + a.Region + ".es.amazonaws.com/_dashboards"}
	}},
	"aws:elasticache/replicationGroup:ReplicationGroup": {id: func(a *Resource, name string) string {
		return cmp.Or(a.str("replicationGroupId"), name)
	}, computed: func(a *Resource, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "elasticache", "replicationgroup:"+id), "port": 6379,
			"primaryEndpointAddress": "master." + id + "." + a.hex(6) + "." + regionShort(a.Region) + ".cache.amazonaws.com",
			"readerEndpointAddress":  "replica." + id + "." + a.hex(6) + "." + regionShort(a.Region) + ".cache.amazonaws.com"}
	}},
	"aws:elasticache/cluster:Cluster": {id: func(a *Resource, name string) string { return cmp.Or(a.str("clusterId"), name) },
		computed: func(a *Resource, id, _ string) map[string]any {
			addr := id + "." + a.hex(6) + ".0001." + regionShort(a.Region) + ".cache.amazonaws.com"
			return map[string]any{"arn": awsARN(a, "elasticache", "cluster:"+id), "port": 6379,
				"cacheNodes":     []any{map[string]any{"id": "0001", "address": addr, "port": 6379}},
				"clusterAddress": addr}
		}},
	"aws:elasticache/subnetGroup:SubnetGroup": {id: nameID},

	"gcp:storage/bucket:Bucket": {id: nameID, computed: func(a *Resource, id, _ string) map[string]any {
		return map[string]any{"url": "gs://" + id, "selfLink": "https://www.googleapis.com/storage/v1/b/" + id,
			"project": a.Project, "projectNumber": ProjectNumber}
	}},
	"gcp:kms/keyRing:KeyRing": {id: func(a *Resource, name string) string {
		return "projects/" + a.Project + "/locations/" + cmp.Or(a.str("location"), "global") + "/keyRings/" + name
	}},
	"gcp:kms/cryptoKey:CryptoKey": {id: func(a *Resource, name string) string {
		ring := cmp.Or(a.str("keyRing"), "projects/"+a.Project+"/locations/global/keyRings/unknown")
		return ring + "/cryptoKeys/" + name
	}, computed: func(_ *Resource, _, _ string) map[string]any { return map[string]any{"primaries": []any{}} }},
	"gcp:serviceaccount/account:Account": {id: func(a *Resource, name string) string {
		return "projects/" + a.Project + "/serviceAccounts/" + saEmail(a, name)
	}, computed: func(a *Resource, id, name string) map[string]any {
		email := saEmail(a, name)
		return map[string]any{"email": email, "name": id, "uniqueId": "1" + a.digits(20), "member": "serviceAccount:" + email}
	}},
	"gcp:projects/iAMCustomRole:IAMCustomRole": {id: func(a *Resource, name string) string {
		return "projects/" + a.Project + "/roles/" + cmp.Or(a.str("roleId"), name)
	}, computed: func(_ *Resource, id, _ string) map[string]any { return map[string]any{"name": id, "deleted": false} }},
	"gcp:iam/workloadIdentityPool:WorkloadIdentityPool": {id: func(a *Resource, name string) string {
		return "projects/" + a.Project + "/locations/global/workloadIdentityPools/" + cmp.Or(a.str("workloadIdentityPoolId"), name)
	}, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"name": "projects/" + ProjectNumber + "/locations/global/workloadIdentityPools/" +
			cmp.Or(a.str("workloadIdentityPoolId"), name), "state": "ACTIVE"}
	}},
	"gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": {id: func(a *Resource, name string) string {
		return "projects/" + a.Project + "/locations/global/workloadIdentityPools/" + a.str("workloadIdentityPoolId") +
			"/providers/" + cmp.Or(a.str("workloadIdentityPoolProviderId"), name)
	}, computed: func(a *Resource, _, name string) map[string]any {
		return map[string]any{"name": "projects/" + ProjectNumber + "/locations/global/workloadIdentityPools/" +
			a.str("workloadIdentityPoolId") + "/providers/" + cmp.Or(a.str("workloadIdentityPoolProviderId"), name),
			"state": "ACTIVE"}
	}},
}

// regionShort abbreviates a region as ElastiCache endpoints do: eu-west-1 -> euw1.
func regionShort(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 || parts[1] == "" {
		return region
	}
	return parts[0] + parts[1][:1] + parts[2]
}

func s3ID(a *Resource, name string) string {
	if b := a.str("bucket"); b != "" {
		return b
	}
	return name
}

func s3Attrs(a *Resource, id, _ string) map[string]any {
	return map[string]any{"bucket": id, "arn": "arn:aws:s3:::" + id, "region": a.Region,
		"bucketDomainName":         id + ".s3.amazonaws.com",
		"bucketRegionalDomainName": id + ".s3." + a.Region + ".amazonaws.com", "hostedZoneId": "Z1BKCTXD74EZPE"}
}

func saEmail(a *Resource, name string) string {
	return cmp.Or(a.str("accountId"), name) + "@" + a.Project + ".iam.gserviceaccount.com"
}
