package backupflags_test

import (
	"errors"
	"testing"

	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/backupflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
)

func TestParseRename(t *testing.T) {
	m, err := backupflags.ParseRename([]string{"app=app_scratch"})
	if err != nil || m["app"] != "app_scratch" {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := backupflags.ParseRename([]string{"app"}); err == nil {
		t.Fatal("accepted app")
	}
}

func TestValidateCloud(t *testing.T) {
	var fe *cmdutil.FlagError
	for _, f := range []target.Flags{{Stack: "s", Cloud: "gcp"}, {Cloud: "local"}} {
		if err := backupflags.Validate(f); !errors.As(err, &fe) {
			t.Errorf("%+v: %v", f, err)
		}
	}
	for _, f := range []target.Flags{{}, {Stack: "s", Cloud: "aws"}, {Stack: "s", Cloud: "local"}} {
		if err := backupflags.Validate(f); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
}
