package drill

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// StackEngine runs a stack through the `plinth up` engine path (provision: Automation API, policy gate,
// the stack's cloud). The drill platform step uses it for the drill stack.
type StackEngine interface {
	// Up creates or updates stack with config (its Pulumi.<stack>.yaml values) and returns its outputs.
	Up(ctx context.Context, stack string, config map[string]string) (outputs map[string]any, err error)
	// Destroy destroys every resource of stack and removes it; a stack that does not exist is not an error.
	Destroy(ctx context.Context, stack string) error
	// Resources lists what stack's state still holds (URNs); none when the stack does not exist.
	Resources(ctx context.Context, stack string) ([]string, error)
}

// StackPlatform is the platform step: a drill stack built from production's own config (the same spec)
// in the DR region, inside the DR network production exports, on the drill database the data step made
// (environments.ForDrill, stacks.BuildDrill), every resource tagged plinth:drill=<id>. It is also the
// platform's TearDowner: destroy the drill stack, then list what its state still holds.
type StackPlatform struct {
	Engine StackEngine
	// Source is production's stack name; Config its config values; Network its inventory's drNetwork.
	Source  string
	Config  map[string]string
	Network *environments.DrillNetwork
	// Address gives the drill load balancer's HTTPS address and the CA file that verifies it ("": the
	// system pool) from the drill stack's inventory: the DNS name on AWS, the published address locally.
	Address func(ctx context.Context, stack string, inv *contract.Inventory) (url, caFile string, err error)
	Log     func(format string, args ...any)

	mu    sync.Mutex
	built *contract.Inventory
}

// Stack is drill id's stack name.
func (s *StackPlatform) Stack(id string) string { return environments.DrillStackName(s.Source, id) }

// Build implements PlatformBuilder.
func (s *StackPlatform) Build(ctx context.Context, p Plan, r Recovered) error {
	if s.Network == nil {
		return fmt.Errorf("stack %s exports no drNetwork (production's DR VPC): run `plinth up --stack %s` with this plinth first: %w", s.Source, s.Source, ErrUnavailable)
	}
	if r.Endpoint == "" {
		return fmt.Errorf("the data step named no drill database endpoint (host:port) for the drill stack's application: %w", ErrUnavailable)
	}
	cfg, err := environments.DrillStackConfig(s.Config, environments.Drill{ID: p.ID, DatabaseEndpoint: r.Endpoint, Network: *s.Network})
	if err != nil {
		return err
	}
	stack := s.Stack(p.ID)
	if s.Log != nil {
		s.Log("drill %s: platform: stack %s in %s on %s", p.ID, stack, p.DRRegion, r.Endpoint)
	}
	out, err := s.Engine.Up(ctx, stack, cfg)
	if err != nil {
		return fmt.Errorf("drill stack %s: %w", stack, err)
	}
	inv, err := contract.Parse(out)
	if err != nil {
		return fmt.Errorf("drill stack %s: %w", stack, err)
	}
	s.mu.Lock()
	s.built = inv
	s.mu.Unlock()
	return nil
}

// Built is the drill stack's inventory once Build succeeded (deploy reads its hosts), else nil.
func (s *StackPlatform) Built() *contract.Inventory {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.built
}

// Target resolves the verify step's address from the built drill stack.
func (s *StackPlatform) Target(ctx context.Context, p Plan) (url, caFile string, err error) {
	inv := s.Built()
	if inv == nil {
		return "", "", errors.New("the drill stack was not built")
	}
	if s.Address == nil {
		if inv.LoadBalancer.DNSName == "" {
			return "", "", fmt.Errorf("drill stack %s: its load balancer has no DNS name", s.Stack(p.ID))
		}
		return "https://" + inv.LoadBalancer.DNSName, "", nil
	}
	return s.Address(ctx, s.Stack(p.ID), inv)
}

// Teardown implements TearDowner: the drill stack destroyed and removed (idempotent: a stack already gone
// is fine), then its state listed; whatever it still holds is left behind, by URN.
func (s *StackPlatform) Teardown(ctx context.Context, id string) ([]string, error) {
	stack := s.Stack(id)
	err := s.Engine.Destroy(ctx, stack)
	left, lerr := s.Engine.Resources(ctx, stack)
	if lerr != nil {
		left = append(left, "stack "+stack+" (its state could not be listed)")
	}
	if err != nil {
		err = fmt.Errorf("destroy drill stack %s: %w", stack, err)
	}
	return left, errors.Join(err, lerr)
}
