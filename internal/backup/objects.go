package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"

	"filippo.io/age"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/blobstore"
)

func objectKey(id, name string) string { return id + "/" + name }

// dataName is part part of table schema.table in a backup whose codec's extension is ext ("zst", "s2").
func dataName(schema, table string, part int, ext string) string {
	return fmt.Sprintf("data/%s.%s.%05d.tsv.%s.age", url.PathEscape(schema), url.PathEscape(table), part, ext)
}

type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// objWriter streams one object: plaintext -> bufio -> zstd or s2 -> age -> sha256/count -> store.
type objWriter struct {
	name  string
	bw    blobstore.Writer
	hw    *hashWriter
	aw    io.WriteCloser
	zw    compressor
	buf   *bufio.Writer
	plain int64
	rows  int64
}

// newObjWriter starts an object; zw and buf are the worker's reusable encoder and buffer (nil zw: no
// compression, used for the sealed manifest).
func newObjWriter(ctx context.Context, st Store, id, name string, rcpt Recipients, zw compressor, buf *bufio.Writer) (*objWriter, error) {
	bw, err := st.Create(ctx, objectKey(id, name))
	if err != nil {
		return nil, fmt.Errorf("backup %s: object %s: %w", id, name, err)
	}
	hw := &hashWriter{w: bw, h: sha256.New()}
	aw, err := age.Encrypt(hw, rcpt.list...)
	if err != nil {
		bw.Abort()
		return nil, fmt.Errorf("backup %s: object %s: encrypt: %w", id, name, err)
	}
	o := &objWriter{name: name, bw: bw, hw: hw, aw: aw, zw: zw, buf: buf}
	var sink io.Writer = aw
	if zw != nil {
		zw.Reset(aw)
		sink = zw
	}
	buf.Reset(sink)
	return o, nil
}

func (o *objWriter) Write(p []byte) (int, error) {
	n, err := o.buf.Write(p)
	o.plain += int64(n)
	return n, err
}

func (o *objWriter) finish(id string) (manifest.Object, error) {
	fail := func(step string, err error) (manifest.Object, error) {
		o.bw.Abort()
		return manifest.Object{}, fmt.Errorf("backup %s: object %s: %s: %w", id, o.name, step, err)
	}
	if err := o.buf.Flush(); err != nil {
		return fail("write", err)
	}
	if o.zw != nil {
		if err := o.zw.Close(); err != nil {
			return fail("compress", err)
		}
	}
	if err := o.aw.Close(); err != nil {
		return fail("encrypt", err)
	}
	if err := o.bw.Close(); err != nil {
		return fail("upload", err)
	}
	return manifest.Object{Name: o.name, Size: o.hw.n, SHA256: hex.EncodeToString(o.hw.h.Sum(nil)), PlainSize: o.plain, Rows: o.rows}, nil
}

func (o *objWriter) abort() { o.bw.Abort() }

type hashReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (r *hashReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	return n, err
}

// readObject streams object o of backup id: the ciphertext is hashed as it is read, decrypted with ids and
// (when dec is non-nil) decompressed with the backup's codec, and handed to consume. Afterwards the whole ciphertext must match the
// manifest's size and sha256. Errors name the backup and the object. commit, when non-nil, runs only after
// every check passed (restore commits its transaction there).
func readObject(ctx context.Context, st Store, id string, o manifest.Object, ids Identities, dec decompressor, consume func(io.Reader) error, commit func() error) error {
	rc, err := st.Open(ctx, objectKey(id, o.Name))
	if err != nil {
		return fmt.Errorf("backup %s: object %s: %w", id, o.Name, err)
	}
	defer rc.Close()
	hr := &hashReader{r: rc, h: sha256.New()}
	var decErr, useErr error
	ar, err := age.Decrypt(hr, ids.list...)
	if err != nil {
		decErr = err
	} else {
		var plain io.Reader = ar
		if dec != nil {
			if plain, err = dec.reset(ar); err != nil {
				decErr = err
			}
		}
		if decErr == nil {
			cr := &errTrackReader{r: plain}
			useErr = consume(cr)
			if useErr == nil {
				// Reach the end of the stream: age checks the final chunk there and zstd its frame (an s2
				// stream has no end marker: age's final chunk and the sha256 catch a truncation).
				if _, err := io.Copy(io.Discard, cr); err != nil {
					useErr = err
				}
			}
			if cr.err != nil {
				decErr, useErr = cr.err, nil
			}
		}
	}
	if _, err := io.Copy(io.Discard, hr); err != nil && decErr == nil && useErr == nil {
		return fmt.Errorf("backup %s: object %s: read: %w", id, o.Name, err)
	}
	sum := hex.EncodeToString(hr.h.Sum(nil))
	if sum != o.SHA256 || hr.n != o.Size {
		return fmt.Errorf("backup %s: object %s: %w: stored %d bytes sha256 %s, manifest says %d bytes sha256 %s",
			id, o.Name, ErrTampered, hr.n, sum[:16], o.Size, o.SHA256[:16])
	}
	if decErr != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(decErr, &nomatch) {
			return fmt.Errorf("backup %s: object %s: %w: no identity matches a recipient of the object", id, o.Name, ErrWrongKey)
		}
		return fmt.Errorf("backup %s: object %s: decrypt/decompress: %w", id, o.Name, decErr)
	}
	if useErr != nil {
		return fmt.Errorf("backup %s: object %s: %w", id, o.Name, useErr)
	}
	if commit != nil {
		if err := commit(); err != nil {
			return fmt.Errorf("backup %s: object %s: commit: %w", id, o.Name, err)
		}
	}
	return nil
}

// errTrackReader remembers the first non-EOF error of the decrypt/decompress stream, so that a consumer
// wrapping it (the SQL driver) cannot hide an authentication failure behind its own error.
type errTrackReader struct {
	r   io.Reader
	err error
}

func (r *errTrackReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}
