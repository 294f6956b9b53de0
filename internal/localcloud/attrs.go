package localcloud

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
)

// Account is the AWS account id every simulated ARN carries; ProjectNumber the GCP project number.
const (
	Account       = "123456789012"
	ProjectNumber = "100000000001"
)

// attrCtx is what a type's computed attributes may depend on.
type attrCtx struct {
	pkg, typ, logical string
	region, project   string
	inputs            map[string]any
}

func (a *attrCtx) module() string {
	// aws:ec2/vpc:Vpc -> ec2
	t := strings.TrimPrefix(a.typ, a.pkg+":")
	if i := strings.IndexAny(t, "/:"); i >= 0 {
		return t[:i]
	}
	return t
}

func (a *attrCtx) short() string {
	if i := strings.LastIndex(a.typ, ":"); i >= 0 {
		return a.typ[i+1:]
	}
	return a.typ
}

func (a *attrCtx) str(key string) string {
	if v, ok := a.inputs[key].(string); ok {
		return v
	}
	return ""
}

// name is the resource's name: its `name` input, or an autoname like the real providers make.
func (a *attrCtx) name(autoname string) string {
	if n := a.str("name"); n != "" {
		return n
	}
	return autoname
}

// typeSpec says how a type's id and computed attributes look. Inputs always pass through to outputs; computed
// attributes only fill keys the inputs do not set.
type typeSpec struct {
	id       func(a *attrCtx, name string) string
	computed func(a *attrCtx, id, name string) map[string]any
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on Linux; keep ids unique enough regardless.
		return strings.Repeat("0", n)
	}
	return hex.EncodeToString(b)[:n]
}

// randPublicIP is an address in the documentation ranges (TEST-NET-2/3): plausible, never routable.
func randPublicIP() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	if b[0]%2 == 0 {
		return fmt.Sprintf("203.0.113.%d", b[1]%250+4)
	}
	return fmt.Sprintf("198.51.100.%d", b[1]%250+4)
}

func randIP(prefix string) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s.%d.%d", prefix, b[0]%250+1, b[1]%250+4)
}

func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func awsARN(a *attrCtx, service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, a.region, Account, resource)
}

func awsPrefixedID(prefix string) func(*attrCtx, string) string {
	return func(*attrCtx, string) string { return prefix + "-" + randHex(17) }
}

func nameID(_ *attrCtx, name string) string { return name }

