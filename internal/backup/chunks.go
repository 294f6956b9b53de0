package backup

import (
	"context"
	"fmt"
	"net/url"
	"sort"

	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// maxChunks bounds the ranges one table is split into.
const maxChunks = 1024

// dumpJob is one stream of a backup: a whole table, or one primary-key range of a chunked table.
type dumpJob struct {
	table   int // index in the snapshot's tables
	chunk   int
	chunked bool
	r       mysqlx.KeyRange
}

func chunkName(schema, table string, chunk, part int, ext string) string {
	return fmt.Sprintf("data/%s.%s.c%05d.%05d.tsv.%s.age", url.PathEscape(schema), url.PathEscape(table), chunk, part, ext)
}

// chunkRows is the row count above which table t is split.
func chunkRows(o RunOptions, t mysqlx.Table) int64 {
	if o.ChunkRows != 0 {
		return o.ChunkRows
	}
	avg := max(t.AvgRowLength, 16)
	return max(o.PartSize/avg, 1)
}

// planDump lists the streams of a backup, biggest tables first so that the longest stream starts at once;
// a table over its chunk size with a single integer primary key becomes one job per key range (bounds read
// inside the snapshot), one without such a key stays one stream, and says so.
func planDump(ctx context.Context, o RunOptions, snap *mysqlx.Snapshot, id string) ([]dumpJob, error) {
	order := make([]int, len(snap.Tables))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return snap.Tables[order[a]].DataLength > snap.Tables[order[b]].DataLength })
	var jobs []dumpJob
	for _, i := range order {
		t := snap.Tables[i]
		limit := chunkRows(o, t)
		if limit < 0 || t.EstRows <= limit || snap.Workers() < 2 {
			jobs = append(jobs, dumpJob{table: i})
			continue
		}
		if t.ChunkKey == "" {
			msg := fmt.Sprintf("table %s: about %d rows (over %d per chunk) but no single-column integer primary key: dumped as one stream", t, t.EstRows, limit)
			o.Log.printf("backup %s: %s", id, msg)
			if o.Notes != nil {
				o.Notes.Warnings = append(o.Notes.Warnings, msg)
			}
			jobs = append(jobs, dumpJob{table: i})
			continue
		}
		lo, hi, ok, err := snap.KeyBounds(ctx, 0, t)
		if err != nil {
			return nil, fmt.Errorf("backup %s: %w", id, err)
		}
		n := int(min((t.EstRows+limit-1)/limit, maxChunks))
		if !ok || n < 2 {
			jobs = append(jobs, dumpJob{table: i})
			continue
		}
		ranges := mysqlx.SplitRange(lo, hi, n)
		for c, r := range ranges {
			jobs = append(jobs, dumpJob{table: i, chunk: c, chunked: true, r: r})
		}
		o.Log.printf("backup %s: %s: about %d rows in %d key ranges of %s", id, t, t.EstRows, len(ranges), t.ChunkKey)
	}
	return jobs, nil
}
