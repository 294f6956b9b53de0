package deploytest

import (
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
type Store struct {
	Mem     *s3mem.Backend
	URL     string
	In, Out atomic.Int64
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
			w = countingWriter{w, &e.Out}
		}
		s3h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
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
