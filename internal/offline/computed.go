package offline

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const mockAccount = "123456789012"

// computed returns the attributes a cloud would fill in for a new resource of typ: ARNs, endpoints,
// addresses. Values are deterministic (derived from the name) so golden files stay stable.
func computed(typ, name, id string, in resource.PropertyMap) map[string]any {
	out := map[string]any{}
	region := "eu-west-1"
	if strings.HasPrefix(typ, "aws:") {
		out["arn"] = fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", service(typ), region, mockAccount, strings.ToLower(lastSegment(typ)), id)
		out["tagsAll"] = map[string]any{}
	}
	if _, named := in["name"]; !named {
		out["name"] = id // auto-naming: the physical name is the logical name plus a suffix
	}
	n := hash(name)
	switch typ {
	case "aws:ec2/eip:Eip":
		out["publicIp"] = fmt.Sprintf("192.0.2.%d", 1+n%250) // TEST-NET-1: documentation addresses
		out["allocationId"] = "eipalloc-" + id
	case "aws:lb/loadBalancer:LoadBalancer":
		out["dnsName"] = fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, n%100000, region)
		out["arnSuffix"] = "app/" + name + "/" + id
		out["zoneId"] = "Z32O12XQLNTSW2"
	case "aws:lb/targetGroup:TargetGroup":
		out["arnSuffix"] = "targetgroup/" + name + "/" + id
	case "aws:autoscaling/group:Group":
		out["name"] = id
	case "aws:kms/key:Key":
		out["keyId"] = id
	case "aws:rds/instance:Instance":
		out["address"] = fmt.Sprintf("%s.c%06d.%s.rds.amazonaws.com", name, n%1000000, region)
		out["endpoint"] = out["address"].(string) + ":3306"
		out["port"] = float64(3306)
		out["identifier"] = name
		out["masterUserSecrets"] = []any{map[string]any{"secretArn": fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:rds!%s", region, mockAccount, id)}}
	case "aws:opensearch/domain:Domain":
		out["endpoint"] = fmt.Sprintf("vpc-%s-%d.%s.es.amazonaws.com", name, n%100000, region)
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		out["primaryEndpointAddress"] = fmt.Sprintf("master.%s.cache.amazonaws.com", name)
		out["readerEndpointAddress"] = fmt.Sprintf("replica.%s.cache.amazonaws.com", name)
	case "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet":
		out["ownerId"] = mockAccount
	case "aws:s3/bucketV2:BucketV2":
		out["bucket"] = id
		out["bucketRegionalDomainName"] = id + ".s3." + region + ".amazonaws.com"
	case "aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile":
		out["arn"] = fmt.Sprintf("arn:aws:iam::%s:%s/%s", mockAccount, strings.ToLower(lastSegment(typ)), id)
		out["name"] = id
	case "aws:cloudwatch/logGroup:LogGroup":
		out["name"] = id
	case "aws:sns/topic:Topic":
		out["arn"] = fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, mockAccount, id)
	case "gcp:serviceaccount/account:Account":
		acct := str(in, "accountId")
		proj := str(in, "project")
		out["email"] = fmt.Sprintf("%s@%s.iam.gserviceaccount.com", acct, proj)
		out["member"] = "serviceAccount:" + out["email"].(string)
		out["name"] = fmt.Sprintf("projects/%s/serviceAccounts/%s", proj, out["email"])
	case "gcp:kms/keyRing:KeyRing":
		proj := str(in, "project")
		loc := str(in, "location")
		kr := str(in, "name")
		out["id"] = fmt.Sprintf("projects/%s/locations/%s/keyRings/%s", proj, loc, kr)
	case "gcp:storage/bucket:Bucket":
		out["name"] = id
		out["url"] = "gs://" + id
		out["selfLink"] = "https://www.googleapis.com/storage/v1/b/" + id
	case "gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
		out["name"] = "projects/000000000000/locations/global/workloadIdentityPools/" + id
	case "random:index/randomPassword:RandomPassword":
		out["result"] = fmt.Sprintf("mock%060x", hash(name))[:64]
	}
	return out
}

// str returns the string input key, or "" when it is absent or not a known string.
func str(in resource.PropertyMap, key string) string {
	v, ok := in[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func lastSegment(typ string) string {
	i := strings.LastIndex(typ, ":")
	return typ[i+1:]
}

func hash(s string) int {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32() & 0x7fffffff)
}
