package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
)

// Operations the vault's gate knows; every other request is opOther and refused.
const (
	opList     = "list"
	opRead     = "read"
	opCreate   = "create"
	opContinue = "continue an upload"
	opDelete   = "delete"
	opOther    = "other"
)

// vaultOp is what a request does: its kind, bucket and object (when the path names them).
type vaultOp struct {
	Kind   string
	Bucket string
	Object string
}

var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$`)

// allowed is the identities' policy: the writer only creates, and reads only the binlog chain's plaintext
// coordination objects (segment indexes, head hints, beats: manifest.WriterReadable, so that a standby
// streamer finds the head and sees its leader alive, never a segment's data); the restore identity only reads
// and lists; the admin does both and deletes (the retention policy still applies).
func allowed(id string, op vaultOp) bool {
	kind := op.Kind
	switch id {
	case VaultWriter:
		return kind == opCreate || kind == opContinue || kind == opRead && op.Object != "" && manifest.WriterReadable(op.Object)
	case VaultRestore:
		return kind == opRead || kind == opList
	case VaultAdmin:
		return kind != opOther
	}
	return false
}

// classifyVaultRequest maps a GCS API request (JSON API, its upload and download paths, the XML API's
// path-style reads) to an operation. Pure.
func classifyVaultRequest(method, escapedPath string, q url.Values) vaultOp {
	seg := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	unesc := func(s string) string {
		if u, err := url.PathUnescape(s); err == nil {
			return u
		}
		return s
	}
	read := method == http.MethodGet || method == http.MethodHead
	object := func(from int) string { return unesc(strings.Join(seg[from:], "/")) }
	switch {
	// /storage/v1/b/{bucket}[/o[/{object}]]
	case len(seg) >= 4 && seg[0] == "storage" && seg[1] == "v1" && seg[2] == "b":
		b := unesc(seg[3])
		switch {
		case len(seg) == 4 && read:
			return vaultOp{Kind: opRead, Bucket: b}
		case len(seg) >= 5 && seg[4] == "o" && (len(seg) == 5 || len(seg) == 6 && seg[5] == "") && method == http.MethodGet:
			return vaultOp{Kind: opList, Bucket: b}
		case len(seg) >= 6 && seg[4] == "o" && seg[5] != "" && !strings.Contains(object(5), "/acl") && !strings.Contains(escapedPath, "/rewriteTo/") &&
			!strings.Contains(escapedPath, "/copyTo/") && !strings.HasSuffix(escapedPath, "/compose"):
			switch {
			case read:
				return vaultOp{Kind: opRead, Bucket: b, Object: object(5)}
			case method == http.MethodDelete:
				return vaultOp{Kind: opDelete, Bucket: b, Object: object(5)}
			}
		}
	// /download/storage/v1/b/{bucket}/o/{object}
	case len(seg) >= 7 && seg[0] == "download" && seg[1] == "storage" && seg[3] == "b" && seg[5] == "o" && read:
		return vaultOp{Kind: opRead, Bucket: unesc(seg[4]), Object: object(6)}
	// /upload/storage/v1/b/{bucket}/o[/]
	case len(seg) >= 6 && seg[0] == "upload" && seg[1] == "storage" && seg[3] == "b" && seg[5] == "o" && (len(seg) == 6 || len(seg) == 7 && seg[6] == ""):
		b := unesc(seg[4])
		switch {
		case method == http.MethodPost:
			return vaultOp{Kind: opCreate, Bucket: b, Object: q.Get("name")}
		case method == http.MethodPut && q.Get("upload_id") != "":
			return vaultOp{Kind: opContinue, Bucket: b}
		}
	// /upload/resumable/{id}
	case len(seg) == 3 && seg[0] == "upload" && seg[1] == "resumable" && (method == http.MethodPut || method == http.MethodPost):
		return vaultOp{Kind: opContinue}
	// XML API path-style reads: /{bucket}/{object}
	case len(seg) >= 2 && read && seg[0] != "_internal" && seg[0] != "storage" && seg[0] != "upload" && seg[0] != "batch":
		return vaultOp{Kind: opRead, Bucket: unesc(seg[0]), Object: object(1)}
	}
	return vaultOp{Kind: opOther}
}

// maxMultipart bounds the single-request uploads the gate reads to find the object's name (the Go client
// switches to resumable uploads, whose first request is only metadata, above its 16 MiB chunk).
const maxMultipart = 64 << 20

// uploadName reads the object name of an upload whose query does not carry it: from the metadata part of a
// multipart upload or the JSON body of a resumable one. The body is put back for the emulator.
func uploadName(r *http.Request) (string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMultipart+1))
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	if len(body) > maxMultipart {
		return "", errors.New("upload: a single-request upload over 64 MiB: use a resumable upload")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	meta := body
	if strings.HasPrefix(mt, "multipart/") {
		part, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).NextPart()
		if err != nil {
			return "", fmt.Errorf("upload: multipart: %w", err)
		}
		if meta, err = io.ReadAll(part); err != nil {
			return "", fmt.Errorf("upload: multipart: %w", err)
		}
	}
	var m struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(meta, &m); err != nil || m.Name == "" {
		return "", errors.New("upload: no object name in the query or the metadata")
	}
	return m.Name, nil
}
