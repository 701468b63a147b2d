package audit

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgschema"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/streams"
)

// Postgres keeps the audit log in PostgreSQL, one set of tables per generation: the entries (with their exact
// leaf bytes), tlog's stored hashes, and the stream folds that anomaly detection needs. A batch's rows and the
// checkpoint commit together.
//
// The folds are not written with every batch: they are derived data, kept in memory while the projection runs,
// and the table is a snapshot of them at a recorded position (audit_folds_at_gN), brought up to date every
// FoldSnapshotEvents events. When the projection starts without them in memory (a restart, a failed batch), it
// reads the snapshot and folds the events after it, up to the checkpoint, from the event log again: those events'
// entries are already committed, and the fold is deterministic. Writing every touched stream's state with every
// batch was a fifth of the audit log's database time. Generations created before snapshots (a folds table without
// audit_folds_at_gN) keep writing their folds with every batch.
//
// The stored hashes are kept in tiles (audit_tiles_gN: tlog tiles of height TileHeight, a partial tile rewritten
// as it grows), not a row per hash: an entry adds about two stored hashes, and inserting those rows was a fifth of
// the audit log's write time. Generations created before tiles keep their audit_hashes_gN table, which is read
// and written as before; a replay builds the new generation with tiles.
type Postgres struct {
	projections.PGGeneration
	pool    *pgxpool.Pool
	log     Log
	schema  string
	suffix  string
	entries string
	hashes  string // the row-per-hash table of an older generation, when tiled is false
	tiles   string
	tiled   bool
	folds   string
	foldsAt string // the table holding the position the folds snapshot was taken at; empty for an older generation
	states  streams.CommittedStates
	// dirty holds the streams whose folds changed since the folds table was written; foldsPosition is where it
	// was written. Both are only meaningful while states holds the folds (they are dropped together).
	dirty         map[domain.StreamRef]bool
	foldsPosition eventstore.Position
	// snapshotEvery is FoldSnapshotEvents; tests lower it.
	snapshotEvery eventstore.Position
	// beforeCommit lets tests fail a batch after its writes, before its commit.
	beforeCommit func() error
}

// Log is what the audit log reads from the event store: a stream's events, to replay it after a reversal, and the
// log itself, to fold the events after the folds snapshot again when it starts.
type Log interface {
	streams.StreamReader
	ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error)
}

// FoldSnapshotEvents is how many events the folds snapshot may fall behind the checkpoint: what a start folds
// again from the log, at most (plus a batch).
const FoldSnapshotEvents = 20_000

// TileHeight is the height of the stored tiles: 32 hashes, a kilobyte, which PostgreSQL keeps in the row (a
// larger value would be moved out to TOAST). Hashes between tile levels are recomputed from a tile on reading,
// at most 31 SHA-256 each.
const TileHeight = 5

// OpenPostgres opens (creating when missing) generation gen of the audit log in schema.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, schema string, gen int, log Log) (*Postgres, error) {
	generation, err := projections.OpenPGGeneration(ctx, pool, schema, Name, gen)
	if err != nil {
		return nil, err
	}
	suffix := fmt.Sprintf("_g%d", gen)
	p := &Postgres{pool: pool, log: log, PGGeneration: generation, schema: schema, suffix: suffix,
		entries:       pgx.Identifier{schema, "audit_entries" + suffix}.Sanitize(),
		hashes:        pgx.Identifier{schema, "audit_hashes" + suffix}.Sanitize(),
		tiles:         pgx.Identifier{schema, "audit_tiles" + suffix}.Sanitize(),
		folds:         pgx.Identifier{schema, "audit_folds" + suffix}.Sanitize(),
		foldsAt:       pgx.Identifier{schema, "audit_folds_at" + suffix}.Sanitize(),
		snapshotEvery: FoldSnapshotEvents}
	var legacy, foldsEveryBatch bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL AND to_regclass($3) IS NULL`,
		p.hashes, p.folds, p.foldsAt).Scan(&legacy, &foldsEveryBatch); err != nil {
		return nil, fmt.Errorf("look for %s: %w", p.hashes, err)
	}
	p.tiled = !legacy
	snapshotTable := `CREATE TABLE IF NOT EXISTS ` + p.foldsAt + ` (one bool PRIMARY KEY DEFAULT true CHECK (one), position bigint NOT NULL);
