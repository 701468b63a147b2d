package audit

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgschema"
	"github.com/streamledger/streamledger/projections"
)

// Postgres keeps the audit log in PostgreSQL, one set of tables per generation: the entries (with their exact
// leaf bytes) and tlog's stored hashes; the modules' anomaly detection keeps what it folds next to them
// (TxAnomalies). A batch's rows, the anomalies' state and the checkpoint commit together.
//
// The stored hashes are kept in tiles (audit_tiles_gN: tlog tiles of height TileHeight, a partial tile rewritten
// as it grows), not a row per hash: an entry adds about two stored hashes, and inserting those rows was a fifth of
// the audit log's write time. Generations created before tiles keep their audit_hashes_gN table, which is read
// and written as before; a replay builds the new generation with tiles.
type Postgres struct {
	projections.PGGeneration
	pool    *pgxpool.Pool
	schema  string
	suffix  string
	entries string
	hashes  string // the row-per-hash table of an older generation, when tiled is false
	tiles   string
	tiled   bool
	// anomalies is the modules' anomaly detection (nil: none).
	anomalies TxAnomalies
	// beforeCommit lets tests fail a batch after its writes, before its commit.
	beforeCommit func() error
}

// TxAnomalies is a module's anomaly detection for the audit log on PostgreSQL (DESIGN §12): Raise folds a batch in
// the transaction that stores it, onto the module's states as of the log's checkpoint before the batch (checkpoint
// reads it, in tx: a module that keeps its states in memory needs it only after a restart or a failed batch), and
// returns the anomalies each event raises, by event id; keep, called once the transaction committed, lets it keep
// the states the batch left.
type TxAnomalies interface {
	Raise(ctx context.Context, tx pgx.Tx, batch []projections.Event, checkpoint func() (eventstore.Position, error)) (raised map[string][]domain.Anomaly, keep func(), err error)
}

// TileHeight is the height of the stored tiles: 32 hashes, a kilobyte, which PostgreSQL keeps in the row (a
// larger value would be moved out to TOAST). Hashes between tile levels are recomputed from a tile on reading,
// at most 31 SHA-256 each.
const TileHeight = 5

// OpenPostgres opens (creating when missing) generation gen of the audit log in schema.
// anomalies (nil: none) opens the modules' anomaly detection for the generation whose tables are in schema and end
// in suffix.
func OpenPostgres[A TxAnomalies](ctx context.Context, pool *pgxpool.Pool, schema string, gen int,
	anomalies func(ctx context.Context, pool *pgxpool.Pool, schema, suffix string) (A, error)) (*Postgres, error) {
	generation, err := projections.OpenPGGeneration(ctx, pool, schema, Name, gen)
	if err != nil {
		return nil, err
	}
	suffix := fmt.Sprintf("_g%d", gen)
	p := &Postgres{pool: pool, PGGeneration: generation, schema: schema, suffix: suffix,
		entries: pgx.Identifier{schema, "audit_entries" + suffix}.Sanitize(),
		hashes:  pgx.Identifier{schema, "audit_hashes" + suffix}.Sanitize(),
		tiles:   pgx.Identifier{schema, "audit_tiles" + suffix}.Sanitize()}
	var legacy bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, p.hashes).Scan(&legacy); err != nil {
		return nil, fmt.Errorf("look for %s: %w", p.hashes, err)
	}
	p.tiled = !legacy
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
`+hashTable)
	if err != nil {
		return nil, fmt.Errorf("create audit tables: %w", err)
	}
	if anomalies != nil {
		a, err := anomalies(ctx, pool, schema, suffix)
		if err != nil {
			return nil, err
		}
		p.anomalies = a
	}
	return p, nil
}

// Apply appends a batch's entries and hashes and advances the checkpoint in one transaction, with what the
// anomaly detection keeps.
func (p *Postgres) Apply(ctx context.Context, batch []projections.Event) error {
	keep := func() {}
	err := p.ApplyBatch(ctx, batch, func(tx pgx.Tx) error {
		var size int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq) + 1, 0) FROM `+p.entries).Scan(&size); err != nil {
			return fmt.Errorf("audit size: %w", err)
		}
		var raised map[string][]domain.Anomaly
		if p.anomalies != nil {
			checkpoint := func() (eventstore.Position, error) { return p.CheckpointIn(ctx, tx) }
			var err error
			if raised, keep, err = p.anomalies.Raise(ctx, tx, batch, checkpoint); err != nil {
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
	keep()
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
