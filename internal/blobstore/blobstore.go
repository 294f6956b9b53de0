// Package blobstore is plinth's thin layer over gocloud.dev/blob: one Open(url) for gs://, s3://, file:// and
// mem://, streaming writers that can be aborted (nothing is committed), and errors that name the object.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file://
	"gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/memblob" // mem://
	_ "gocloud.dev/blob/s3blob"  // s3://
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

// ErrNotFound is returned (wrapped) when an object does not exist.
var ErrNotFound = errors.New("object not found")

// ErrPermissionDenied is returned (wrapped, with the service's message) when the store refuses the
// operation to the identity in use (a GCS 403: the vault's writer may not read, list, overwrite or delete;
// nobody deletes an object under retention).
var ErrPermissionDenied = errors.New("permission denied")

// Object describes one stored object.
type Object struct {
	Key     string    `json:"key"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modTime"`
}

// Writer streams one object. Close commits it; Abort discards it (nothing becomes visible).
type Writer interface {
	io.Writer
	Close() error
	Abort()
}

// Store is an opened bucket (optionally under a prefix).
type Store struct {
	b       *blob.Bucket
	name    string
	closeFn func() error
}

// Open opens a store by URL: gs://bucket, s3://bucket?region=..., file:///dir, mem://. A `prefix=` query
// parameter scopes every key under that prefix (gocloud's generic parameter).
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open store: parse url: %w", err)
	}
	switch u.Scheme {
	case "gs", "s3", "file", "mem":
	case "":
		return nil, fmt.Errorf("open store %q: missing scheme (want gs://, s3://, file:// or mem://)", Redact(rawURL))
	default:
		return nil, fmt.Errorf("open store %q: unsupported scheme %q (want gs, s3, file or mem)", Redact(rawURL), u.Scheme)
	}
	if u.Scheme == "gs" {
		return openGCS(ctx, u, Redact(rawURL))
	}
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", Redact(rawURL), err)
	}
	return &Store{b: b, name: Redact(rawURL)}, nil
}

// openGCS builds the Cloud Storage client itself: Application Default Credentials (workload identity
// federation from AWS included), STORAGE_EMULATOR_HOST honoured, and JSON-API reads (the XML read path
// mangles keys holding "/" on emulators). Query parameters: prefix; endpoint (the JSON API's base URL, e.g.
// the live local cloud's vault https://127.0.0.1:P/storage/v1/), ca_file (PEM roots that verify it) and
// token_file (a file holding a bearer token, sent instead of Application Default Credentials).
func openGCS(ctx context.Context, u *url.URL, name string) (*Store, error) {
	q := u.Query()
	for k := range q {
		switch k {
		case "prefix", "endpoint", "ca_file", "token_file":
		default:
			return nil, fmt.Errorf("open store %s: unsupported query parameter %q (gs:// takes prefix, endpoint, ca_file, token_file)", name, k)
		}
	}
	opts, err := gcsOptions(q.Get("endpoint"), q.Get("ca_file"), q.Get("token_file"))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", name, err)
	}
	client, err := storage.NewClient(ctx, append(opts, storage.WithJSONReads())...)
	if err != nil {
		return nil, fmt.Errorf("open store %s: gcs client: %w", name, err)
	}
	b, err := gcsblob.OpenBucket(ctx, nil, u.Host, &gcsblob.Options{Client: client})
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("open store %s: %w", name, err)
	}
	if p := u.Query().Get("prefix"); p != "" {
		b = blob.PrefixedBucket(b, p)
	}
	return &Store{b: b, name: name, closeFn: client.Close}, nil
}

// FromGCSClient opens bucket through an existing Cloud Storage client (e.g. one pointed at an emulator).
func FromGCSClient(ctx context.Context, client *storage.Client, bucket string) (*Store, error) {
	b, err := gcsblob.OpenBucket(ctx, nil, bucket, &gcsblob.Options{Client: client})
	if err != nil {
		return nil, fmt.Errorf("open store gs://%s: %w", bucket, err)
	}
	return &Store{b: b, name: "gs://" + bucket}, nil
}

