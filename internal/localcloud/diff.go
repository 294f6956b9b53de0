package localcloud

import (
	"context"
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

// replaceKey reports whether a change of input k replaces a resource (most clouds cannot rename or re-home in
// place).
func replaceKey(k string) bool {
	switch k {
	case "name", "namePrefix", "bucket", "cidrBlock", "vpcId", "availabilityZone",
		"engine", "location", "project", "accountId", "identifier",
		"clusterIdentifier", "domainName", "keyRing", "replicationGroupId", "clusterId",
		"workloadIdentityPoolId", "workloadIdentityPoolProviderId":
		return true
	}
	return false
}

// Check accepts the inputs as given.
func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// Diff compares old and new inputs; keys replaceKey names force a replacement.
func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds := req.GetOldInputs()
	if olds == nil {
		olds = req.GetOlds()
	}
	ignore := map[string]bool{}
	for _, k := range req.GetIgnoreChanges() {
		ignore[k] = true
	}
	// pulumi-random replaces on any input change (a new value); the clouds on identity keys.
	resp, err := diff(olds, req.GetNews(), func(k string) bool { return p.pkg == "random" || replaceKey(k) })
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: diff %s: %w", p.pkg, req.GetUrn(), err)
	}
	if len(ignore) > 0 {
		resp = dropIgnored(resp, ignore)
	}
	return resp, nil
}

func dropIgnored(resp *pulumirpc.DiffResponse, ignore map[string]bool) *pulumirpc.DiffResponse {
	keep := func(ks []string) []string {
		var out []string
		for _, k := range ks {
			if !ignore[k] {
				out = append(out, k)
			}
		}
		return out
	}
	resp.Diffs, resp.Replaces = keep(resp.Diffs), keep(resp.Replaces)
	for k := range resp.DetailedDiff {
		if ignore[k] {
			delete(resp.DetailedDiff, k)
		}
	}
	if len(resp.Diffs) == 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_NONE
	}
	return resp
}

func diff(oldStruct, newStruct *structpb.Struct, replaces func(string) bool) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.UnmarshalProperties(oldStruct, inOpts())
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(newStruct, inOpts())
	if err != nil {
		return nil, err
	}
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, string(k))
	}
	sort.Strings(sorted)
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for _, k := range sorted {
		o, hasOld := olds[resource.PropertyKey(k)]
		n, hasNew := news[resource.PropertyKey(k)]
		if hasOld && o.IsNull() {
			hasOld = false
		}
		if hasNew && n.IsNull() {
			hasNew = false
		}
		var kind pulumirpc.PropertyDiff_Kind
		switch {
		case !hasOld && !hasNew:
			continue
		case !hasOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		case n.ContainsUnknowns() || !o.DeepEquals(n):
			kind = pulumirpc.PropertyDiff_UPDATE
		default:
			continue
		}
		if replaces(k) {
			kind += pulumirpc.PropertyDiff_ADD_REPLACE - pulumirpc.PropertyDiff_ADD
			resp.Replaces = append(resp.Replaces, k)
		}
		resp.Diffs = append(resp.Diffs, k)
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp, nil
}
