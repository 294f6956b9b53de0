package deploytest

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// StoreBucket is the bucket of the S3 emulator StartStore serves.
const StoreBucket = "plinth-artifacts"

// Store is an S3 emulator (gofakes3) on 127.0.0.1 that counts the object bytes it receives (PUT bodies)
// and serves (GET bodies of objects).
//
// gofakes3 checks no signature and no expiry of a presigned URL, and neither does moto's server (5.2.1: it
// serves an altered or expired presigned GET with 200, and with its IAM auth on answers every presigned GET
// with 500). What plinth must do when S3 refuses a fetch is tested with RefuseGets instead.
type Store struct {
	Mem     *s3mem.Backend
	URL     string
	In, Out atomic.Int64
	// RefuseGets, when not 0, is the HTTP status every object GET is answered with (an S3 error document,
	// code AccessDenied for 403): what S3 answers a presigned URL past its X-Amz-Expires or with an altered
	// signature. A refused GET serves no bytes.
	RefuseGets atomic.Int32
}

// StartStore serves an S3 emulator with StoreBucket until the test ends.
func StartStore(t testing.TB) *Store {
	t.Helper()
	e := &Store{Mem: s3mem.New()}
	if err := e.Mem.CreateBucket(StoreBucket); err != nil {
		t.Fatal(err)
	}
	s3h := gofakes3.New(e.Mem).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			r.Body = countingBody{r.Body, &e.In}
		}
		if r.Method == http.MethodGet && strings.Contains(strings.Trim(r.URL.Path, "/"), "/") {
			if code := int(e.RefuseGets.Load()); code != 0 {
				refuse(w, code, r.URL.Path)
				return
			}
			w = countingWriter{w, &e.Out}
		}
		s3h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

// refuse answers an S3 error document with code (AccessDenied for 403, as S3 refuses an expired presigned URL).
func refuse(w http.ResponseWriter, code int, resource string) {
	name := "AccessDenied"
	if code != http.StatusForbidden {
		name = strings.ReplaceAll(http.StatusText(code), " ", "")
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>"+name+
		"</Code><Message>refused by the test store</Message><Resource>"+html.EscapeString(resource)+"</Resource></Error>")
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}