// Redact drops credentials and secret-looking query parameters from a store URL for messages.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparseable url>"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "secret") || strings.Contains(lk, "key") || strings.Contains(lk, "token") {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// String names the store (credentials redacted).
func (s *Store) String() string { return s.name }

// Close releases the bucket.
func (s *Store) Close() error {
	err := s.b.Close()
	if s.closeFn != nil {
		if cerr := s.closeFn(); err == nil {
			err = cerr
		}
	}
	return err
}

type writer struct {
	s      *Store
	b      *blob.Bucket
	w      *blob.Writer
	cancel context.CancelFunc
	key    string
	done   bool
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", w.key, err)
	}
	return n, nil
}

func (w *writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	defer w.cancel()
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("commit %s: %w", w.key, w.s.wrap(err))
	}
	return nil
}

func (w *writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.cancel() // a cancelled context makes Close discard the upload
	_ = w.w.Close()
	// Some drivers (GCS single-shot uploads) may still have committed: remove it, best effort.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = w.b.Delete(ctx, w.key)
}

// Create starts writing key. Memory per writer is bounded by bufSize (0: 8 MiB).
func (s *Store) Create(ctx context.Context, key string) (Writer, error) {
	wctx, cancel := context.WithCancel(ctx)
	w, err := s.b.NewWriter(wctx, key, &blob.WriterOptions{BufferSize: 8 << 20, ContentType: "application/octet-stream"})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create %s: %w", key, s.wrap(err))
	}
	return &writer{s: s, b: s.b, w: w, cancel: cancel, key: key}, nil
}

// CreateIfAbsent writes data at key unless an object is there already, in which case it returns false and
// writes nothing: the store's conditional create (GCS ifGenerationMatch=0, S3 If-None-Match, an exclusive
// file), so of several callers racing for one key exactly one gets true. The vault's writer identity may do
// it: it only ever creates.
func (s *Store) CreateIfAbsent(ctx context.Context, key string, data []byte) (bool, error) {
	err := s.b.WriteAll(ctx, key, data, &blob.WriterOptions{IfNotExist: true, ContentType: "application/json"})
	switch {
	case gcerrors.Code(err) == gcerrors.FailedPrecondition:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("create %s: %w", key, s.wrap(err))
	}
	return true, nil
}

// Open streams key.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := s.b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, s.wrap(err))
	}
	return r, nil
}

// Stat returns an object's size and modification time.
func (s *Store) Stat(ctx context.Context, key string) (Object, error) {
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", key, s.wrap(err))
	}
	return Object{Key: key, Size: a.Size, ModTime: a.ModTime}, nil
}

// List returns every object under prefix (recursively), sorted by key.
func (s *Store) List(ctx context.Context, prefix string) ([]Object, error) {
	it := s.b.List(&blob.ListOptions{Prefix: prefix})
	var out []Object
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", prefix, s.wrap(err))
		}
		if o.IsDir {
			continue
		}
		out = append(out, Object{Key: o.Key, Size: o.Size, ModTime: o.ModTime})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Dirs returns the names of the "directories" directly under prefix (keys up to the next "/"), sorted.
func (s *Store) Dirs(ctx context.Context, prefix string) ([]string, error) {
	it := s.b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	var out []string
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", prefix, s.wrap(err))
		}
		if o.IsDir {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(o.Key, prefix), "/"))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Delete removes key; a missing key is ErrNotFound.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.b.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete %s: %w", key, s.wrap(err))
	}
	return nil
}

func (s *Store) wrap(err error) error {
	// gocloud's GCS driver reports a 403 as NotFound ("or it may not exist"): the service's own code decides.
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && gerr.Code == http.StatusForbidden {
		return fmt.Errorf("%w (%s): %s", ErrPermissionDenied, s.name, gerr.Message)
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return fmt.Errorf("%w (%s)", ErrNotFound, s.name)
	case gcerrors.PermissionDenied:
		return fmt.Errorf("%w (%s): %v", ErrPermissionDenied, s.name, err)
	}
	return err
}