INSERT INTO ` + p.foldsAt + ` (position) VALUES (0) ON CONFLICT DO NOTHING`
	if foldsEveryBatch {
		p.foldsAt, snapshotTable = "", ""
	}
	hashTable := `CREATE TABLE IF NOT EXISTS ` + p.tiles + ` (level integer, n bigint, data bytea NOT NULL, PRIMARY KEY (level, n))`
	if legacy {
		hashTable = `CREATE TABLE IF NOT EXISTS ` + p.hashes + ` (idx bigint PRIMARY KEY, hash bytea NOT NULL)`
	}
	// leaf is json, not jsonb: its exact bytes are the Merkle leaf.
	err = pgschema.Create(ctx, pool, schema, `CREATE TABLE IF NOT EXISTS `+p.entries+` (
    seq         bigint      PRIMARY KEY,
    position    bigint      NOT NULL,
    event_id    uuid        NOT NULL,
    action      text        NOT NULL,
    ledger      bigint      NOT NULL,
    contract_id text COLLATE "C",
    stream_id   numeric(20,0),
    recorded_at timestamptz NOT NULL,
    leaf        json        NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_entries`+suffix+`_ledger ON `+p.entries+` (ledger, seq);
CREATE INDEX IF NOT EXISTS audit_entries`+suffix+`_stream ON `+p.entries+` (contract_id, stream_id, seq);
`+hashTable+`;
CREATE TABLE IF NOT EXISTS `+p.folds+` (ref text COLLATE "C" PRIMARY KEY, state json NOT NULL);
`+snapshotTable)
	if err != nil {
		return nil, fmt.Errorf("create audit tables: %w", err)
	}
	return p, nil
}

// Apply appends a batch's entries and hashes and advances the checkpoint in one transaction, with the folds
// snapshot when it is due.
func (p *Postgres) Apply(ctx context.Context, batch []projections.Event) error {
	cached := p.states.Take()
	dirty, foldsPosition := p.dirty, p.foldsPosition
	p.dirty = nil
	var folds streams.Loaded
	var changes map[domain.StreamRef]*streams.Change
	snapshot := false
	err := p.ApplyBatch(ctx, batch, func(tx pgx.Tx) error {
		var size int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq) + 1, 0) FROM `+p.entries).Scan(&size); err != nil {
			return fmt.Errorf("audit size: %w", err)
		}
		var err error
		if p.foldsAt != "" && cached.States == nil {
			if cached, dirty, foldsPosition, err = p.foldSinceSnapshot(ctx, tx); err != nil {
				return err
			}
		}
		if folds, err = streams.LoadStates(ctx, tx, p.folds, true, batch, cached); err != nil {
			return err
		}
		raised := map[string][]domain.Anomaly{}
		changes, err = streams.Fold(ctx, p.log, batch, func(ref domain.StreamRef) (domain.Stream, error) { return folds.States[ref], nil },
			func(ev projections.Event, a domain.Anomaly) { raised[ev.ID] = append(raised[ev.ID], a) })
		if err != nil {
			return err
		}
		if dirty == nil {
			dirty = map[domain.StreamRef]bool{}
		}
		for ref := range changes {
			dirty[ref] = true
		}
		last := batch[len(batch)-1].Position
		snapshot = p.foldsAt == "" || last-foldsPosition >= p.snapshotEvery || !streams.Keeps(folds, changes)
		if snapshot {
			if err := p.writeFolds(ctx, tx, dirty, folds, changes, last); err != nil {
				return err
			}
		}
		fresh := entries(batch, raised, size)
		leaves, err := leavesOf(fresh)
		if err != nil {
			return err
		}
		stored := p.hashReader(ctx, tx)
		pending, err := appendHashes(stored, size, leaves)
		if err != nil {
			return err
		}
		if err := p.writeHashes(ctx, tx, size, int64(len(leaves)), &pendingReader{stored: stored, base: tlog.StoredHashCount(size), pending: pending}); err != nil {
			return err
		}
		if err := p.write(ctx, tx, fresh, leaves); err != nil {
			return err
		}
		if p.beforeCommit != nil {
			return p.beforeCommit()
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.states.Keep(folds, changes)
	if snapshot {
		dirty, foldsPosition = nil, batch[len(batch)-1].Position
	}
	p.dirty, p.foldsPosition = dirty, foldsPosition
	return nil
}

// foldSinceSnapshot brings the folds snapshot up to the checkpoint: it folds the events after the snapshot's
// position again (their entries are committed: anomalies are not raised again) onto the snapshot's states. It
// returns the states, the streams whose folds differ from the snapshot, and the snapshot's position.
func (p *Postgres) foldSinceSnapshot(ctx context.Context, tx pgx.Tx) (streams.Loaded, map[domain.StreamRef]bool, eventstore.Position, error) {
	var at int64
	if err := tx.QueryRow(ctx, `SELECT position FROM `+p.foldsAt).Scan(&at); err != nil {
		return streams.Loaded{}, nil, 0, fmt.Errorf("read the audit folds position: %w", err)
	}
	checkpoint, err := p.CheckpointIn(ctx, tx)
	if err != nil {
		return streams.Loaded{}, nil, 0, err
	}
	var folds streams.Loaded
	dirty := map[domain.StreamRef]bool{}
	for after := eventstore.Position(at); after < checkpoint; {
		if p.log == nil {
			return streams.Loaded{}, nil, 0, fmt.Errorf("audit: folds at %d, checkpoint at %d, and no event log to fold the events between", after, checkpoint)
		}
		page, err := p.log.ReadAll(ctx, after, int(min(checkpoint-after, 2000)))
		if err != nil {
			return streams.Loaded{}, nil, 0, fmt.Errorf("audit: read events after %d to fold them again: %w", after, err)
		}
		if len(page) == 0 || page[0].Position > checkpoint {
			return streams.Loaded{}, nil, 0, fmt.Errorf("audit: the event log has nothing after %d up to the checkpoint %d", after, checkpoint)
		}
		var events []projections.Event
		codec := fluxora.NewCodec()
		for _, rec := range page {
			if rec.Position > checkpoint {
				break
			}
			if streams.Folded(&rec) {
				ev, err := projections.Decode(rec, codec)
				if err != nil {
					return streams.Loaded{}, nil, 0, err
				}
				events = append(events, ev)
			}
			after = rec.Position
		}
		if folds, err = streams.LoadStates(ctx, tx, p.folds, true, events, folds); err != nil {
			return streams.Loaded{}, nil, 0, err
		}
		changes, err := streams.Fold(ctx, p.log, events, func(ref domain.StreamRef) (domain.Stream, error) { return folds.States[ref], nil }, nil)
		if err != nil {
			return streams.Loaded{}, nil, 0, err
		}
		for ref, c := range changes {
			dirty[ref] = true
			if c.Gone {
				delete(folds.States, ref)
			} else {
				folds.States[ref] = c.State
			}
		}
	}
	return folds, dirty, eventstore.Position(at), nil
}

