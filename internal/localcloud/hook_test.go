package localcloud

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// TestHooksSeeEveryChangeAndMayRewriteOutputs drives a provider with two hooks: both see create, update and
// delete (never a preview), in order; an output the first one sets is what the engine gets and the store
// records; a hook error fails the step and records nothing.
func TestHooksSeeEveryChangeAndMayRewriteOutputs(t *testing.T) {
	store, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	live := HookFunc(func(_ context.Context, c Change) (map[string]any, error) {
		seen = append(seen, "live:"+string(c.Op)+":"+c.Type+":"+c.Stack)
		if c.Inputs["fail"] == true {
			return nil, errors.New("no host for it")
		}
		out := maps.Clone(c.Outputs)
		out["privateIp"] = "10.77.0.5"
		return out, nil
	})
	audit := HookFunc(func(_ context.Context, c Change) (map[string]any, error) {
		seen = append(seen, "audit:"+string(c.Op)+":"+c.ID+":"+c.Outputs["privateIp"].(string))
		return nil, nil // nil keeps the outputs as they are
	})
	p, err := NewProvider("aws", store, live, audit)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	urn := "urn:pulumi:dev::plinth::plinth:tier:Tier$aws:ec2/instance:Instance::app-1"
	if _, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: mustStruct(t, map[string]any{"ami": "a"}), Preview: true}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 0 {
		t.Fatalf("a preview reached the hooks: %v", seen)
	}
	created, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: mustStruct(t, map[string]any{"ami": "a"})})
	if err != nil {
		t.Fatal(err)
	}
	props, _ := plugin.UnmarshalProperties(created.Properties, plugin.MarshalOptions{})
	if props["privateIp"].StringValue() != "10.77.0.5" {
		t.Fatalf("engine got privateIp %v, want the hook's", props["privateIp"])
	}
	if r, _ := store.Get("dev", created.Id); r.Outputs["privateIp"] != "10.77.0.5" || r.Type != "aws:ec2/instance:Instance" {
		t.Fatalf("store recorded %+v", r)
	}
	if _, err := p.Update(ctx, &pulumirpc.UpdateRequest{Urn: urn, Id: created.Id, Olds: created.Properties,
		OldInputs: mustStruct(t, map[string]any{"ami": "a"}), News: mustStruct(t, map[string]any{"ami": "b"})}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Delete(ctx, &pulumirpc.DeleteRequest{Urn: urn, Id: created.Id}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"live:create:aws:ec2/instance:Instance:dev", "audit:create:" + created.Id + ":10.77.0.5",
		"live:update:aws:ec2/instance:Instance:dev", "audit:update:" + created.Id + ":10.77.0.5",
		"live:delete:aws:ec2/instance:Instance:dev", "audit:delete:" + created.Id + ":10.77.0.5",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("hooks saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	_, err = p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: mustStruct(t, map[string]any{"fail": true})})
	if err == nil || !strings.Contains(err.Error(), "no host for it") || !strings.Contains(err.Error(), urn) {
		t.Fatalf("a failing hook must fail the create naming the resource: %v", err)
	}
	if rs, _ := store.List("dev"); len(rs) != 0 {
		t.Fatalf("a failed create was recorded: %+v", rs)
	}
}

func TestURNHelpersNeverPanic(t *testing.T) {
	for _, s := range []string{"", "not-a-urn", "urn:pulumi:", "urn:pulumi:a::b"} {
		_, _, _ = urnName(s), urnStack(s), typeOf(s, "")
	}
	u := "urn:pulumi:prod::plinth::a:b:C$aws:s3/bucketV2:BucketV2::logs::x"
	if urnName(u) != "logs::x" || urnStack(u) != "prod" || typeOf(u, "") != "aws:s3/bucketV2:BucketV2" {
		t.Fatalf("%q: name %q stack %q type %q", u, urnName(u), urnStack(u), typeOf(u, ""))
	}
}
