package localcloud

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(m), plugin.MarshalOptions{KeepUnknowns: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDiff(t *testing.T) {
	unknown := resource.MakeComputed(resource.NewStringProperty(""))
	cases := []struct {
		name          string
		olds, news    map[string]any
		want          pulumirpc.DiffResponse_DiffChanges
		diffs, replac string
	}{
		{"same", map[string]any{"cidrBlock": "10.0.0.0/16", "tags": map[string]any{"a": "1"}},
			map[string]any{"cidrBlock": "10.0.0.0/16", "tags": map[string]any{"a": "1"}}, pulumirpc.DiffResponse_DIFF_NONE, "", ""},
		{"tag changed", map[string]any{"tags": map[string]any{"a": "1"}}, map[string]any{"tags": map[string]any{"a": "2"}},
			pulumirpc.DiffResponse_DIFF_SOME, "tags", ""},
		{"cidr replaces", map[string]any{"cidrBlock": "10.0.0.0/16"}, map[string]any{"cidrBlock": "10.1.0.0/16"},
			pulumirpc.DiffResponse_DIFF_SOME, "cidrBlock", "cidrBlock"},
		{"key added", map[string]any{}, map[string]any{"minSize": 2}, pulumirpc.DiffResponse_DIFF_SOME, "minSize", ""},
		{"key removed", map[string]any{"minSize": 2}, map[string]any{}, pulumirpc.DiffResponse_DIFF_SOME, "minSize", ""},
		{"unknown is a change", map[string]any{"vpcId": "vpc-1"}, map[string]any{"vpcId": unknown},
			pulumirpc.DiffResponse_DIFF_SOME, "vpcId", "vpcId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := diff(mustStruct(t, c.olds), mustStruct(t, c.news), replaceKey)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Changes != c.want || strings.Join(resp.Diffs, ",") != c.diffs || strings.Join(resp.Replaces, ",") != c.replac {
				t.Fatalf("got changes %v diffs %v replaces %v", resp.Changes, resp.Diffs, resp.Replaces)
			}
		})
	}
}

