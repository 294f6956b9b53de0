package sshx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// A raw upload is written by the host's sshd over SFTP when it has the subsystem, and through the receive
// script when it has none; either way the stored artifact is verified and nothing else is left.
func TestRawUploadGoesOverSFTPWhenTheHostHasIt(t *testing.T) {
	dir := t.TempDir()
	keys := sshdtest.NewKeys(t, dir)
	known := filepath.Join(dir, "known_hosts")
	withSFTP := sshdtest.Start(t, "sftp", sshdtest.Options{Authorized: keys.Authorized})
	without := sshdtest.Start(t, "nosftp", sshdtest.Options{Authorized: keys.Authorized, NoSFTP: true})
	sshdtest.WriteKnownHosts(t, known, withSFTP, without)
	data := bytes.Repeat([]byte("plinth artifact over sftp\n"), 200<<10) // 5.2 MiB: many SFTP writes
	local := filepath.Join(dir, "artifact")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	ctx := context.Background()
	for _, tc := range []struct {
		s        *sshdtest.Server
		cfg      Config
		viaSFTP  int64
		describe string
	}{
		{withSFTP, Config{Compress: "none"}, 1, "host with sftp"},
		{withSFTP, Config{Compress: "none", UploadWindow: 256 << 10}, 1, "host with sftp, a small window"},
		{without, Config{Compress: "none"}, 0, "host without sftp"},
		{withSFTP, Config{Compress: "none", NoSFTP: true}, 0, "sftp turned off"},
		{withSFTP, Config{Compress: "zstd"}, 0, "compressed"},
	} {
		t.Run(tc.describe, func(t *testing.T) {
			cfg := tc.cfg
			cfg.KnownHosts, cfg.IdentityFiles = []string{known}, []string{keys.PrivatePath}
			r, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			h := inventory.Host{Name: tc.s.Name, Address: tc.s.Addr, User: "root", Root: t.TempDir()}
			spec := deploy.UploadSpec{Local: local, Remote: deploy.ArtifactPath(h.Root, want), SHA256: want, Size: int64(len(data))}
			var progressed int64
			n, err := r.Upload(ctx, h, spec, func(s int64) { progressed = s })
			if err != nil {
				t.Fatal(err)
			}
			if got := r.sftpUploads.Load(); got != tc.viaSFTP {
				t.Fatalf("uploads over sftp: %d, want %d", got, tc.viaSFTP)
			}
			if n == 0 || progressed != spec.Size {
				t.Fatalf("sent %d bytes, progress %d of %d", n, progressed, spec.Size)
			}
			stored, err := os.ReadFile(spec.Remote)
			if err != nil || !bytes.Equal(stored, data) {
				t.Fatalf("stored artifact differs (%d bytes, %v)", len(stored), err)
			}
			if fi, err := os.Stat(spec.Remote); err != nil || fi.Mode().Perm() != 0o755 {
				t.Fatalf("stored artifact mode: %v %v", fi, err)
			}
			entries, _ := os.ReadDir(filepath.Dir(spec.Remote))
			if len(entries) != 1 {
				t.Fatalf("artifact store holds %d entries, want the artifact only: %v", len(entries), entries)
			}
		})
	}
}
