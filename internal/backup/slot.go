package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SlotPrefix holds the claims of scheduled runs (`backup run --once-per D`): one small object per period,
// created only when absent. Every worker of a tier runs the same timer; the first to claim the period takes
// the backup and the others have nothing to do. The claims stay (the vault's writer may not delete and the
// retention policy keeps them anyway); `backup list` ignores them.
const SlotPrefix = "locks/backup-run/"

// EnvOncePer is `backup run --once-per`'s default (the worker units' environment sets it:
// components/userdata.EnvBackupOncePer, the same name).
const EnvOncePer = "PLINTH_BACKUP_ONCE_PER"

// SlotClaimer is a store that creates an object only when none is there (blobstore.Store).
type SlotClaimer interface {
	CreateIfAbsent(ctx context.Context, key string, data []byte) (bool, error)
}

// ErrSlotTaken: another run claimed this period (not a failure: the scheduled backup is being taken).
var ErrSlotTaken = errors.New("another run claimed this period's backup")

// SlotKey is the claim of the period of length every holding now (periods start at the Unix epoch, in UTC).
func SlotKey(every time.Duration, now time.Time) string {
	return SlotPrefix + now.UTC().Truncate(every).Format("20060102T150405Z")
}

// ClaimSlot claims the period of length every holding now for holder; ErrSlotTaken (wrapped, naming the
// claim) when another run has it.
func ClaimSlot(ctx context.Context, st Store, every time.Duration, now time.Time, holder string) error {
	if every < time.Second {
		return fmt.Errorf("backup: --once-per %s: want at least 1s", every)
	}
	c, ok := st.(SlotClaimer)
	if !ok {
		return fmt.Errorf("backup: --once-per: the store %s cannot create an object only when absent", st)
	}
	key := SlotKey(every, now)
	body, err := json.Marshal(map[string]string{"holder": holder, "claimedAt": now.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return err
	}
	created, err := c.CreateIfAbsent(ctx, key, body)
	switch {
	case err != nil:
		return fmt.Errorf("backup: claim %s: %w", key, err)
	case !created:
		return fmt.Errorf("%s: %w", key, ErrSlotTaken)
	}
	return nil
}
