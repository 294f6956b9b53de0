package keygen

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

func TestKeygenWritesTheIdentityAndPrintsOnlyThePublicKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backup.key")
	for _, format := range []string{"human", "json"} {
		ios, _, out, _ := iostreams.Test()
		if format == "json" {
			path = filepath.Join(t.TempDir(), "backup.key")
		}
		opts := &KeygenOptions{IO: ios, Now: time.Now, Out: path, Output: format}
		if err := keygenRun(opts); err != nil {
			t.Fatal(err)
		}
		secret, _ := os.ReadFile(path)
		if !strings.Contains(string(secret), "AGE-SECRET-KEY-1") {
			t.Fatalf("identity file: %q", secret)
		}
		if strings.Contains(out.String(), "AGE-SECRET-KEY") {
			t.Fatalf("the private key was printed:\n%s", out)
		}
		var pub string
		if format == "json" {
			var kp struct{ IdentityFile, Recipient, Fingerprint string }
			if err := json.Unmarshal(out.Bytes(), &kp); err != nil || kp.IdentityFile != path || kp.Fingerprint == "" {
				t.Fatalf("json %q: %v", out, err)
			}
			pub = kp.Recipient
		} else {
			for _, line := range strings.Split(out.String(), "\n") {
				if v, ok := strings.CutPrefix(line, "public key:"); ok {
					pub = strings.TrimSpace(v)
				}
			}
		}
		// The printed public key is the one in the file's header (age-keygen's format).
		if !strings.HasPrefix(pub, "age1") || !strings.Contains(string(secret), "# public key: "+pub+"\n") {
			t.Fatalf("%s: printed %q, file %q", format, pub, secret)
		}
	}
}

func TestKeygenNeedsOutAndNeverReplaces(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	cmd := NewCmdKeygen(f, nil)
	cmd.SetArgs([]string{})
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	var fe *cmdutil.FlagError
	if err := cmd.Execute(); !errors.As(err, &fe) || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("no --out: %v", err)
	}
	path := filepath.Join(t.TempDir(), "existing.key")
	if err := os.WriteFile(path, []byte("AGE-SECRET-KEY-1 keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = NewCmdKeygen(f, nil)
	cmd.SetArgs([]string{"--out", path})
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Fatalf("keygen over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "AGE-SECRET-KEY-1 keep me\n" {
		t.Fatalf("existing identity changed: %q", b)
	}
}
