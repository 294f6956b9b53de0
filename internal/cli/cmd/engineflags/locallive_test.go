package engineflags

import (
	"context"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/localcloud"
	"github.com/plinth-dev/plinth/internal/provision"
)

func TestWithLocalCloudLiveAttachesTheFactorysHooks(t *testing.T) {
	var got provision.Options
	open := func(_ context.Context, o provision.Options) (Engine, error) { got = o; return nil, nil }
	if _, err := WithLocalCloudLive(&cmdutil.Factory{}, open)(context.Background(), provision.Options{Stack: "s"}); err != nil ||
		got.LocalCloudLive != nil || got.Stack != "s" {
		t.Fatalf("no live hooks: %+v %v", got, err)
	}
	dirs := []string{}
	f := &cmdutil.Factory{LocalCloudLive: func(d string) ([]localcloud.Hook, error) { dirs = append(dirs, d); return nil, nil }}
	if _, err := WithLocalCloudLive(f, open)(context.Background(), provision.Options{Stack: "s"}); err != nil || got.LocalCloudLive == nil {
		t.Fatalf("live hooks not attached: %v", err)
	}
	if _, err := got.LocalCloudLive("/lc"); err != nil || len(dirs) != 1 || dirs[0] != "/lc" {
		t.Fatalf("the Factory's function is called with the local cloud dir: %v %v", dirs, err)
	}
}
