package cli

import (
	"context"
	"fmt"

	"github.com/plinth-dev/plinth/internal/cli/livecloud"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/s3store"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/rollout"
)

// escrowOpener opens a stack's release escrow for rollout.Connect: on AWS (and for an inventory file
// naming one) the S3 bucket its inventory names, with the default credential chain; on the local cloud,
// whose bucket is a record, the same bucket name on the live local cloud's escrow (live.RunEscrow, an S3
// emulator on the loopback, with its access key). A stack whose inventory names no escrow keeps none.
func escrowOpener(getenv func(string) string) rollout.EscrowOpener {
	return func(ctx context.Context, req rollout.EscrowRequest) (rollout.EscrowStore, error) {
		e := req.Inventory.ReleaseEscrow
		if req.Cloud == cloud.Local && e == nil && req.Outputs != nil {
			// The live inventory carries no escrow (its hosts do not pull): the stack's outputs name it.
			if out, err := inventory.ParseOutputs(req.Outputs); err == nil && out.ReleaseEscrow != nil && out.ReleaseEscrow.Bucket != "" {
				e = &inventory.ReleaseEscrow{Bucket: out.ReleaseEscrow.Bucket}
			}
		}
		if e == nil || e.Bucket == "" {
			return nil, nil
		}
		if req.Cloud != cloud.Local {
			return s3store.Open(ctx, deploy.StoreConfig{Bucket: e.Bucket, Region: e.Region})
		}
		lc, err := livecloud.New(getenv)
		if err != nil {
			return nil, err
		}
		info, err := live.ReadEscrow(lc.Dir)
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w", req.Stack, err)
		}
		return s3store.OpenWithKey(ctx, deploy.StoreConfig{Bucket: e.Bucket, Region: info.Region, Endpoint: info.Endpoint, PathStyle: true},
			info.AccessKeyID, info.SecretAccessKey)
	}
}
