package drill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/rollout"
)

// EscrowDeployer is the deploy step: the release production runs (ProductionRelease: its deploy audit),
// fetched from production's release escrow and sha256-verified, rolled out with the deploy engine
// (internal/rollout) to the drill stack's tiers through the drill stack's bastion, one session per tier,
// pushed over SSH (the drill hosts need no access to the escrow). A tier the drill stack has no hosts of is
// skipped and logged; a drill stack that receives nothing fails the step.
type EscrowDeployer struct {
	Release *ProductionRelease
	// Connect connects to a stack like `plinth deploy` does (its inventory, bastion, keys, drainers).
	Connect rollout.Connector
	// Stack names drill id's stack (nil: environments.DrillStackName of production's, as StackPlatform).
	Stack func(id string) string
	// Dir holds the fetched artifacts while they are deployed ("": the system's temporary directory).
	Dir    string
	Holder string
	Log    func(format string, args ...any)
}

// Deploy implements Deployer.
func (d *EscrowDeployer) Deploy(ctx context.Context, p Plan) error {
	if d == nil || d.Release == nil || d.Release.Escrow == nil || d.Connect == nil {
		return unavailable(StepDeploy)
	}
	rels, err := d.Release.Releases(ctx)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(d.Dir, "plinth-"+p.ID+"-")
	if err != nil {
		return fmt.Errorf("drill %s: %w", p.ID, err)
	}
	defer os.RemoveAll(dir)
	artifacts := map[string]string{} // sha256 -> fetched file
	for _, rel := range rels {
		if _, ok := artifacts[rel.SHA256]; ok {
			continue
		}
		path := filepath.Join(dir, rel.SHA256)
		ref, err := d.Release.Escrow.Fetch(ctx, rel.SHA256, rel.Size, path)
		if err != nil {
			return fmt.Errorf("tier %s release %s: %w", rel.Tier, rel.Version, err)
		}
		d.log("drill %s: deploy: fetched %s (%d bytes, sha256 verified)", p.ID, ref.URL, ref.Size)
		artifacts[rel.SHA256] = path
	}
	stack := environments.DrillStackName(d.Release.Stack, p.ID)
	if d.Stack != nil {
		stack = d.Stack(p.ID)
	}
	conn, err := d.Connect(ctx, rollout.Request{Stack: stack})
	if err != nil {
		return fmt.Errorf("drill stack %s: %w", stack, err)
	}
	defer conn.Close()
	// The drill stack keeps no escrow of its own (it is torn down with the drill; production's escrow
	// already keeps the release): its deploys only push.
	conn.Escrow, conn.EscrowErr = nil, nil
	deployed := 0
	for _, rel := range rels {
		t, err := conn.Inventory.Tier(rel.Tier)
		if err != nil || len(t.Hosts) == 0 {
			d.log("drill %s: deploy: drill stack %s has no %s hosts: tier skipped", p.ID, stack, rel.Tier)
			continue
		}
		res, err := rollout.Deploy(ctx, conn, rollout.DeployRequest{Tier: rel.Tier, Artifact: artifacts[rel.SHA256], Version: rel.Version,
			Staging: "push", Holder: d.Holder, Message: "drill " + p.ID + ": production's release from its escrow"})
		if err != nil {
			return fmt.Errorf("drill stack %s tier %s release %s: %w", stack, rel.Tier, rel.Version, err)
		}
		deployed++
		hosts := 0
		if len(res) > 0 && res[0].Plan != nil {
			hosts = len(res[0].Plan.Hosts)
		}
		d.log("drill %s: deploy: tier %s runs %s on %d hosts of %s", p.ID, rel.Tier, rel.Version, hosts, stack)
	}
	if deployed == 0 {
		return errors.New("drill stack " + stack + " has no hosts in any tier production's release names")
	}
	return nil
}

func (d *EscrowDeployer) log(format string, args ...any) {
	if d.Log != nil {
		d.Log(format, args...)
	}
}
