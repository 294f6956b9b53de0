package rollout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// The release escrow: every `plinth deploy` keeps the release's artifact in the stack's escrow (an object
// store the DR region can read) under its content-addressed key, deploy.StoreKey(sha256), once: an object
// already there is not sent again. The audit record of the deploy names the object. What is fetched back
// (the DR drill's deploy) is verified against its sha256 before use.

// EscrowStore is a stack's release escrow (s3store.Store on S3 and on the live local cloud's emulator).
type EscrowStore interface {
	// Put stores the local file under key unless an object of that size is there; it returns the bytes
	// sent (0 when present).
	Put(ctx context.Context, key, local string, size int64) (int64, error)
	// Stat returns the size of key's object; found is false when there is none.
	Stat(ctx context.Context, key string) (size int64, found bool, err error)
	// Get opens key's object.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// URL names key's object (s3://bucket/key).
	URL(key string) string
}

// EscrowRequest is what an escrow opener is given: the stack, the cloud it lives in ("" for an inventory
// file), its inventory and, when read, its outputs.
type EscrowRequest struct {
	Stack     string
	Cloud     string
	Inventory *inventory.Inventory
	Outputs   map[string]any
}

// EscrowOpener opens a stack's release escrow (nil, nil: the stack has none).
type EscrowOpener func(ctx context.Context, req EscrowRequest) (EscrowStore, error)

// Errors of the escrow.
var (
	// ErrNotEscrowed: the escrow holds no object for the artifact (or one of another size).
	ErrNotEscrowed = errors.New("not in the release escrow")
	// ErrEscrowCorrupt: the object fetched does not hash to the artifact's sha256: it is refused.
	ErrEscrowCorrupt = errors.New("escrowed object does not match its sha256")
)

var hexSHA = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Escrow keeps and fetches artifacts in a store.
type Escrow struct {
	Store EscrowStore
}

// Keep puts rel's artifact in the escrow unless it is there, and returns where it is and the bytes sent.
func (e Escrow) Keep(ctx context.Context, rel deploy.Release) (deploy.EscrowRef, int64, error) {
	if !hexSHA.MatchString(rel.SHA256) {
		return deploy.EscrowRef{}, 0, fmt.Errorf("escrow %s: sha256 %q is not 64 hex digits", rel.Artifact, rel.SHA256)
	}
	key := deploy.StoreKey(rel.SHA256)
	ref := deploy.EscrowRef{URL: e.Store.URL(key), Size: rel.Size}
	n, err := e.Store.Put(ctx, key, rel.Artifact, rel.Size)
	if err != nil {
		return ref, n, fmt.Errorf("escrow %s to %s: %w", rel.Artifact, ref.URL, err)
	}
	return ref, n, nil
}

// Check says whether the escrow holds the artifact sha256 (HEAD): its object, of size bytes when size > 0.
func (e Escrow) Check(ctx context.Context, sha string, size int64) (deploy.EscrowRef, error) {
	if !hexSHA.MatchString(sha) {
		return deploy.EscrowRef{}, fmt.Errorf("escrow: sha256 %q is not 64 hex digits", sha)
	}
	key := deploy.StoreKey(sha)
	ref := deploy.EscrowRef{URL: e.Store.URL(key), Size: size}
	got, found, err := e.Store.Stat(ctx, key)
	switch {
	case err != nil:
		return ref, fmt.Errorf("escrow %s: %w", ref.URL, err)
	case !found:
		return ref, fmt.Errorf("%s: %w", ref.URL, ErrNotEscrowed)
	case size > 0 && got != size:
		return ref, fmt.Errorf("%s: %d bytes, the deploy recorded %d: %w", ref.URL, got, size, ErrNotEscrowed)
	}
	ref.Size = got
	return ref, nil
}

// Fetch downloads the artifact sha256 (of size bytes when size > 0) into dst (mode 0755) and verifies it
// before it takes dst's name: an object that does not hash to sha is refused (ErrEscrowCorrupt) and
// nothing is left at dst.
func (e Escrow) Fetch(ctx context.Context, sha string, size int64, dst string) (deploy.EscrowRef, error) {
	if !hexSHA.MatchString(sha) {
		return deploy.EscrowRef{}, fmt.Errorf("escrow: sha256 %q is not 64 hex digits", sha)
	}
	key := deploy.StoreKey(sha)
	ref := deploy.EscrowRef{URL: e.Store.URL(key), Size: size}
	body, err := e.Store.Get(ctx, key)
	if err != nil {
		return ref, fmt.Errorf("escrow fetch %s: %w", ref.URL, err)
	}
	defer body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".escrow-*")
	if err != nil {
		return ref, fmt.Errorf("escrow fetch %s: %w", ref.URL, err)
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ref, fmt.Errorf("escrow fetch %s: %w", ref.URL, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha || (size > 0 && n != size) {
		return ref, fmt.Errorf("%s: %d bytes hashing to %s, want %d bytes of %s: refused: %w", ref.URL, n, got, size, sha, ErrEscrowCorrupt)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return ref, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return ref, fmt.Errorf("escrow fetch %s: %w", ref.URL, err)
	}
	ref.Size = n
	return ref, nil
}

// keepReleases escrows the release of every tier plan (each artifact once) before anything runs: a
// release that cannot be kept for recovery is not deployed. It returns the objects by sha256 for the
// audit records (nil without an escrow).
func keepReleases(ctx context.Context, conn *Conn, tps []tierPlan) (map[string]deploy.EscrowRef, error) {
	if conn.EscrowErr != nil {
		return nil, fmt.Errorf("release escrow of stack %s: %w", conn.Inventory.Stack, conn.EscrowErr)
	}
	if conn.Escrow == nil {
		return nil, nil
	}
	refs := map[string]deploy.EscrowRef{}
	for _, tp := range tps {
		if _, ok := refs[tp.release.SHA256]; ok {
			continue
		}
		ref, _, err := conn.Escrow.Keep(ctx, tp.release)
		if err != nil {
			return nil, err
		}
		refs[tp.release.SHA256] = ref
	}
	return refs, nil
}

// openEscrow opens the stack's escrow through open (nil: none is kept).
func openEscrow(ctx context.Context, open EscrowOpener, req EscrowRequest, c interface{ Name() string }) (*Escrow, error) {
	if open == nil {
		return nil, nil
	}
	if c != nil {
		req.Cloud = c.Name()
	}
	st, err := open(ctx, req)
	if err != nil || st == nil {
		return nil, err
	}
	return &Escrow{Store: st}, nil
}
