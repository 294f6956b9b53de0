// Package cloudtest is the conformance suite every cloud.Cloud implementation passes (aws against API
// fakes, local against a live status and a real HAProxy): what deploy needs of a stack's cloud.
package cloudtest

import (
	"context"
	"net"
	"os"
	"slices"
	"testing"

	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// Fixture is one cloud holding one stack: an app tier of two hosts behind the load balancer's target
// group, and a worker tier of one host behind none.
type Fixture struct {
	Cloud   cloud.Cloud
	Stack   string
	Outputs map[string]any
	// Hosts are the host names each tier must resolve to.
	Hosts map[string][]string
	// InService observes the load balancer: is the host taking traffic?
	InService func(t *testing.T, h inventory.Host) bool
}

// Suite runs the conformance tests against newFixture's clouds.
func Suite(t *testing.T, newFixture func(t *testing.T) Fixture) {
	ctx := context.Background()
	t.Run("hosts: every tier of the inventory output, its hosts by name, reachable addresses", func(t *testing.T) {
		f := newFixture(t)
		inv, err := f.Cloud.Hosts(ctx, f.Stack, f.Outputs)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Stack != f.Stack {
			t.Errorf("inventory of stack %q, want %q", inv.Stack, f.Stack)
		}
		for tier, want := range f.Hosts {
			tt, err := inv.Tier(tier)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range tt.Hosts {
				got = append(got, h.Name)
				if _, _, err := net.SplitHostPort(h.Address); err != nil || h.User == "" || h.Root == "" || h.Port == 0 {
					t.Errorf("tier %s host %+v: want an address host:port, a user, a release root and a service port", tier, h)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("tier %s: hosts %v, want %v", tier, got, want)
			}
		}
		if app, _ := inv.Tier("app"); app == nil || app.TargetGroupARN == "" {
			t.Errorf("the app tier lost its target group: %+v", app)
		}
	})
	t.Run("ssh access: the files it names exist", func(t *testing.T) {
		f := newFixture(t)
		a, err := f.Cloud.SSHAccess(ctx, f.Stack)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range append(append([]string{}, a.IdentityFiles...), a.KnownHosts...) {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("ssh access names %s: %v", p, err)
			}
		}
	})
	t.Run("drainer: the target group's tier drains one host and enables it again; other tiers have none", func(t *testing.T) {
		f := newFixture(t)
		inv, err := f.Cloud.Hosts(ctx, f.Stack, f.Outputs)
		if err != nil {
			t.Fatal(err)
		}
		worker, _ := inv.Tier("worker")
		if d, err := f.Cloud.Drainer(ctx, f.Stack, worker); err != nil || d != nil {
			t.Errorf("worker tier: drainer %v, %v; want none", d, err)
		}
		app, _ := inv.Tier("app")
		d, err := f.Cloud.Drainer(ctx, f.Stack, app)
		if err != nil || d == nil {
			t.Fatalf("app tier: drainer %v, %v", d, err)
		}
		a, b := app.Hosts[0], app.Hosts[1]
		if !f.InService(t, a) || !f.InService(t, b) {
			t.Fatal("app hosts not in service at start")
		}
		if err := d.Drain(ctx, "app", a); err != nil {
			t.Fatal(err)
		}
		if f.InService(t, a) || !f.InService(t, b) {
			t.Fatalf("after draining %s: in service %v and %v", a.Name, f.InService(t, a), f.InService(t, b))
		}
		if err := d.Enable(ctx, "app", a); err != nil {
			t.Fatal(err)
		}
		if !f.InService(t, a) {
			t.Fatalf("%s not back in service", a.Name)
		}
	})
}

// Outputs is the inventory output of the suite's stack: app (port 8080, target group tg) and worker (9090).
func Outputs(stack, tg string) map[string]any {
	return map[string]any{"inventory": map[string]any{"stack": stack, "region": "eu-west-1",
		"bastion": map[string]any{"asgName": "bastion-asg", "address": "198.51.100.7", "sshUser": "ec2-user"},
		"tiers": map[string]any{
			"app":    map[string]any{"asgName": "app-asg", "targetGroupArn": tg, "min": 2, "desired": 2, "port": 8080},
			"worker": map[string]any{"asgName": "worker-asg", "min": 1, "desired": 1, "port": 9090},
		}}}
}
