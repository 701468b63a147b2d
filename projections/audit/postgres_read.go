package audit

// The PostgreSQL log's read side: tree hashes from the tiles, consistent snapshots, proofs, and the export's
// cursor with its parallel converters. postgres.go holds the append side.

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"
)

type querier interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

// hashReader reads stored hashes through q (the pool, or the transaction that is appending).
func (p *Postgres) hashReader(ctx context.Context, q querier) tlog.HashReader {
	if p.tiled {
		return p.tileReader(ctx, q)
	}
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		rows, _ := q.Query(ctx, `SELECT idx, hash FROM `+p.hashes+` WHERE idx = ANY($1)`, indexes)
		found := make(map[int64]tlog.Hash, len(indexes))
		var idx int64
		var h []byte
		_, err := pgx.ForEachRow(rows, []any{&idx, &h}, func() error {
			found[idx] = tlog.Hash(h)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read audit hashes: %w", err)
		}
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			hash, ok := found[x]
			if !ok {
				return nil, fmt.Errorf("audit: tree hash %d is not stored", x)
			}
			out[i] = hash
		}
		return out, nil
	})
}

// tileReader reads stored hashes from the tiles that hold them. It keeps the tiles it read: a reader serves one
// transaction, whose view of the tiles does not change (an append writes its tiles after its last read), and an
// append reads the same partial tiles several times, once for each new entry that completes a subtree and again
// to extend them.
func (p *Postgres) tileReader(ctx context.Context, q querier) tlog.HashReader {
	type coord struct {
		level int
		n     int64
	}
	tiles := map[coord][]byte{}
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		var levels []int32
		var ns []int64
		for _, x := range indexes {
			t := tlog.TileForIndex(TileHeight, x)
			if c := (coord{t.L, t.N}); tiles[c] == nil {
				tiles[c] = []byte{} // asked for: not asked again in this call, and absent if no row comes back
				levels, ns = append(levels, int32(t.L)), append(ns, t.N)
			}
		}
		if len(levels) > 0 {
			rows, _ := q.Query(ctx, `SELECT level, n, data FROM `+p.tiles+` WHERE (level, n) IN (SELECT * FROM unnest($1::integer[], $2::bigint[]))`, levels, ns)
			var level int32
			var n int64
			var data []byte
			_, err := pgx.ForEachRow(rows, []any{&level, &n, &data}, func() error {
				tiles[coord{int(level), n}] = data
				data = nil // the next row must scan into a new slice
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("read audit tiles: %w", err)
			}
		}
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			t := tlog.TileForIndex(TileHeight, x)
			d := tiles[coord{t.L, t.N}]
			if len(d)%tlog.HashSize != 0 || len(d) < t.W*tlog.HashSize {
				return nil, fmt.Errorf("audit: tree hash %d is not stored (tile %s holds %d bytes)", x, t.Path(), len(d))
			}
			t.W = len(d) / tlog.HashSize
			var err error
			if out[i], err = tlog.HashFromTile(t, d, x); err != nil {
				return nil, fmt.Errorf("audit: tree hash %d: %w", x, err)
			}
		}
		return out, nil
	})
}