// writeFolds writes the folds of the dirty streams as the batch leaves them (changes over folds, the states it
// started from) and moves the snapshot's position to the batch's last event.
func (p *Postgres) writeFolds(ctx context.Context, tx pgx.Tx, dirty map[domain.StreamRef]bool, folds streams.Loaded,
	changes map[domain.StreamRef]*streams.Change, last eventstore.Position) error {
	var refs, states, gone []string
	for ref := range dirty {
		state, known := folds.States[ref]
		if c, ok := changes[ref]; ok {
			state, known = c.State, !c.Gone
		}
		if !known {
			gone = append(gone, ref.String())
			continue
		}
		b, err := domain.AppendJSON(make([]byte, 0, 1024), &state) // encoding/json's bytes, faster
		if err != nil {
			return err
		}
		refs, states = append(refs, ref.String()), append(states, string(b))
	}
	if len(refs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO `+p.folds+` (ref, state) SELECT * FROM unnest($1::text[], $2::json[])
ON CONFLICT (ref) DO UPDATE SET state = excluded.state`, refs, states); err != nil {
			return fmt.Errorf("upsert audit folds: %w", err)
		}
	}
	if len(gone) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM `+p.folds+` WHERE ref = ANY($1)`, gone); err != nil {
			return fmt.Errorf("delete audit folds: %w", err)
		}
	}
	if p.foldsAt == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE `+p.foldsAt+` SET position = $1`, int64(last)); err != nil {
		return fmt.Errorf("move the audit folds position: %w", err)
	}
	return nil
}

// writeHashes stores the hashes computed for added entries appended to a log of size entries: the tiles that
// changed, or a row per hash in an older generation.
func (p *Postgres) writeHashes(ctx context.Context, tx pgx.Tx, size, added int64, hashes *pendingReader) error {
	if added == 0 {
		return nil
	}
	if !p.tiled {
		rows := make([][]any, len(hashes.pending))
		for i, h := range hashes.pending {
			rows[i] = []any{hashes.base + int64(i), h[:]}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{p.schema, "audit_hashes" + p.suffix}, []string{"idx", "hash"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("insert audit hashes: %w", err)
		}
		return nil
	}
	var levels []int32
	var ns []int64
	var data [][]byte
	for _, t := range tlog.NewTiles(TileHeight, size, size+added) {
		d, err := tlog.ReadTileData(t, hashes)
		if err != nil {
			return fmt.Errorf("audit tile %s: %w", t.Path(), err)
		}
		levels, ns, data = append(levels, int32(t.L)), append(ns, t.N), append(data, d)
	}
	if len(data) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+p.tiles+` (level, n, data) SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bytea[])
ON CONFLICT (level, n) DO UPDATE SET data = excluded.data`, levels, ns, data); err != nil {
		return fmt.Errorf("write %d audit tiles: %w", len(data), err)
	}
	return nil
}

func (p *Postgres) write(ctx context.Context, tx pgx.Tx, fresh []Entry, leaves [][]byte) error {
	rows := make([][]any, len(fresh))
	for i := range fresh {
		e := &fresh[i]
		var contract, streamID any
		if e.ContractID != "" {
			contract = string(e.ContractID)
		}
		if e.StreamID != nil {
			streamID = *e.StreamID
		}
		// Binary-encodable values only (no string for uuid or numeric): for COPY, pgx builds an error for each
		// value it cannot encode before falling back to text.
		id, err := uuid.Parse(e.EventID)
		if err != nil {
			return fmt.Errorf("audit entry %d: event id %q: %w", e.Seq, e.EventID, err)
		}
		rows[i] = []any{e.Seq, int64(e.Position), pgtype.UUID{Bytes: id, Valid: true}, e.Action, int64(e.Ledger), contract, streamID,
			e.RecordedAt, leaves[i]}
	}
	if len(rows) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{p.schema, "audit_entries" + p.suffix}, []string{"seq", "position", "event_id", "action", "ledger",
			"contract_id", "stream_id", "recorded_at", "leaf"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("insert audit entries: %w", err)
		}
	}
	return nil
}
