package environments

import "sort"

// vaultLocation is a GCS multi- or dual-region: the GCP regions that may hold its data and the Cloud KMS
// location its CMEK key must live in.
type vaultLocation struct {
	regions []string
	kms     string
}

var vaultLocations = map[string]vaultLocation{
	"EU":    {regions: []string{"europe-west1", "europe-west3", "europe-west4", "europe-west8", "europe-west9", "europe-north1", "europe-north2", "europe-central2", "europe-southwest1", "europe-west10", "europe-west12"}, kms: "europe"},
	"US":    {regions: []string{"us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3", "us-west4"}, kms: "us"},
	"ASIA":  {regions: []string{"asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3", "asia-southeast1", "asia-south1"}, kms: "asia"},
	"EUR4":  {regions: []string{"europe-north1", "europe-west4"}, kms: "europe"},
	"EUR5":  {regions: []string{"europe-west1", "europe-west2"}, kms: "europe"},
	"EUR7":  {regions: []string{"europe-west2", "europe-west3"}, kms: "europe"},
	"EUR8":  {regions: []string{"europe-west3", "europe-west6"}, kms: "europe"},
	"NAM4":  {regions: []string{"us-central1", "us-east1"}, kms: "us"},
	"ASIA1": {regions: []string{"asia-northeast1", "asia-northeast2"}, kms: "asia"},
}

func knownVaultLocations() []string {
	out := make([]string, 0, len(vaultLocations))
	for k := range vaultLocations {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// awsMetro and gcpMetro place regions in cities: two providers' regions in one metro share its disasters.
var awsMetro = map[string]string{
	"eu-west-2": "London", "eu-west-3": "Paris", "eu-central-1": "Frankfurt", "eu-central-2": "Zurich",
	"eu-south-1": "Milan", "eu-south-2": "Madrid", "eu-north-1": "Stockholm", "us-east-1": "Northern Virginia",
	"us-east-2": "Columbus", "us-west-2": "Oregon", "ca-central-1": "Montreal", "ap-southeast-1": "Singapore",
	"ap-northeast-1": "Tokyo", "ap-northeast-2": "Seoul", "ap-northeast-3": "Osaka", "ap-south-1": "Mumbai",
	"ap-southeast-2": "Sydney", "ap-east-1": "Hong Kong", "sa-east-1": "Sao Paulo", "eu-west-1": "Dublin",
}

var gcpMetro = map[string]string{
	"europe-west2": "London", "europe-west9": "Paris", "europe-west3": "Frankfurt", "europe-west6": "Zurich",
	"europe-west8": "Milan", "europe-southwest1": "Madrid", "europe-north2": "Stockholm", "us-east4": "Northern Virginia",
	"us-east5": "Columbus", "us-west1": "Oregon", "northamerica-northeast1": "Montreal", "asia-southeast1": "Singapore",
	"asia-northeast1": "Tokyo", "asia-northeast3": "Seoul", "asia-northeast2": "Osaka", "asia-south1": "Mumbai",
	"australia-southeast1": "Sydney", "asia-east2": "Hong Kong", "southamerica-east1": "Sao Paulo",
}

// sharedMetro reports whether any of the GCP regions sits in the same metro as the AWS region.
func sharedMetro(awsRegion string, gcpRegions []string) (string, bool) {
	m, ok := awsMetro[awsRegion]
	if !ok {
		return "", false
	}
	for _, r := range gcpRegions {
		if gcpMetro[r] == m {
			return m + " (" + r + ")", true
		}
	}
	return "", false
}
