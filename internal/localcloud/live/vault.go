package live

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// The live vault: the backup bucket as a long-lived GCS emulator (fake-gcs-server, objects kept under a
// directory), served over HTTPS with a certificate from the live CA, behind a gate that honours what the
// program set on the bucket:
//   - the retention policy: deleting or overwriting an object younger than Retention is refused (403), for
//     every identity;
//   - the identities, by bearer token: the writer may only create objects (a list, an overwrite, a delete or
//     a read is refused, but for reading the binlog chain's indexes, head hints and beats, which the
//     streamers of several workers hand over by); the restore identity may only read and list; the admin identity (optional:
//     the platform's own, for lifecycle) may also delete and overwrite, retention permitting.
//
// Anything else (bucket changes, ACLs, rewrite/compose, the emulator's _internal endpoints) is refused.
//
//	v, err := dt.ServeVault(l, live.VaultOptions{Bucket: b, Retention: r, WriterToken: w, RestoreToken: rt, Dir: d})
//	client, _ := storage.NewClient(ctx, option.WithEndpoint(v.Endpoint()), option.WithHTTPClient(...bearer...))
//	dt.Vault() // status: bucket, published URL

// VaultOptions configure the vault.
type VaultOptions struct {
	Bucket    string
	Retention time.Duration
	// Bearer tokens of the identities; AdminToken may be empty (no admin).
	WriterToken, RestoreToken, AdminToken string
	// Dir keeps the objects (they outlive a restart); empty keeps them in memory.
	Dir string
}

// Vault identities.
const (
	VaultWriter  = "writer"
	VaultRestore = "restore"
	VaultAdmin   = "admin"
)

// Vault is a running vault.
type Vault struct {
	opts VaultOptions
	gcs  *fakestorage.Server
	srv  *http.Server
	url  string
	now  func() time.Time
	// tokenFiles are the identities' token files (identity -> path), when written.
	tokenFiles map[string]string
	// platform: the vault also serves on the platform's internet (serveAlso).
	platform bool
}

// VaultStatus is the vault as `plinth local status` shows it.
type VaultStatus struct {
	Bucket           string `json:"bucket"`
	URL              string `json:"url"`
	RetentionSeconds int64  `json:"retentionSeconds"`
	// Endpoint is the JSON API's base URL; TokenFiles the writer's and restore identity's token files.
	Endpoint string `json:"endpoint"`
	// PlatformEndpoint is the JSON API's base URL on the platform's internet (the edge namespace), which
	// the hosts whose egress rules allow HTTPS reach (the worker tier's backup units).
	PlatformEndpoint string            `json:"platformEndpoint,omitempty"`
	TokenFiles       map[string]string `json:"tokenFiles,omitempty"`
}

// ServeVault serves the vault on l (a 127.0.0.1 listener or one opened in a host's namespace with ListenIn)
// until the tier closes.
func (dt *DataTier) ServeVault(l net.Listener, o VaultOptions) (*Vault, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	addr, err := netip.ParseAddrPort(l.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("vault %s: listener %s: %w", o.Bucket, l.Addr(), err)
	}
	dir := filepath.Join(dt.p.dir, "vault", o.Bucket)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault %s: %w", o.Bucket, err)
	}
	if err := dt.p.ca.issue(filepath.Join(dir, "vault.pem"), []string{"localhost", "storage.plinth.internal"},
		[]netip.Addr{addr.Addr(), vaultAddr}); err != nil {
		return nil, fmt.Errorf("vault %s: %w", o.Bucket, err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "vault.pem"), filepath.Join(dir, "vault.pem"))
	if err != nil {
		return nil, fmt.Errorf("vault %s: %w", o.Bucket, err)
	}
	url := "https://" + addr.String()
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, StorageRoot: o.Dir,
		ExternalURL: url, PublicHost: addr.String(), Scheme: "https", Writer: io.Discard})
	if err != nil {
		return nil, fmt.Errorf("vault %s: emulator: %w", o.Bucket, err)
	}
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: o.Bucket})
	v := &Vault{opts: o, gcs: gcs, url: url, now: time.Now}
	v.srv = &http.Server{Handler: v, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go func() { _ = v.srv.Serve(tls.NewListener(l, v.srv.TLSConfig)) }()
	dt.mu.Lock()
	dt.vaults = append(dt.vaults, v)
	dt.mu.Unlock()
	return v, nil
}

func (o VaultOptions) validate() error {
	var errs []error
	if !bucketRE.MatchString(o.Bucket) {
		errs = append(errs, fmt.Errorf("vault: bucket %q: want a GCS bucket name", o.Bucket))
	}
	if o.Retention < 0 {
		errs = append(errs, fmt.Errorf("vault %s: retention %s: want >= 0", o.Bucket, o.Retention))
	}
	tokens := map[string]string{VaultWriter: o.WriterToken, VaultRestore: o.RestoreToken, VaultAdmin: o.AdminToken}
	seen := map[string]string{}
	for _, id := range []string{VaultWriter, VaultRestore, VaultAdmin} {
		t := tokens[id]
		if t == "" && id == VaultAdmin {
			continue
		}
		if len(t) < 16 {
			errs = append(errs, fmt.Errorf("vault %s: %s token: want at least 16 characters", o.Bucket, id))
		} else if other := seen[t]; other != "" {
			errs = append(errs, fmt.Errorf("vault %s: %s token: the same as the %s token", o.Bucket, id, other))
		}
		seen[t] = id
	}
	return errors.Join(errs...)
}

