package cloud

import (
	"context"
	"errors"
	"testing"
)

// TestCloudsForHonoursTheRecordedCloud: --cloud picks the cloud of a stack that recorded none, agrees
// with the one it recorded, and is refused (ErrCloudMismatch, naming the stack) when it names another.
func TestCloudsForHonoursTheRecordedCloud(t *testing.T) {
	ctx := context.Background()
	rec := func(name string) Recorded { return func(context.Context, string) (string, error) { return name, nil } }
	for _, tt := range []struct{ recorded, want, got string }{
		{"", "", AWS}, {"", "local", Local}, {"local", "", Local}, {"local", "local", Local}, {"aws", "aws", AWS},
	} {
		c, err := Clouds{Recorded: rec(tt.recorded)}.For(ctx, "staging", tt.want)
		if err != nil || c.Name() != tt.got {
			t.Errorf("recorded %q, --cloud %q: %v %v, want %s", tt.recorded, tt.want, c, err, tt.got)
		}
	}
	_, err := Clouds{Recorded: rec("local")}.For(ctx, "staging", "aws")
	if !errors.Is(err, ErrCloudMismatch) || err.Error() != "stack staging was provisioned into the local cloud, not aws: cloud mismatch" {
		t.Errorf("mismatch: %v", err)
	}
}

// TestLocalWithoutALivePlatformSaysWhatToDo: a local stack whose platform is not live is one line.
func TestLocalWithoutALivePlatformSaysWhatToDo(t *testing.T) {
	none := func(context.Context, string) (*LiveStack, error) { return nil, nil }
	_, err := LocalCloud{Live: none}.SSHAccess(context.Background(), "staging")
	if !errors.Is(err, ErrNotLive) || err.Error() != "stack staging lives in the local cloud, whose instances are records, not hosts (the local cloud has no live hosts): run `plinth up --stack staging --cloud local` as root to make it live, or pass --inventory FILE to deploy to real hosts" {
		t.Errorf("got %v", err)
	}
}
