package backup_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

// Issue 14 item 3: a table over --chunk-rows is dumped as several primary-key ranges in the same snapshot
// (workers in parallel) and restored in parallel, identical; a big table without an integer key falls back
// to one stream and says so. With s2 and zstd.
func TestChunkedTables(t *testing.T) {
	ctx := context.Background()
	srv.Exec(t, "DROP DATABASE IF EXISTS chunky", "CREATE DATABASE chunky",
		"CREATE TABLE chunky.big (id BIGINT PRIMARY KEY, v VARCHAR(40), KEY kv (v))",
		"CREATE TABLE chunky.nokey (code VARCHAR(20) PRIMARY KEY, n INT)",
		"CREATE TABLE chunky.small (id INT PRIMARY KEY)", "INSERT INTO chunky.small VALUES (1), (2)")
	d := srv.Open(t, "")
	for i := 0; i < 6000; i += 1000 {
		var big, nokey []string
		for j := i; j < i+1000; j++ {
			big = append(big, fmt.Sprintf("(%d, 'row %d')", j*7-5000, j)) // negative and sparse keys
			nokey = append(nokey, fmt.Sprintf("('k%05d', %d)", j, j))
		}
		if _, err := d.Exec("INSERT INTO chunky.big VALUES " + strings.Join(big, ",")); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec("INSERT INTO chunky.nokey VALUES " + strings.Join(nokey, ",")); err != nil {
			t.Fatal(err)
		}
	}
	srv.Exec(t, "ANALYZE TABLE chunky.big, chunky.nokey")
	sums := func(db string) []string {
		var out []string
		for _, tb := range []string{"big", "nokey", "small"} {
			out = append(out, mysqltest.Checksum(t, d, db+"."+tb))
		}
		return out
	}
	want := sums("chunky")
	for _, comp := range codecs {
		t.Run(comp, func(t *testing.T) {
			c, _ := backup.ParseCompression(comp)
			st, k := memStore(t), newKeys(t)
			notes := &backup.RunNotes{}
			m, err := backup.Run(ctx, backup.RunOptions{DB: d, DSN: srv.DSN(""), Store: st, Recipients: k.rcpt, Databases: []string{"chunky"},
				Workers: 3, ChunkRows: 1000, Compression: c, Tool: "test", Now: func() time.Time { return clock }, Notes: notes})
			if err != nil {
				t.Fatal(err)
			}
			checkCodecNames(t, m, c.Codec)
			for _, tb := range m.Tables {
				chunks := map[string]bool{}
				for _, p := range tb.Parts {
					if i := strings.Index(p, ".c0"); i > 0 {
						chunks[p[i+1:i+7]] = true
					}
				}
				switch tb.Name {
				case "big":
					if tb.Rows != 6000 || len(chunks) < 4 {
						t.Fatalf("big: %d rows in %d chunks %v", tb.Rows, len(chunks), tb.Parts)
					}
				default:
					if len(chunks) != 0 {
						t.Fatalf("%s chunked: %v", tb.Name, tb.Parts)
					}
				}
			}
			if len(notes.Warnings) != 1 || !strings.Contains(notes.Warnings[0], "chunky.nokey") || !strings.Contains(notes.Warnings[0], "one stream") {
				t.Fatalf("fallback not reported: %v", notes.Warnings)
			}
			// verify rehashes every chunk; restore loads the chunks in parallel and matches.
			back := "chunky_back_" + comp
			srv.Exec(t, "DROP DATABASE IF EXISTS "+back)
			if _, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: k.ids, RestoreInto: d,
				Rename: map[string]string{"chunky": back}, Workers: 3}); err != nil {
				t.Fatal(err)
			}
			if got := sums(back); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("restored checksums %v, want %v", got, want)
			}
		})
	}
}
