package blobstore_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/blobstore/blobstoretest"
)

func TestConformanceFile(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) *blobstore.Store {
		s, err := blobstore.Open(context.Background(), "file://"+t.TempDir()+"?metadata=skip")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestConformanceMem(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) *blobstore.Store {
		s, err := blobstore.Open(context.Background(), "mem://")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// The real cloud.google.com/go/storage client against fake-gcs-server on loopback.
func TestConformanceGCSEmulatorClient(t *testing.T) {
	n := 0
	blobstoretest.Run(t, func(t *testing.T) *blobstore.Store {
		n++
		bucket := fmt.Sprintf("vault-%d", n)
		srv := blobstoretest.GCSServer(t, bucket)
		s, err := blobstore.FromGCSClient(context.Background(), srv.Client(), bucket)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// gs:// URLs through blobstore.Open, with STORAGE_EMULATOR_HOST pointing the GCS client at the emulator.
func TestConformanceGCSURL(t *testing.T) {
	n := 0
	blobstoretest.Run(t, func(t *testing.T) *blobstore.Store {
		n++
		bucket := fmt.Sprintf("vault-url-%d", n)
		srv := blobstoretest.GCSServer(t, bucket)
		u, err := url.Parse(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
		s, err := blobstore.Open(context.Background(), "gs://"+bucket)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	for _, u := range []string{"ftp://x", "/just/a/path", "azblob://c"} {
		if _, err := blobstore.Open(context.Background(), u); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

func TestRedact(t *testing.T) {
	got := blobstore.Redact("s3://user:pw@bucket?region=eu-west-1&secret_key=abc")
	if strings.Contains(got, "pw") || strings.Contains(got, "abc") || !strings.Contains(got, "region=eu-west-1") {
		t.Fatalf("Redact = %q", got)
	}
}
