package live

import (
	"os"
	"strings"
	"testing"
)

func TestOperatorKeyIsCreatedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateOperatorKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateOperatorKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1 != k2 || !strings.HasPrefix(k1.Authorized, "ssh-ed25519 ") {
		t.Fatalf("%+v then %+v", k1, k2)
	}
	if fi, err := os.Stat(k1.PrivatePath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key %v %v", fi, err)
	}
	if err := os.WriteFile(k1.PrivatePath, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateOperatorKey(dir); err == nil || !strings.Contains(err.Error(), k1.PrivatePath) {
		t.Fatalf("a damaged key: %v, want an error naming the file", err)
	}
}