// snapshot reads a consistent size and hash reader: a repeatable-read transaction, so that an append committing
// meanwhile does not mix two trees.
func (p *Postgres) snapshot(ctx context.Context, f func(size int64, r tlog.HashReader, tx pgx.Tx) error) error {
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var size int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq) + 1, 0) FROM `+p.entries).Scan(&size); err != nil {
		return fmt.Errorf("audit size: %w", err)
	}
	return f(size, p.hashReader(ctx, tx), tx)
}

// Head is the current tree head.
func (p *Postgres) Head(ctx context.Context) (Checkpoint, error) {
	var c Checkpoint
	err := p.snapshot(ctx, func(size int64, r tlog.HashReader, _ pgx.Tx) error {
		root, err := tlog.TreeHash(size, r)
		c = Checkpoint{Origin: Origin, Size: size, Root: root}
		return err
	})
	return c, err
}

// Entries returns entries [from, to).
func (p *Postgres) Entries(ctx context.Context, from, to int64) ([]Entry, error) {
	rows, _ := p.pool.Query(ctx, `SELECT leaf FROM `+p.entries+` WHERE seq >= $1 AND seq < $2 ORDER BY seq`, from, to)
	var out []Entry
	var raw []byte
	_, err := pgx.ForEachRow(rows, []any{&raw}, func() error {
		var e Entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read audit entries: %w", err)
	}
	return out, nil
}

// InclusionProof proves entry seq in the tree of size treeSize.
func (p *Postgres) InclusionProof(ctx context.Context, seq, treeSize int64) (tlog.RecordProof, error) {
	var proof tlog.RecordProof
	err := p.snapshot(ctx, func(size int64, r tlog.HashReader, _ pgx.Tx) error {
		if seq < 0 || seq >= treeSize || treeSize > size {
			return fmt.Errorf("%w: entry %d in a tree of size %d (log size %d)", ErrOutOfRange, seq, treeSize, size)
		}
		var err error
		proof, err = tlog.ProveRecord(treeSize, seq, r)
		return err
	})
	return proof, err
}

// ConsistencyProof proves that the tree of size older is a prefix of the tree of size newer.
func (p *Postgres) ConsistencyProof(ctx context.Context, older, newer int64) (tlog.TreeProof, error) {
	var proof tlog.TreeProof
	err := p.snapshot(ctx, func(size int64, r tlog.HashReader, _ pgx.Tx) error {
		if older < 1 || older > newer || newer > size {
			return fmt.Errorf("%w: sizes %d and %d (log size %d)", ErrOutOfRange, older, newer, size)
		}
		var err error
		proof, err = tlog.ProveTree(newer, older, r)
		return err
	})
	return proof, err
}

// StateHash identifies the log's content: its size and root hash, which commit to every entry.
func (p *Postgres) StateHash(ctx context.Context) (string, error) {
	head, err := p.Head(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%x", head.Size, head.Root[:]), nil
}

// Snapshot calls fn with the log cut at treeSize entries (0: every entry it has now), read in one repeatable-read
// transaction: appends that commit meanwhile are not seen, and the export's rows and hashes are of one tree.
func (p *Postgres) Snapshot(ctx context.Context, treeSize int64, fn func(View) error) error {
	return p.snapshot(ctx, func(size int64, r tlog.HashReader, tx pgx.Tx) error {
		if treeSize < 0 || treeSize > size {
			return fmt.Errorf("%w: a tree of %d entries (the log has %d)", ErrOutOfRange, treeSize, size)
		}
		if treeSize == 0 {
			treeSize = size
		}
		return fn(pgView{p: p, tx: tx, size: treeSize, hashes: r})
	})
}

type pgView struct {
	p      *Postgres
	tx     pgx.Tx
	size   int64
	hashes tlog.HashReader
}

func (v pgView) Size() int64             { return v.size }
func (v pgView) Hashes() tlog.HashReader { return v.hashes }

// Leaves returns the leaves of entries [from, to) of the cut, read in the view's snapshot.
func (v pgView) Leaves(ctx context.Context, from, to int64) ([][]byte, error) {
	if from < 0 || to > v.size || from > to {
		return nil, fmt.Errorf("%w: entries [%d, %d) of a tree of %d", ErrOutOfRange, from, to, v.size)
	}
	rows, _ := v.tx.Query(ctx, `SELECT seq, leaf FROM `+v.p.entries+` WHERE seq >= $1 AND seq < $2 ORDER BY seq`, from, to)
	out := make([][]byte, 0, to-from)
	var seq int64
	var raw []byte
	_, err := pgx.ForEachRow(rows, []any{&seq, &raw}, func() error {
		if seq != from+int64(len(out)) {
			return fmt.Errorf("audit entry %d is missing", from+int64(len(out)))
		}
		out = append(out, append([]byte(nil), raw...))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read audit leaves: %w", err)
	}
	if int64(len(out)) != to-from {
		return nil, fmt.Errorf("audit entries [%d, %d): %d stored", from, to, len(out))
	}
	return out, nil
}

// Scan reads the entries through a server-side cursor, a batch at a time: the client holds one batch, never the
// whole result, and a cancelled ctx (a client that went away) stops the query.
func (v pgView) Scan(ctx context.Context, f Filter, fn func(r *Row) error) error {
	where := []string{"seq < $1"}
	args := []any{v.size}
	arg := func(cond string, val any) {
		args = append(args, val)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.FromLedger != 0 || f.ToLedger != 0 {
		arg("ledger >= $%d", max(int64(f.FromLedger), 1))
	}
	if f.ToLedger != 0 {
		arg("ledger <= $%d", int64(f.ToLedger))
	}
	if f.ContractID != "" {
		arg("contract_id = $%d", string(f.ContractID))
	}
	if f.StreamID != nil {
		arg("stream_id = $%d", strconv.FormatUint(*f.StreamID, 10))
	}
	if f.Action != "" {
		arg("action = $%d", f.Action)
	}
	if _, err := v.tx.Exec(ctx, `DECLARE audit_export NO SCROLL CURSOR FOR SELECT leaf FROM `+v.p.entries+` WHERE `+
		strings.Join(where, " AND ")+` ORDER BY seq`, args...); err != nil {
		return fmt.Errorf("open the export cursor: %w", err)
	}
	// A pipeline: one goroutine fetches batches of leaves, converters turn batches into rows in parallel, and
	// the caller writes them in order, so fetching, converting and writing overlap. The fetcher owns the
	// transaction until it ends, which Scan waits for.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan convertJob, runtime.GOMAXPROCS(0))
	ordered := make(chan chan convertResult, cap(jobs)+1)
	fetchErr := make(chan error, 1)
	var converters sync.WaitGroup
	for range cap(jobs) {
		converters.Go(func() {
			for j := range jobs {
				j.done <- convert(j.leaves, f)
			}
		})
	}
	go func() {
		defer close(ordered)
		defer converters.Wait()
		defer close(jobs)
		fetchErr <- v.fetch(ctx, jobs, ordered)
	}()
	drain := func() error {
		cancel()
		for range ordered {
		}
		return <-fetchErr
	}
	for done := range ordered {
		res := <-done
		if res.err != nil {
			drain()
			return res.err
		}
		for i := range res.rows {
			if err := fn(&res.rows[i]); err != nil {
				drain()
				return err
			}
		}
	}
	return <-fetchErr
}

type convertJob struct {
	leaves [][]byte
	done   chan convertResult
}

type convertResult struct {
	rows []Row
	err  error
}

// convert turns a batch of leaves into the rows the filter selects.
func convert(leaves [][]byte, f Filter) convertResult {
	rows := make([]Row, 0, len(leaves))
	for _, leaf := range leaves {
		var r Row
		if err := rowFromLeaf(leaf, &r); err != nil {
			return convertResult{err: fmt.Errorf("stored audit entry: %w", err)}
		}
		if f.match(&r) {
			rows = append(rows, r)
		}
	}
	return convertResult{rows: rows}
}

// fetch reads the export cursor a batch at a time, hands each batch to the converters, and queues where its rows
// will be, in order.
func (v pgView) fetch(ctx context.Context, jobs chan<- convertJob, ordered chan<- chan convertResult) error {
	const batchSize = 2000
	for {
		rows, _ := v.tx.Query(ctx, `FETCH FORWARD 2000 FROM audit_export`)
		leaves := make([][]byte, 0, batchSize)
		var raw []byte
		_, err := pgx.ForEachRow(rows, []any{&raw}, func() error {
			leaves = append(leaves, raw)
			return nil
		})
		if err != nil {
			return fmt.Errorf("read the export cursor: %w", err)
		}
		if len(leaves) > 0 {
			j := convertJob{leaves: leaves, done: make(chan convertResult, 1)}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case ordered <- j.done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if len(leaves) < batchSize {
			return nil
		}
	}
}
