package backup

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"golang.org/x/sync/errgroup"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// VerifyOptions configure a verification.
type VerifyOptions struct {
	Store      Store
	ID         string
	Identities Identities
	Workers    int
	// RestoreInto, when set, restores the backup into this (scratch) server and compares every table's
	// rows and hash with the manifest.
	RestoreInto *sql.DB
	Rename      map[string]string
	Force       bool
	// Mark writes <id>/verified.json on success (prune never removes the newest verified backup). A failed
	// verification is recorded there whatever Mark says: it replaces any earlier success marker.
	Mark bool
	// MarkStore is where the markers are written when the identity reading Store may not write (a vault's
	// restore identity only reads: its writer identity creates); nil: Store.
	MarkStore Store
	Tool      string
	Now       func() time.Time
	Log       Logf
}

// ObjectCheck is one object's result.
type ObjectCheck struct {
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// TableCheck is one table's result.
type TableCheck struct {
	Table        string `json:"table"`
	Rows         int64  `json:"rows"`
	Hash         string `json:"hash"`
	StreamOK     bool   `json:"streamOk"`
	RestoredRows *int64 `json:"restoredRows,omitempty"`
	RestoredHash string `json:"restoredHash,omitempty"`
	OK           bool   `json:"ok"`
	Error        string `json:"error,omitempty"`
}

// VerifyReport is the outcome of a verification.
type VerifyReport struct {
	ID             string        `json:"id"`
	OK             bool          `json:"ok"`
	Objects        []ObjectCheck `json:"objects"`
	Tables         []TableCheck  `json:"tables"`
	SealedManifest bool          `json:"sealedManifestOk"`
	RestoreChecked bool          `json:"restoreChecked"`
	Marked         bool          `json:"marked"`
	MarkedFailed   bool          `json:"markedFailed"`
	// Binlog is the check of the binlog chain from this backup's snapshot, or why there is none (Unavailable).
	Binlog   *ChainReport  `json:"binlog,omitempty"`
	Bytes    int64         `json:"bytes"`
	Duration time.Duration `json:"durationNs"`
}

// Verify reads back every object of a backup, checking size and sha256 of the ciphertext, decrypting,
// decompressing, recounting and rehashing each table's rows against the manifest; optionally it restores
// into a scratch server and compares the restored tables. The report is returned with an error wrapping
// ErrVerifyFailed (naming the first bad object) when anything is wrong.
func Verify(ctx context.Context, o VerifyOptions) (*VerifyReport, error) {
	start := time.Now()
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, body, err := ReadManifest(ctx, o.Store, o.ID)
	if err != nil {
		return nil, err
	}
	if err := checkRecipients(m, o.Identities); err != nil {
		return nil, err
	}
	rep := &VerifyReport{ID: m.ID}
	var failures []error

	// The sealed copy must decrypt to the very same bytes.
	if err := checkSealed(ctx, o.Store, m.ID, body, o.Identities); err != nil {
		failures = append(failures, err)
	} else {
		rep.SealedManifest = true
	}
	if _, err := readSchema(ctx, o.Store, m, o.Identities); err != nil {
		failures = append(failures, err)
	}

	type acc struct {
		rows int64
		sum  uint64
		bad  bool
	}
	partTable := map[string]string{}
	for _, t := range m.Tables {
		for _, p := range t.Parts {
			partTable[p] = t.String()
		}
	}
	accs := map[string]*acc{}
	for _, t := range m.Tables {
		accs[t.String()] = &acc{}
	}
	checks := make([]ObjectCheck, len(m.Objects))
	var mu sync.Mutex
	ch := make(chan int)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(ch)
		for i := range m.Objects {
			select {
			case ch <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for w := 0; w < o.Workers; w++ {
		g.Go(func() error {
			dec, err := newDecompressor(m.Compression)
			if err != nil {
				return fmt.Errorf("backup %s: %w", m.ID, err)
			}
			defer dec.close()
			for i := range ch {
				ob := m.Objects[i]
				table, isData := partTable[ob.Name]
				var rows int64
				var sum uint64
				err := readObject(gctx, o.Store, m.ID, ob, o.Identities, dec, func(r io.Reader) error {
					if !isData {
						return nil
					}
					var err error
					rows, sum, err = hashLines(r)
					if err == nil && rows != ob.Rows {
						err = fmt.Errorf("%d rows, manifest says %d", rows, ob.Rows)
					}
					return err
				}, nil)
				c := ObjectCheck{Name: ob.Name, Size: ob.Size, OK: err == nil}
				mu.Lock()
				if err != nil {
					c.Error = err.Error()
					failures = append(failures, err)
					if isData {
						accs[table].bad = true
					}
				} else if isData {
					accs[table].rows += rows
					accs[table].sum += sum
				}
				checks[i] = c
				rep.Bytes += ob.Size
				mu.Unlock()
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("verify %s: %w", m.ID, err)
	}
	rep.Objects = checks
	for _, t := range m.Tables {
		a := accs[t.String()]
		tc := TableCheck{Table: t.String(), Rows: t.Rows, Hash: t.Hash}
		switch {
		case a.bad:
			tc.Error = "unreadable part"
		case a.rows != t.Rows || hashString(a.sum) != t.Hash:
			tc.Error = fmt.Sprintf("stream holds %d rows hash %s, manifest says %d rows hash %s", a.rows, hashString(a.sum), t.Rows, t.Hash)
			failures = append(failures, fmt.Errorf("backup %s: table %s: %w: %s", m.ID, t, ErrTampered, tc.Error))
		default:
			tc.StreamOK, tc.OK = true, true
		}
		rep.Tables = append(rep.Tables, tc)
	}

	if len(failures) == 0 && o.RestoreInto != nil {
		if err := verifyRestore(ctx, o, m, rep); err != nil {
			failures = append(failures, err)
		}
	}
	rep.OK = len(failures) == 0
	rep.Duration = time.Since(start)
	v := manifest.Verified{ID: m.ID, VerifiedAt: o.Now().UTC(), RestoreChecked: rep.RestoreChecked, ToolVersion: o.Tool}
	if !rep.OK {
		verr := fmt.Errorf("%w: %w", ErrVerifyFailed, failures[0])
		v.Failed, v.Error = true, truncate(failures[0].Error(), 2000)
		if err := writeVerified(ctx, o.markStore(), v); err != nil {
			return rep, fmt.Errorf("%w (and the failure could not be recorded in %s, an earlier success marker may remain: %v)", verr, manifest.VerifiedName, err)
		}
		rep.MarkedFailed = true
		return rep, verr
	}
	if o.Mark {
		if err := writeVerified(ctx, o.markStore(), v); err != nil {
			o.Log.printf("verify %s: passed, but the verified marker could not be written: %v", m.ID, err)
		} else {
			rep.Marked = true
		}
	}
	return rep, verifyChain(ctx, o, m, rep)
}

// NoSegments is verify's remark on a store without binlog segments (text and JSON alike).
const NoSegments = "no binlog segments: point-in-time recovery not available"

// verifyChain checks the binlog chain from the snapshot to the newest segment when the store holds any:
// a gap or a bad segment fails the command, not the backup (its marker stays a success). Without segments
// (or without a snapshot GTID) the report says point-in-time recovery is not available.
func verifyChain(ctx context.Context, o VerifyOptions, m *manifest.Manifest, rep *VerifyReport) error {
	segs, err := ListSegments(ctx, o.Store)
	if err != nil {
		return err
	}
	switch {
	case len(segs) == 0:
		rep.Binlog = &ChainReport{From: m.Snapshot.GTID, Unavailable: NoSegments}
		return nil
	case m.Snapshot.GTID == "":
		rep.Binlog = &ChainReport{Unavailable: "the backup has no snapshot GTID: point-in-time recovery from it not available"}
		return nil
	}
	chain, err := VerifyBinlogChain(ctx, o.Store, o.Identities, m.Snapshot.GTID)
	if err != nil {
		return err
	}
	rep.Binlog = chain
	if !chain.OK() {
		return fmt.Errorf("%w: backup %s is intact, but its binlog chain is not: %s", ErrVerifyFailed, m.ID, strings.Join(append(chain.Gaps, chain.Bad...), "; "))
	}
	return nil
}

func (o VerifyOptions) markStore() Store {
	if o.MarkStore != nil {
		return o.MarkStore
	}
	return o.Store
}

func writeVerified(ctx context.Context, st Store, v manifest.Verified) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return putPlain(ctx, st, objectKey(v.ID, manifest.VerifiedName), append(b, '\n'))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func verifyRestore(ctx context.Context, o VerifyOptions, m *manifest.Manifest, rep *VerifyReport) error {
	doc, err := readSchema(ctx, o.Store, m, o.Identities)
	if err != nil {
		return err
	}
	ro := RestoreOptions{Store: o.Store, ID: m.ID, Identities: o.Identities, Target: o.RestoreInto, Rename: o.Rename,
		Force: o.Force, Workers: o.Workers, SkipBinlog: true, Log: o.Log}
	if _, err := Restore(ctx, ro); err != nil {
		return fmt.Errorf("verify %s: restore into scratch: %w", m.ID, err)
	}
	defs := map[string]mysqlx.Table{}
	for _, t := range doc.Tables {
		defs[t.String()] = t
	}
	var errs []error
	for i := range rep.Tables {
		tc := &rep.Tables[i]
		def := defs[tc.Table]
		def.Schema = ro.target(def.Schema)
		rows, sum, err := mysqlx.HashTable(ctx, o.RestoreInto, def)
		if err != nil {
			tc.OK, tc.Error = false, err.Error()
			errs = append(errs, fmt.Errorf("backup %s: table %s: %w", m.ID, tc.Table, err))
			continue
		}
		tc.RestoredRows, tc.RestoredHash = &rows, hashString(sum)
		if rows != tc.Rows || tc.RestoredHash != tc.Hash {
			tc.OK = false
			tc.Error = fmt.Sprintf("restored %d rows hash %s, manifest says %d rows hash %s", rows, tc.RestoredHash, tc.Rows, tc.Hash)
			errs = append(errs, fmt.Errorf("backup %s: table %s: %s", m.ID, tc.Table, tc.Error))
		}
	}
	rep.RestoreChecked = len(errs) == 0
	return errors.Join(errs...)
}

func checkSealed(ctx context.Context, st Store, id string, body []byte, ids Identities) error {
	rc, err := st.Open(ctx, objectKey(id, manifest.SealedName))
	if err != nil {
		return fmt.Errorf("backup %s: object %s: %w", id, manifest.SealedName, err)
	}
	defer rc.Close()
	ar, err := age.Decrypt(io.LimitReader(rc, manifest.MaxSize+1<<20), ids.list...)
	if err != nil {
		return fmt.Errorf("backup %s: object %s: decrypt: %w", id, manifest.SealedName, err)
	}
	plain, err := io.ReadAll(ar)
	if err != nil {
		return fmt.Errorf("backup %s: object %s: decrypt: %w", id, manifest.SealedName, err)
	}
	if !bytes.Equal(plain, body) {
		return fmt.Errorf("backup %s: object %s: %w: %s differs from its sealed copy", id, manifest.ManifestName, ErrTampered, manifest.ManifestName)
	}
	return nil
}

// hashLines counts and hashes the rows of a data stream like mysqlx does while dumping.
func hashLines(r io.Reader) (int64, uint64, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		n    int64
		sum  uint64
		long []byte
	)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, line...)
			continue
		}
		if len(long) > 0 {
			long = append(long, line...)
			line = long
		}
		if err == io.EOF {
			if len(line) > 0 {
				return n, sum, fmt.Errorf("stream ends inside a row (%d bytes after row %d)", len(line), n)
			}
			return n, sum, nil
		}
		if err != nil {
			return n, sum, err
		}
		sum += mysqlx.LineHash(line)
		n++
		long = long[:0]
	}
}
