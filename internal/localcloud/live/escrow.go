package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"
)

// The live release escrow: the local cloud's S3 bucket of released artifacts (the program's release escrow,
// a record in the local cloud) as a real object store — an S3 emulator (gofakes3) keeping its objects in
// one bbolt file under <live dir>/escrow, served on 127.0.0.1 to the operator's plinth (`plinth deploy`
// keeps each release there; the drill fetches it back). Buckets are made on first use: the stack's escrow
// bucket is named by its inventory. Requests must be signed (SigV4, escrowauth.go) with the escrow's access
// key (written 0600 beside the objects, like the vault's tokens); the emulator speaks plain HTTP on the
// loopback (the DR region's hosts do not fetch from it: the drill pushes over SSH).
//
//	go live.RunEscrow(ctx, dir)        // in the live server's process (plinth local serve)
//	info, err := live.ReadEscrow(dir)  // endpoint and access key, while it runs

// EscrowInfo is how the operator reaches the escrow.
type EscrowInfo struct {
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// EscrowRegion is the region the local escrow answers as.
const EscrowRegion = "us-east-1"

// ErrEscrowNotServed: no live escrow runs for this live cloud directory.
var ErrEscrowNotServed = errors.New("the live local cloud serves no release escrow")

func escrowDir(dir string) string { return filepath.Join(dir, "escrow") }

// RunEscrow serves the escrow of the live cloud directory dir on a loopback port until ctx ends, with its
// endpoint and key in escrow/endpoint.json (removed when it stops).
func RunEscrow(ctx context.Context, dir string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("live escrow: %w", err)
	}
	e, err := ServeEscrow(dir, l)
	if err != nil {
		_ = l.Close()
		return err
	}
	<-ctx.Done()
	return e.Close()
}

// Escrow is a running escrow.
type Escrow struct {
	srv  *http.Server
	db   *bolt.DB
	info EscrowInfo
	dir  string
}

// ServeEscrow serves the escrow of dir on l.
func ServeEscrow(dir string, l net.Listener) (*Escrow, error) {
	ed := escrowDir(dir)
	if err := os.MkdirAll(ed, 0o700); err != nil {
		return nil, fmt.Errorf("live escrow: %w", err)
	}
	key, err := escrowKey(ed)
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(filepath.Join(ed, "objects.bolt"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("live escrow: %w", err)
	}
	s3 := gofakes3.New(s3bolt.New(db), gofakes3.WithAutoBucket(true), gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	e := &Escrow{db: db, dir: ed, info: key}
	e.info.Endpoint, e.info.Region = "http://"+l.Addr().String(), EscrowRegion
	e.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := verifySigV4(r, e.info.AccessKeyID, e.info.SecretAccessKey, time.Now()); err != nil {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>%s</Message></Error>`, html.EscapeString(err.Error()))
			return
		}
		s3.ServeHTTP(w, r)
	})}
	b, err := json.Marshal(e.info)
	if err == nil {
		err = writeAtomic(filepath.Join(ed, "endpoint.json"), b)
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("live escrow: %w", err)
	}
	go func() { _ = e.srv.Serve(l) }()
	return e, nil
}

// Info is the escrow's endpoint and key.
func (e *Escrow) Info() EscrowInfo { return e.info }

// Close stops serving; the objects stay.
func (e *Escrow) Close() error {
	_ = os.Remove(filepath.Join(e.dir, "endpoint.json"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(e.srv.Shutdown(ctx), e.db.Close())
}

// ReadEscrow returns the endpoint and key of the escrow serving dir (ErrEscrowNotServed when none).
func ReadEscrow(dir string) (EscrowInfo, error) {
	b, err := os.ReadFile(filepath.Join(escrowDir(dir), "endpoint.json"))
	if errors.Is(err, os.ErrNotExist) {
		return EscrowInfo{}, fmt.Errorf("%w (%s): a live server of an older plinth? restart it: plinth local stop, then plinth local start", ErrEscrowNotServed, dir)
	}
	if err != nil {
		return EscrowInfo{}, fmt.Errorf("live escrow: %w", err)
	}
	var info EscrowInfo
	if err := json.Unmarshal(b, &info); err != nil || info.Endpoint == "" || info.AccessKeyID == "" {
		return EscrowInfo{}, fmt.Errorf("live escrow: %s: unreadable", filepath.Join(escrowDir(dir), "endpoint.json"))
	}
	return info, nil
}

// escrowKey is the escrow's access key, made on first use and kept (0600) in key.json.
func escrowKey(ed string) (EscrowInfo, error) {
	path := filepath.Join(ed, "key.json")
	var k EscrowInfo
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &k) == nil && k.AccessKeyID != "" && k.SecretAccessKey != "" {
		return EscrowInfo{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}, nil
	}
	id, secret := make([]byte, 10), make([]byte, 20)
	if _, err := rand.Read(id); err != nil {
		return k, err
	}
	if _, err := rand.Read(secret); err != nil {
		return k, err
	}
	k = EscrowInfo{AccessKeyID: "PLINTH" + strings.ToUpper(hex.EncodeToString(id)), SecretAccessKey: hex.EncodeToString(secret)}
	b, err := json.Marshal(k)
	if err == nil {
		err = writeAtomic(path, b)
	}
	if err != nil {
		return k, fmt.Errorf("live escrow: %w", err)
	}
	return k, nil
}
