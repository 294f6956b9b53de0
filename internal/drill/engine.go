package drill

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/provision"
)

// EngineStacks is the StackEngine of `plinth up`: provision's engine (Automation API, policy packs, the
// stack's cloud) with Options as the command resolved them for production (home, backend, cloud, program,
// local cloud); only the stack and its config change.
type EngineStacks struct {
	Options provision.Options
}

func (e EngineStacks) options(stack string, config map[string]string) (provision.Options, error) {
	o := e.Options
	o.Stack = stack
	o.StackConfig = nil
	if config != nil {
		file, err := environments.StackFile(config)
		if err != nil {
			return o, fmt.Errorf("stack %s config: %w", stack, err)
		}
		o.StackConfig = file
	}
	return o, nil
}

// Up implements StackEngine.
func (e EngineStacks) Up(ctx context.Context, stack string, config map[string]string) (map[string]any, error) {
	o, err := e.options(stack, config)
	if err != nil {
		return nil, err
	}
	eng, err := provision.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	if _, err := eng.Up(ctx, provision.UpOptions{}); err != nil {
		return nil, err
	}
	return eng.Outputs(ctx)
}

// Destroy implements StackEngine: destroy, then remove the stack once its state is empty.
func (e EngineStacks) Destroy(ctx context.Context, stack string) error {
	left, err := e.Resources(ctx, stack)
	if err != nil {
		return err
	}
	o, err := e.options(stack, nil)
	if err != nil {
		return err
	}
	if left == nil {
		if _, err := provision.ReadTags(ctx, o); errors.Is(err, provision.ErrNoStack) {
			return nil // already gone
		}
	}
	eng, err := provision.Open(ctx, o)
	if err != nil {
		return err
	}
	defer eng.Close()
	if _, err := eng.Destroy(ctx); err != nil {
		return err
	}
	if left, err := eng.Resources(ctx); err != nil || len(left) > 0 {
		return errors.Join(err, fmt.Errorf("stack %s still holds %d resources after destroy: kept", stack, len(left)))
	}
	return eng.Remove(ctx)
}

// Resources implements StackEngine.
func (e EngineStacks) Resources(ctx context.Context, stack string) ([]string, error) {
	o, err := e.options(stack, nil)
	if err != nil {
		return nil, err
	}
	return provision.StackResources(ctx, o)
}
