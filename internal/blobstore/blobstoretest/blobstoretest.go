// Package blobstoretest is the conformance suite every blobstore backend must pass (restic-style: one suite,
// many constructors), plus test helpers such as an in-process GCS emulator.
package blobstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/plinth-dev/plinth/internal/blobstore"
)

// Run exercises a store built by open (a fresh, empty store per call).
func Run(t *testing.T, open func(t *testing.T) *blobstore.Store) {
	ctx := context.Background()
	t.Run("PutGetStat", func(t *testing.T) {
		s := open(t)
		put(t, s, "a/b/one", []byte("hello"))
		if got := get(t, s, "a/b/one"); string(got) != "hello" {
			t.Fatalf("get = %q, want hello", got)
		}
		o, err := s.Stat(ctx, "a/b/one")
		if err != nil || o.Size != 5 || o.Key != "a/b/one" {
			t.Fatalf("stat = %+v, %v", o, err)
		}
		if time.Since(o.ModTime) > time.Hour || o.ModTime.IsZero() {
			t.Fatalf("modtime %v not recent", o.ModTime)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		if _, err := s.Open(ctx, "missing"); !errors.Is(err, blobstore.ErrNotFound) {
			t.Fatalf("open missing: %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, "missing"); !errors.Is(err, blobstore.ErrNotFound) {
			t.Fatalf("stat missing: %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "missing"); !errors.Is(err, blobstore.ErrNotFound) {
			t.Fatalf("delete missing: %v, want ErrNotFound", err)
		}
	})
	t.Run("ListAndDirs", func(t *testing.T) {
		s := open(t)
		for _, k := range []string{"b1/x", "b1/y/z", "b2/x", "top"} {
			put(t, s, k, []byte(k))
		}
		objs, err := s.List(ctx, "b1/")
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 2 || objs[0].Key != "b1/x" || objs[1].Key != "b1/y/z" || objs[1].Size != 6 {
			t.Fatalf("list b1/ = %+v", objs)
		}
		dirs, err := s.Dirs(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(dirs) != 2 || dirs[0] != "b1" || dirs[1] != "b2" {
			t.Fatalf("dirs = %v, want [b1 b2]", dirs)
		}
		all, err := s.List(ctx, "")
		if err != nil || len(all) != 4 {
			t.Fatalf("list all = %+v, %v", all, err)
		}
	})
	t.Run("AbortCommitsNothing", func(t *testing.T) {
		s := open(t)
		w, err := s.Create(ctx, "aborted")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(bytes.Repeat([]byte("x"), 1<<20)); err != nil {
			t.Fatal(err)
		}
		w.Abort()
		if _, err := s.Stat(ctx, "aborted"); !errors.Is(err, blobstore.ErrNotFound) {
			t.Fatalf("aborted object visible: %v", err)
		}
		objs, err := s.List(ctx, "")
		if err != nil || len(objs) != 0 {
			t.Fatalf("list after abort = %+v, %v", objs, err)
		}
	})
	t.Run("LargeStreaming", func(t *testing.T) {
		s := open(t)
		data := make([]byte, 20<<20+7)
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		w, err := s.Create(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += 1 << 16 {
			end := min(off+1<<16, len(data))
			if _, err := w.Write(data[off:end]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, "big"); !bytes.Equal(got, data) {
			t.Fatalf("big object differs (len %d vs %d)", len(got), len(data))
		}
	})
	t.Run("OverwriteAndDelete", func(t *testing.T) {
		s := open(t)
		put(t, s, "k", []byte("one"))
		put(t, s, "k", []byte("two"))
		if got := get(t, s, "k"); string(got) != "two" {
			t.Fatalf("overwrite: %q", got)
		}
		if err := s.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, "k"); !errors.Is(err, blobstore.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})
}

func put(t *testing.T, s *blobstore.Store, key string, data []byte) {
	t.Helper()
	w, err := s.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, s *blobstore.Store, key string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// GCSServer starts an in-process GCS emulator (fake-gcs-server) on a 127.0.0.1 port, with bucket created.
// It is stopped when the test ends. Use srv.Client() for a real *storage.Client pointed at it, or set
// STORAGE_EMULATOR_HOST to srv.URL()'s host to exercise blobstore.Open("gs://bucket").
func GCSServer(t testing.TB, bucket string) *fakestorage.Server {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Host:   "127.0.0.1",
		Port:   0,
		Scheme: "http",
		Writer: io.Discard,
	})
	if err != nil {
		t.Fatalf("start fake GCS: %v", err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	return srv
}