func TestStoreDriftAndCorruptState(t *testing.T) {
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := Resource{URN: "urn:pulumi:dev::plinth::aws:ec2/vpc:Vpc::main", Type: "aws:ec2/vpc:Vpc", ID: "vpc-1",
		Inputs: map[string]any{"cidrBlock": "10.0.0.0/16"}, Outputs: map[string]any{"cidrBlock": "10.0.0.0/16", "arn": "x"}}
	if err := s.Put("dev", r); err != nil {
		t.Fatal(err)
	}
	if err := s.Drift("dev", "main", "cidrBlock", "10.1.0.0/16"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("dev", "vpc-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Inputs["cidrBlock"] != "10.1.0.0/16" || got.Outputs["cidrBlock"] != "10.1.0.0/16" {
		t.Fatalf("drift not applied: %+v", got)
	}
	if err := s.Drift("dev", "nope", "a", 1); err == nil || !errors.Is(err, ErrNotFound) {
		t.Fatalf("drift of a missing resource: %v", err)
	}
	if err := s.Remove("dev", "vpc-1"); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.List("dev"); len(rs) != 0 {
		t.Fatalf("after remove: %v", rs)
	}
	if err := s.Delete("dev", "vpc-1"); err != nil {
		t.Fatalf("deleting a gone resource: %v", err)
	}
	garbage := []byte("{not json")
	if err := os.WriteFile(s.Path("dev"), garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("dev", r); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("put on corrupt state: %v", err)
	}
	if b, _ := os.ReadFile(s.Path("dev")); string(b) != string(garbage) {
		t.Fatal("corrupt state overwritten")
	}
}

// TestProviderOverGRPC drives the served providers as the engine does: configure two instances of aws with
// different regions on two connections, then create/read/update/delete.
func TestProviderOverGRPC(t *testing.T) {
	c, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.HasPrefix(c.DebugProviders(), "aws:") || !strings.Contains(c.DebugProviders(), ",gcp:") {
		t.Fatalf("DebugProviders %q", c.DebugProviders())
	}
	dial := func(pkg string) pulumirpc.ResourceProviderClient {
		conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(c.ports[pkg]), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return pulumirpc.NewResourceProviderClient(conn)
	}
	ctx := context.Background()
	for pkg, want := range map[string]string{"aws": AWSVersion, "gcp": GCPVersion} {
		info, err := dial(pkg).GetPluginInfo(ctx, &emptypb.Empty{})
		if err != nil || info.Version != want {
			t.Fatalf("%s plugin info %v %v", pkg, info, err)
		}
	}
	primary, dr := dial("aws"), dial("aws")
	for cl, region := range map[pulumirpc.ResourceProviderClient]string{primary: "eu-west-1", dr: "eu-central-1"} {
		if _, err := cl.Configure(ctx, &pulumirpc.ConfigureRequest{Args: mustStruct(t, map[string]any{"region": region})}); err != nil {
			t.Fatal(err)
		}
	}
	urn := "urn:pulumi:dev::plinth::aws:s3/bucketV2:BucketV2::dr-bucket"
	created, err := dr.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Type: "aws:s3/bucketV2:BucketV2",
		Properties: mustStruct(t, map[string]any{"tags": map[string]any{"v": "1"}})})
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := c.Store.List("dev")
	if len(rs) != 1 || rs[0].Region != "eu-central-1" {
		t.Fatalf("bucket not created in the DR region: %+v", rs)
	}
	read, err := primary.Read(ctx, &pulumirpc.ReadRequest{Urn: urn, Id: created.Id})
	if err != nil || read.Id != created.Id {
		t.Fatalf("read: %v %v", read, err)
	}
	upd, err := dr.Update(ctx, &pulumirpc.UpdateRequest{Urn: urn, Id: created.Id, Olds: created.Properties,
		OldInputs: mustStruct(t, map[string]any{"tags": map[string]any{"v": "1"}}),
		News:      mustStruct(t, map[string]any{"tags": map[string]any{"v": "2"}})})
	if err != nil {
		t.Fatal(err)
	}
	props, _ := plugin.UnmarshalProperties(upd.Properties, plugin.MarshalOptions{})
	if props["arn"].StringValue() == "" || props["tags"].ObjectValue()["v"].StringValue() != "2" {
		t.Fatalf("update lost computed attributes or inputs: %v", props)
	}
	if _, err := dr.Delete(ctx, &pulumirpc.DeleteRequest{Urn: urn, Id: created.Id}); err != nil {
		t.Fatal(err)
	}
	gone, err := primary.Read(ctx, &pulumirpc.ReadRequest{Urn: urn, Id: created.Id})
	if err != nil || gone.Id != "" {
		t.Fatalf("read after delete: %v %v", gone, err)
	}
	inv, err := primary.Invoke(ctx, &pulumirpc.InvokeRequest{Tok: "aws:index/getRegion:getRegion", Args: mustStruct(t, map[string]any{})})
	if err != nil || inv.Return.Fields["name"].GetStringValue() != "eu-west-1" {
		t.Fatalf("getRegion on the primary connection: %v %v", inv, err)
	}
	bad, err := primary.Invoke(ctx, &pulumirpc.InvokeRequest{Tok: "aws:foo/getBar:getBar", Args: mustStruct(t, map[string]any{})})
	if err != nil || len(bad.Failures) != 1 {
		t.Fatalf("unknown invoke: %v %v", bad, err)
	}
}

func TestRandomInputChangeReplaces(t *testing.T) {
	resp, err := (&Provider{pkg: "random"}).Diff(context.Background(), &pulumirpc.DiffRequest{
		OldInputs: mustStruct(t, map[string]any{"length": 24}), News: mustStruct(t, map[string]any{"length": 32})})
	if err != nil || len(resp.Replaces) != 1 {
		t.Fatalf("random input change must replace: %v %v", resp, err)
	}
}