func uuid() string {
	h := randHex(32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// typeTable holds the types whose ids or computed attributes differ from the generic rule.
var typeTable = map[string]typeSpec{
	"aws:ec2/vpc:Vpc": {id: awsPrefixedID("vpc"), computed: func(a *attrCtx, id, _ string) map[string]any {
		return map[string]any{
			"arn":                    awsARN(a, "ec2", "vpc/"+id),
			"defaultSecurityGroupId": "sg-" + randHex(17), "mainRouteTableId": "rtb-" + randHex(17),
			"defaultNetworkAclId": "acl-" + randHex(17), "defaultRouteTableId": "rtb-" + randHex(17),
			"ownerId": Account, "cidrBlock": "10.0.0.0/16", "enableDnsSupport": true,
		}
	}},
	"aws:ec2/subnet:Subnet": {id: awsPrefixedID("subnet"), computed: func(a *attrCtx, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "ec2", "subnet/"+id), "ownerId": Account,
			"availabilityZone": a.region + "a", "availabilityZoneId": "euw1-az1"}
	}},
	"aws:ec2/securityGroup:SecurityGroup": {id: awsPrefixedID("sg"), computed: func(a *attrCtx, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "ec2", "security-group/"+id), "ownerId": Account}
	}},
	"aws:ec2/internetGateway:InternetGateway": {id: awsPrefixedID("igw")},
	"aws:ec2/natGateway:NatGateway": {id: awsPrefixedID("nat"), computed: func(a *attrCtx, _, _ string) map[string]any {
		return map[string]any{"publicIp": randPublicIP(), "privateIp": randIP("10.0"), "networkInterfaceId": "eni-" + randHex(17)}
	}},
	"aws:ec2/eip:Eip": {id: awsPrefixedID("eipalloc"), computed: func(a *attrCtx, id, _ string) map[string]any {
		ip := randPublicIP()
		return map[string]any{"publicIp": ip, "allocationId": id, "domain": "vpc",
			"publicDns": "ec2-" + strings.ReplaceAll(ip, ".", "-") + "." + a.region + ".compute.amazonaws.com"}
	}},
	"aws:ec2/routeTable:RouteTable":   {id: awsPrefixedID("rtb")},
	"aws:ec2/networkAcl:NetworkAcl":   {id: awsPrefixedID("acl")},
	"aws:ec2/vpcEndpoint:VpcEndpoint": {id: awsPrefixedID("vpce")},
	"aws:ec2/flowLog:FlowLog":         {id: awsPrefixedID("fl")},
	"aws:ec2/keyPair:KeyPair": {id: nameID, computed: func(a *attrCtx, id, _ string) map[string]any {
		return map[string]any{"keyPairId": "key-" + randHex(17), "keyName": id}
	}},
	"aws:ec2/launchTemplate:LaunchTemplate": {id: awsPrefixedID("lt"), computed: func(a *attrCtx, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "ec2", "launch-template/"+id), "latestVersion": 1, "defaultVersion": 1}
	}},
	"aws:ec2/instance:Instance": {id: awsPrefixedID("i"), computed: func(a *attrCtx, id, _ string) map[string]any {
		ip := randIP("10.0")
		return map[string]any{"arn": awsARN(a, "ec2", "instance/"+id), "privateIp": ip,
			"privateDns":    "ip-" + strings.ReplaceAll(ip, ".", "-") + "." + a.region + ".compute.internal",
			"instanceState": "running", "primaryNetworkInterfaceId": "eni-" + randHex(17)}
	}},
	"aws:ec2/networkInterface:NetworkInterface": {id: awsPrefixedID("eni"), computed: func(a *attrCtx, _, _ string) map[string]any {
		return map[string]any{"privateIp": randIP("10.0"), "macAddress": "02:00:00:" + randHex(2) + ":" + randHex(2) + ":" + randHex(2)}
	}},
	"aws:lb/loadBalancer:LoadBalancer": {computed: func(a *attrCtx, id, name string) map[string]any {
		suffix := "app/" + name + "/" + randHex(16)
		return map[string]any{"arn": id, "arnSuffix": suffix, "zoneId": "Z32O12XQLNTSW2",
			"dnsName": name + "-" + randHex(10) + "." + a.region + ".elb.amazonaws.com"}
	}, id: func(a *attrCtx, name string) string {
		return awsARN(a, "elasticloadbalancing", "loadbalancer/app/"+name+"/"+randHex(16))
	}},
	"aws:lb/targetGroup:TargetGroup": {id: func(a *attrCtx, name string) string {
		return awsARN(a, "elasticloadbalancing", "targetgroup/"+name+"/"+randHex(16))
	}, computed: func(a *attrCtx, id, _ string) map[string]any {
		_, suffix, _ := strings.Cut(id, ":targetgroup/")
		return map[string]any{"arn": id, "arnSuffix": "targetgroup/" + suffix}
	}},
	"aws:lb/listener:Listener": {id: func(a *attrCtx, _ string) string {
		return awsARN(a, "elasticloadbalancing", "listener/app/"+randHex(16))
	}, computed: func(_ *attrCtx, id, _ string) map[string]any { return map[string]any{"arn": id} }},
	"aws:lb/listenerRule:ListenerRule": {id: func(a *attrCtx, _ string) string {
		return awsARN(a, "elasticloadbalancing", "listener-rule/app/"+randHex(16))
	}, computed: func(_ *attrCtx, id, _ string) map[string]any { return map[string]any{"arn": id} }},
	"aws:iam/role:Role": {id: nameID, computed: func(a *attrCtx, _, name string) map[string]any {
		return map[string]any{"arn": "arn:aws:iam::" + Account + ":role/" + name, "uniqueId": "AROA" + strings.ToUpper(randHex(17))}
	}},
	"aws:iam/policy:Policy": {id: func(_ *attrCtx, name string) string { return "arn:aws:iam::" + Account + ":policy/" + name },
		computed: func(_ *attrCtx, id, _ string) map[string]any {
			return map[string]any{"arn": id, "policyId": "ANPA" + strings.ToUpper(randHex(17))}
		}},
	"aws:iam/instanceProfile:InstanceProfile": {id: nameID, computed: func(_ *attrCtx, _, name string) map[string]any {
		return map[string]any{"arn": "arn:aws:iam::" + Account + ":instance-profile/" + name, "uniqueId": "AIPA" + strings.ToUpper(randHex(17))}
	}},
	"aws:iam/user:User": {id: nameID, computed: func(_ *attrCtx, _, name string) map[string]any {
		return map[string]any{"arn": "arn:aws:iam::" + Account + ":user/" + name, "uniqueId": "AIDA" + strings.ToUpper(randHex(17))}
	}},
	"aws:kms/key:Key": {id: func(*attrCtx, string) string { return uuid() }, computed: func(a *attrCtx, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "kms", "key/"+id), "keyId": id}
	}},
	"aws:kms/alias:Alias": {id: nameID, computed: func(a *attrCtx, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "kms", id), "targetKeyArn": awsARN(a, "kms", "key/"+a.str("targetKeyId"))}
	}},
	"aws:s3/bucket:Bucket":     {id: s3ID, computed: s3Attrs},
	"aws:s3/bucketV2:BucketV2": {id: s3ID, computed: s3Attrs},
	"aws:sns/topic:Topic": {id: func(a *attrCtx, name string) string { return awsARN(a, "sns", name) },
		computed: func(_ *attrCtx, id, _ string) map[string]any { return map[string]any{"arn": id, "owner": Account} }},
	"aws:sns/topicSubscription:TopicSubscription": {id: func(a *attrCtx, _ string) string { return awsARN(a, "sns", "sub:"+uuid()) },
		computed: func(_ *attrCtx, id, _ string) map[string]any { return map[string]any{"arn": id} }},
	"aws:secretsmanager/secret:Secret": {id: func(a *attrCtx, name string) string {
		return awsARN(a, "secretsmanager", "secret:"+name+"-"+randHex(6))
	}, computed: func(_ *attrCtx, id, _ string) map[string]any { return map[string]any{"arn": id} }},
	"aws:autoscaling/group:Group": {id: nameID, computed: func(a *attrCtx, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "autoscaling", "autoScalingGroup:"+uuid()+":autoScalingGroupName/"+name)}
	}},
	"aws:cloudwatch/metricAlarm:MetricAlarm": {id: nameID, computed: func(a *attrCtx, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "cloudwatch", "alarm:"+name)}
	}},
	"aws:cloudwatch/logGroup:LogGroup": {id: nameID, computed: func(a *attrCtx, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "logs", "log-group:"+name)}
	}},
	"aws:rds/cluster:Cluster": {id: func(a *attrCtx, name string) string { return firstNonEmpty(a.str("clusterIdentifier"), name) },
		computed: func(a *attrCtx, id, _ string) map[string]any {
			h := randHex(12)
			out := map[string]any{
				"arn": awsARN(a, "rds", "cluster:"+id), "clusterIdentifier": id, "port": 3306,
				"endpoint":          id + ".cluster-" + h + "." + a.region + ".rds.amazonaws.com",
				"readerEndpoint":    id + ".cluster-ro-" + h + "." + a.region + ".rds.amazonaws.com",
				"clusterResourceId": "cluster-" + strings.ToUpper(randHex(26)), "hostedZoneId": "Z29XKXDKYMONMX",
			}
			if b, _ := a.inputs["manageMasterUserPassword"].(bool); b {
				out["masterUserSecrets"] = []any{map[string]any{
					"secretArn":    awsARN(a, "secretsmanager", "secret:rds!cluster-"+uuid()+"-"+randHex(6)),
					"secretStatus": "active", "kmsKeyId": a.str("masterUserSecretKmsKeyId"),
				}}
			}
			return out
		}},
	"aws:rds/clusterInstance:ClusterInstance": {id: func(a *attrCtx, name string) string { return firstNonEmpty(a.str("identifier"), name) },
		computed: func(a *attrCtx, id, _ string) map[string]any {
			return map[string]any{"arn": awsARN(a, "rds", "db:"+id), "identifier": id, "port": 3306,
				"endpoint": id + "." + randHex(12) + "." + a.region + ".rds.amazonaws.com", "dbiResourceId": "db-" + strings.ToUpper(randHex(26))}
		}},
	"aws:rds/instance:Instance": {id: func(a *attrCtx, name string) string { return firstNonEmpty(a.str("identifier"), name) },
		computed: func(a *attrCtx, id, _ string) map[string]any {
			addr := id + "." + randHex(12) + "." + a.region + ".rds.amazonaws.com"
			out := map[string]any{"arn": awsARN(a, "rds", "db:"+id), "identifier": id, "port": 3306, "address": addr,
				"endpoint": addr + ":3306", "resourceId": "db-" + strings.ToUpper(randHex(26)), "hostedZoneId": "Z29XKXDKYMONMX"}
			if b, _ := a.inputs["manageMasterUserPassword"].(bool); b {
				out["masterUserSecrets"] = []any{map[string]any{
					"secretArn":    awsARN(a, "secretsmanager", "secret:rds!db-"+uuid()+"-"+randHex(6)),
					"secretStatus": "active", "kmsKeyId": a.str("masterUserSecretKmsKeyId"),
				}}
			}
			return out
		}},
	"aws:rds/subnetGroup:SubnetGroup": {id: nameID, computed: func(a *attrCtx, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "rds", "subgrp:"+name)}
	}},
	"aws:rds/parameterGroup:ParameterGroup": {id: nameID, computed: func(a *attrCtx, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "rds", "pg:"+name)}
	}},
	"aws:rds/clusterParameterGroup:ClusterParameterGroup": {id: nameID, computed: func(a *attrCtx, _, name string) map[string]any {
		return map[string]any{"arn": awsARN(a, "rds", "cluster-pg:"+name)}
	}},
	"aws:opensearch/domain:Domain": {id: func(a *attrCtx, name string) string {
		return awsARN(a, "es", "domain/"+firstNonEmpty(a.str("domainName"), name))
	}, computed: func(a *attrCtx, id, name string) map[string]any {
		d := firstNonEmpty(a.str("domainName"), name)
		return map[string]any{"arn": id, "domainName": d, "domainId": Account + "/" + d,
			"endpoint":          "vpc-" + d + "-" + randHex(26) + "." + a.region + ".es.amazonaws.com",
			"dashboardEndpoint": "vpc-" + d + "-" + randHex(26) + "." + a.region + ".es.amazonaws.com/_dashboards"}
	}},
	"aws:elasticache/replicationGroup:ReplicationGroup": {id: func(a *attrCtx, name string) string {
		return firstNonEmpty(a.str("replicationGroupId"), name)
	}, computed: func(a *attrCtx, id, _ string) map[string]any {
		return map[string]any{"arn": awsARN(a, "elasticache", "replicationgroup:"+id), "port": 6379,
			"primaryEndpointAddress": "master." + id + "." + randHex(6) + "." + regionShort(a.region) + ".cache.amazonaws.com",
			"readerEndpointAddress":  "replica." + id + "." + randHex(6) + "." + regionShort(a.region) + ".cache.amazonaws.com"}
	}},
	"aws:elasticache/cluster:Cluster": {id: func(a *attrCtx, name string) string { return firstNonEmpty(a.str("clusterId"), name) },
		computed: func(a *attrCtx, id, _ string) map[string]any {
			addr := id + "." + randHex(6) + ".0001." + regionShort(a.region) + ".cache.amazonaws.com"
			return map[string]any{"arn": awsARN(a, "elasticache", "cluster:"+id), "port": 6379,
				"cacheNodes":     []any{map[string]any{"id": "0001", "address": addr, "port": 6379}},
				"clusterAddress": addr}
		}},
	"aws:elasticache/subnetGroup:SubnetGroup": {id: nameID},

	"gcp:storage/bucket:Bucket": {id: nameID, computed: func(a *attrCtx, id, _ string) map[string]any {
		return map[string]any{"url": "gs://" + id, "selfLink": "https://www.googleapis.com/storage/v1/b/" + id,
			"project": a.project, "projectNumber": ProjectNumber}
	}},
	"gcp:kms/keyRing:KeyRing": {id: func(a *attrCtx, name string) string {
		return "projects/" + a.project + "/locations/" + firstNonEmpty(a.str("location"), "global") + "/keyRings/" + name
	}},
	"gcp:kms/cryptoKey:CryptoKey": {id: func(a *attrCtx, name string) string {
		ring := firstNonEmpty(a.str("keyRing"), "projects/"+a.project+"/locations/global/keyRings/unknown")
		return ring + "/cryptoKeys/" + name
	}, computed: func(_ *attrCtx, _, _ string) map[string]any { return map[string]any{"primaries": []any{}} }},
	"gcp:serviceaccount/account:Account": {id: func(a *attrCtx, name string) string {
		return "projects/" + a.project + "/serviceAccounts/" + saEmail(a, name)
	}, computed: func(a *attrCtx, id, name string) map[string]any {
		email := saEmail(a, name)
		return map[string]any{"email": email, "name": id, "uniqueId": "1" + randDigits(20), "member": "serviceAccount:" + email}
	}},
	"gcp:iam/workloadIdentityPool:WorkloadIdentityPool": {id: func(a *attrCtx, name string) string {
		return "projects/" + a.project + "/locations/global/workloadIdentityPools/" + firstNonEmpty(a.str("workloadIdentityPoolId"), name)
	}, computed: func(a *attrCtx, _, name string) map[string]any {
		return map[string]any{"name": "projects/" + ProjectNumber + "/locations/global/workloadIdentityPools/" +
			firstNonEmpty(a.str("workloadIdentityPoolId"), name), "state": "ACTIVE"}
	}},
	"gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": {id: func(a *attrCtx, name string) string {
		return "projects/" + a.project + "/locations/global/workloadIdentityPools/" + a.str("workloadIdentityPoolId") +
			"/providers/" + firstNonEmpty(a.str("workloadIdentityPoolProviderId"), name)
	}, computed: func(a *attrCtx, _, name string) map[string]any {
		return map[string]any{"name": "projects/" + ProjectNumber + "/locations/global/workloadIdentityPools/" +
			a.str("workloadIdentityPoolId") + "/providers/" + firstNonEmpty(a.str("workloadIdentityPoolProviderId"), name),
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

func s3ID(a *attrCtx, name string) string {
	if b := a.str("bucket"); b != "" {
		return b
	}
	return name
}

func s3Attrs(a *attrCtx, id, _ string) map[string]any {
	return map[string]any{"bucket": id, "arn": "arn:aws:s3:::" + id, "region": a.region,
		"bucketDomainName":         id + ".s3.amazonaws.com",
		"bucketRegionalDomainName": id + ".s3." + a.region + ".amazonaws.com", "hostedZoneId": "Z1BKCTXD74EZPE"}
}

func saEmail(a *attrCtx, name string) string {
	return firstNonEmpty(a.str("accountId"), name) + "@" + a.project + ".iam.gserviceaccount.com"
}

func randDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// materialize returns the id and outputs of a new resource: inputs pass through, then the type's computed
// attributes (or the generic ones) fill what the inputs do not set.
func materialize(a *attrCtx) (string, map[string]any) {
	if a.pkg == "random" {
		return randomMaterialize(a)
	}
	autoname := a.logical + "-" + randHex(7)
	name := a.name(autoname)
	spec, known := typeTable[a.typ]
	var id string
	switch {
	case known && spec.id != nil:
		id = spec.id(a, name)
	case a.pkg == "aws":
		id = kebab(a.short()) + "-" + randHex(17)
	default:
		id = "projects/" + a.project + "/" + strings.ToLower(a.short()) + "s/" + name
	}
	out := make(map[string]any, len(a.inputs)+8)
	for k, v := range a.inputs {
		out[k] = v
	}
	var computed map[string]any
	if known && spec.computed != nil {
		computed = spec.computed(a, id, name)
	} else if a.pkg == "aws" {
		computed = map[string]any{"arn": awsARN(a, a.module(), kebab(a.short())+"/"+id)}
	}
	for k, v := range computed {
		if _, set := out[k]; !set {
			out[k] = v
		}
	}
	if _, set := out["name"]; !set {
		out["name"] = name
	}
	if a.pkg == "aws" {
		if tags, ok := out["tags"]; ok {
			out["tagsAll"] = tags
		}
	}
	return id, out
}

// computedKeys lists the attributes a type computes (for unknowns during preview).
func computedKeys(a *attrCtx) []string {
	if a.pkg == "random" {
		return []string{"result", "hex", "b64Std", "b64Url", "dec"}
	}
	spec, known := typeTable[a.typ]
	keys := []string{"name"}
	if a.pkg == "aws" {
		keys = append(keys, "arn", "tagsAll")
	}
	if known && spec.computed != nil {
		probe := &attrCtx{pkg: a.pkg, typ: a.typ, logical: a.logical, region: a.region, project: a.project, inputs: a.inputs}
		for k := range spec.computed(probe, "probe/targetgroup/x", "probe") {
			keys = append(keys, k)
		}
	}
	return keys
}
