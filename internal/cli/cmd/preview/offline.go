package preview

import (
	"context"
	"errors"
)

func offlineRun(ctx context.Context, opts *PreviewOptions) error {
	return errors.New("offline preview: being written")
}
