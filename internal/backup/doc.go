// Package backup is plinth's backup engine: a consistent logical dump of MySQL/MariaDB, streamed per table
// through s2 or zstd (codec.go; the manifest records which) and age (X25519 recipients) into object storage,
// with a manifest written last as the commit marker; verify, restore, list and prune read it back. The pure
// parts live in manifest/ and retention/.
//
// Layout of one backup under the store (<z>: the codec's extension, s2 or zst):
//
//	<id>/schema.json.<z>.age                     databases and table definitions
//	<id>/data/<schema>.<table>.<part>.tsv.<z>.age rows in LOAD DATA format, ~PartSize plaintext bytes each
//	<id>/manifest.age                            the manifest, encrypted (verify compares it)
//	<id>/manifest.json                           the manifest: written last, the commit marker
//	<id>/verified.json                           written by a successful verify
package backup

import (
	"context"
	"errors"
	"io"

	"github.com/plinth-dev/plinth/internal/blobstore"
)

// Store is the object storage the engine needs; *blobstore.Store implements it.
type Store interface {
	Create(ctx context.Context, key string) (blobstore.Writer, error)
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	List(ctx context.Context, prefix string) ([]blobstore.Object, error)
	Dirs(ctx context.Context, prefix string) ([]string, error)
	Delete(ctx context.Context, key string) error
	String() string
}

// Errors callers (and exit codes) distinguish.
var (
	ErrIncomplete     = errors.New("backup incomplete: no manifest")
	ErrWrongKey       = errors.New("wrong key")
	ErrTampered       = errors.New("object does not match the manifest")
	ErrVerifyFailed   = errors.New("verification failed")
	ErrTargetNotEmpty = errors.New("target database not empty")
	ErrNotFound       = errors.New("backup not found")
)

// Logf reports progress; nil discards.
type Logf func(format string, args ...any)

func (l Logf) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}