// URL is the vault's HTTPS origin; Endpoint the JSON API endpoint for storage.NewClient's WithEndpoint.
func (v *Vault) URL() string      { return v.url }
func (v *Vault) Endpoint() string { return v.url + "/storage/v1/" }

// Close stops serving; the objects stay in Dir.
func (v *Vault) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := v.srv.Shutdown(ctx)
	v.gcs.Stop()
	return err
}

// Vault reports the first vault (nil when none runs).
func (dt *DataTier) Vault() *VaultStatus {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if len(dt.vaults) == 0 {
		return nil
	}
	v := dt.vaults[0]
	st := &VaultStatus{Bucket: v.opts.Bucket, URL: v.url, RetentionSeconds: int64(v.opts.Retention / time.Second),
		Endpoint: v.Endpoint(), TokenFiles: v.tokenFiles}
	if v.platform {
		st.PlatformEndpoint = PlatformVaultEndpoint()
	}
	return st
}

func (dt *DataTier) closeVaults() error {
	var errs []error
	for _, v := range dt.vaults {
		errs = append(errs, v.Close())
	}
	dt.vaults = nil
	return errors.Join(errs...)
}

// identity returns who presents the request's bearer token ("" for nobody).
func (v *Vault) identity(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return ""
	}
	for id, want := range map[string]string{VaultWriter: v.opts.WriterToken, VaultRestore: v.opts.RestoreToken, VaultAdmin: v.opts.AdminToken} {
		if want != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1 {
			return id
		}
	}
	return ""
}

// ServeHTTP authenticates, authorises and applies the retention policy, then hands the request to the
// emulator.
func (v *Vault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := v.identity(r)
	if id == "" {
		gcsError(w, http.StatusUnauthorized, "vault: a bearer token of the writer, restore or admin identity is required")
		return
	}
	op := classifyVaultRequest(r.Method, r.URL.EscapedPath(), r.URL.Query())
	if op.Kind == opOther || (op.Bucket != "" && op.Bucket != v.opts.Bucket) {
		gcsError(w, http.StatusForbidden, fmt.Sprintf("vault: %s %s is not allowed on this bucket", r.Method, r.URL.Path))
		return
	}
	if !allowed(id, op) {
		gcsError(w, http.StatusForbidden, fmt.Sprintf("vault: the %s identity may not %s", id, op.Kind))
		return
	}
	if op.Kind == opCreate && op.Object == "" {
		name, err := uploadName(r)
		if err != nil {
			gcsError(w, http.StatusBadRequest, "vault: "+err.Error())
			return
		}
		op.Object = name
	}
	if op.Kind == opCreate && r.URL.Query().Get("ifGenerationMatch") == "0" && v.exists(op.Object) {
		// A conditional create (DoesNotExist) of an existing object: GCS answers 412 whoever asks, and the
		// one who created it first keeps it (a worker claiming a backup slot).
		gcsError(w, http.StatusPreconditionFailed, fmt.Sprintf("vault: object %q exists (ifGenerationMatch=0)", op.Object))
		return
	}
	if op.Kind == opCreate || op.Kind == opDelete {
		if msg := v.protected(id, op); msg != "" {
			gcsError(w, http.StatusForbidden, msg)
			return
		}
	}
	v.gcs.HTTPHandler().ServeHTTP(&locationRewriter{ResponseWriter: w, from: v.url, to: "https://" + r.Host}, r)
}

// locationRewriter points the emulator's Location headers (a resumable upload's session URL, built from
// its one external URL) at the origin the client used: the operator's 127.0.0.1 port, or the platform's
// internet address a worker uses.
type locationRewriter struct {
	http.ResponseWriter
	from, to string
	done     bool
}

func (l *locationRewriter) rewrite() {
	if l.done {
		return
	}
	l.done = true
	if loc := l.Header().Get("Location"); strings.HasPrefix(loc, l.from) && l.to != l.from {
		l.Header().Set("Location", l.to+strings.TrimPrefix(loc, l.from))
	}
}

func (l *locationRewriter) WriteHeader(code int) {
	l.rewrite()
	l.ResponseWriter.WriteHeader(code)
}

func (l *locationRewriter) Write(b []byte) (int, error) {
	l.rewrite()
	return l.ResponseWriter.Write(b)
}

// serveAlso serves the vault on a second listener (the platform's internet address in the edge namespace).
func (v *Vault) serveAlso(l net.Listener) {
	go func() { _ = v.srv.Serve(tls.NewListener(l, v.srv.TLSConfig)) }()
}

// exists reports whether object is in the bucket.
func (v *Vault) exists(object string) bool {
	obj, err := v.gcs.GetObjectStreaming(v.opts.Bucket, object)
	if err != nil {
		return false
	}
	_ = obj.Close()
	return true
}

// protected refuses a delete or overwrite the identity or the retention policy forbids.
func (v *Vault) protected(id string, op vaultOp) string {
	obj, err := v.gcs.GetObjectStreaming(v.opts.Bucket, op.Object)
	if err != nil {
		return "" // nothing there: a create; a delete answers 404
	}
	created := obj.Created
	_ = obj.Close()
	if op.Kind == opCreate && id != VaultAdmin {
		return fmt.Sprintf("vault: object %q exists: the %s identity may not overwrite", op.Object, id)
	}
	if until := created.Add(v.opts.Retention); v.now().Before(until) {
		return fmt.Sprintf("vault: object %q is subject to the bucket's retention policy and cannot be deleted or overwritten until %s",
			op.Object, until.UTC().Format(time.RFC3339))
	}
	return ""
}

func gcsError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"errors": []map[string]string{{"message": msg, "reason": http.StatusText(code)}}}})
}
