package verify

import (
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

func TestNewCmdVerifyFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Getenv: func(k string) string {
		if k == "PLINTH_BACKUP_IDENTITY" {
			return "/keys/restore.key"
		}
		return ""
	}}
	var got *VerifyOptions
	cmd := NewCmdVerify(f, func(o *VerifyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"latest", "--store", "gs://vault", "--restore-into", "u:p@tcp(127.0.0.1:3307)/", "--rename", "app=scratch", "--no-mark"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.ID != "latest" || got.Identity != "/keys/restore.key" || got.RestoreInto == "" || got.Rename[0] != "app=scratch" || !got.NoMark {
		t.Fatalf("options %+v", got)
	}
	cmd = NewCmdVerify(f, func(*VerifyOptions) error { return nil })
	cmd.SetArgs([]string{})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil {
		t.Fatal("missing ID accepted")
	}
}
