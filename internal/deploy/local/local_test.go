package local_test

import (
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/deploy/local"
	"github.com/plinth-dev/plinth/internal/inventory"
)

func TestRunnerConformance(t *testing.T) {
	deploytest.RunnerSuite(t, func(t *testing.T) (deploy.Runner, inventory.Host) {
		return local.Runner{}, inventory.Host{Name: "local", Root: t.TempDir()}
	})
}
