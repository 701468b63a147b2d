package streams

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgschema"
	"github.com/streamledger/streamledger/projections"
)

// AuditFolds is the stream contract's anomaly detection for the audit log on PostgreSQL (audit.TxAnomalies): the
// stream states it folds are kept next to the audit log's tables of a generation and written in its transactions.
//
// The folds are not written with every batch: they are derived data, kept in memory while the projection runs,
// and the table (audit_folds_gN) is a snapshot of them at a recorded position (audit_folds_at_gN), brought up to
// date every SnapshotEvery events. When the projection starts without them in memory (a restart, a failed batch),
// it reads the snapshot and folds the events after it, up to the checkpoint, from the event log again: those
// events' entries are already committed, and the fold is deterministic. Writing every touched stream's state with
// every batch was a fifth of the audit log's database time. Generations created before snapshots (a folds table
// without audit_folds_at_gN) keep writing their folds with every batch.
type AuditFolds struct {
	log     AuditLog
	folds   string
	foldsAt string // the table holding the position the folds snapshot was taken at; empty for an older generation
	states  CommittedStates
	// dirty holds the streams whose folds changed since the folds table was written; foldsPosition is where it
	// was written. Both are only meaningful while states holds the folds (they are dropped together).
	dirty         map[fluxora.StreamRef]bool
	foldsPosition eventstore.Position
	// SnapshotEvery is how many events the snapshot may fall behind the checkpoint (FoldSnapshotEvents); tests
	// lower it.
	SnapshotEvery eventstore.Position
}

// AuditLog is what the folds read from the event store: a stream's events, to replay it after a reversal, and the
// log itself, to fold the events after the snapshot again when the audit log starts.
type AuditLog interface {
	StreamReader
	ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error)
}

// FoldSnapshotEvents is how many events the folds snapshot may fall behind the checkpoint: what a start folds
// again from the log, at most (plus a batch).
const FoldSnapshotEvents = 20_000

// OpenAuditFolds opens (creating when missing) the folds of the audit log generation whose tables end in suffix.
func OpenAuditFolds(ctx context.Context, pool *pgxpool.Pool, schema, suffix string, log AuditLog) (*AuditFolds, error) {
	f := &AuditFolds{log: log, SnapshotEvery: FoldSnapshotEvents,
		folds:   pgx.Identifier{schema, "audit_folds" + suffix}.Sanitize(),
		foldsAt: pgx.Identifier{schema, "audit_folds_at" + suffix}.Sanitize()}
	var foldsEveryBatch bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NULL`, f.folds, f.foldsAt).
		Scan(&foldsEveryBatch); err != nil {
		return nil, fmt.Errorf("look for %s: %w", f.folds, err)
	}
	snapshotTable := `CREATE TABLE IF NOT EXISTS ` + f.foldsAt + ` (one bool PRIMARY KEY DEFAULT true CHECK (one), position bigint NOT NULL);
INSERT INTO ` + f.foldsAt + ` (position) VALUES (0) ON CONFLICT DO NOTHING`
	if foldsEveryBatch {
		f.foldsAt, snapshotTable = "", ""
	}
	if err := pgschema.Create(ctx, pool, schema, `CREATE TABLE IF NOT EXISTS `+f.folds+` (ref text COLLATE "C" PRIMARY KEY, state json NOT NULL);
`+snapshotTable); err != nil {
		return nil, fmt.Errorf("create audit folds tables: %w", err)
	}
	return f, nil
}

// Raise folds batch in tx onto the states as of the audit log's checkpoint before the batch (read with checkpoint
// when the states are not in memory, to bring the snapshot up to it) and returns the anomalies each event raises, by event
// id, writing the snapshot when it is due. keep keeps the states in memory; call it once tx committed.
func (f *AuditFolds) Raise(ctx context.Context, tx pgx.Tx, batch []projections.Event, checkpoint func() (eventstore.Position, error)) (map[string][]domain.Anomaly, func(), error) {
	cached := f.states.Take()
	dirty, foldsPosition := f.dirty, f.foldsPosition
	f.dirty = nil
	var err error
	if f.foldsAt != "" && cached.States == nil {
		at, err := checkpoint()
		if err != nil {
			return nil, nil, err
		}
		if cached, dirty, foldsPosition, err = f.foldSinceSnapshot(ctx, tx, at); err != nil {
			return nil, nil, err
		}
	}
	folds, err := LoadStates(ctx, tx, f.folds, true, batch, cached)
	if err != nil {
		return nil, nil, err
	}
	raised := map[string][]domain.Anomaly{}
	changes, err := Fold(ctx, f.log, batch, func(ref fluxora.StreamRef) (fluxora.Stream, error) { return folds.States[ref], nil },
		func(ev projections.Event, a domain.Anomaly) { raised[ev.ID] = append(raised[ev.ID], a) })
	if err != nil {
		return nil, nil, err
	}
	if dirty == nil {
		dirty = map[fluxora.StreamRef]bool{}
	}
	for ref := range changes {
		dirty[ref] = true
	}
	last := batch[len(batch)-1].Position
	snapshot := f.foldsAt == "" || last-foldsPosition >= f.SnapshotEvery || !Keeps(folds, changes)
	if snapshot {
		if err := f.writeFolds(ctx, tx, dirty, folds, changes, last); err != nil {
			return nil, nil, err
		}
	}
	return raised, func() {
		f.states.Keep(folds, changes)
		if snapshot {
			dirty, foldsPosition = nil, last
		}
		f.dirty, f.foldsPosition = dirty, foldsPosition
	}, nil
}

// foldSinceSnapshot brings the folds snapshot up to the checkpoint: it folds the events after the snapshot's
// position again (their entries are committed: anomalies are not raised again) onto the snapshot's states. It
// returns the states, the streams whose folds differ from the snapshot, and the snapshot's position.
func (f *AuditFolds) foldSinceSnapshot(ctx context.Context, tx pgx.Tx, checkpoint eventstore.Position) (Loaded, map[fluxora.StreamRef]bool, eventstore.Position, error) {
	var at int64
	if err := tx.QueryRow(ctx, `SELECT position FROM `+f.foldsAt).Scan(&at); err != nil {
		return Loaded{}, nil, 0, fmt.Errorf("read the audit folds position: %w", err)
	}
	var folds Loaded
	dirty := map[fluxora.StreamRef]bool{}
	for after := eventstore.Position(at); after < checkpoint; {
		if f.log == nil {
			return Loaded{}, nil, 0, fmt.Errorf("audit: folds at %d, checkpoint at %d, and no event log to fold the events between", after, checkpoint)
		}
		page, err := f.log.ReadAll(ctx, after, int(min(checkpoint-after, 2000)))
		if err != nil {
			return Loaded{}, nil, 0, fmt.Errorf("audit: read events after %d to fold them again: %w", after, err)
		}
		if len(page) == 0 || page[0].Position > checkpoint {
			return Loaded{}, nil, 0, fmt.Errorf("audit: the event log has nothing after %d up to the checkpoint %d", after, checkpoint)
		}
		var events []projections.Event
		codec := fluxora.NewCodec()
		for _, rec := range page {
			if rec.Position > checkpoint {
				break
			}
			if Folded(&rec) {
				ev, err := projections.Decode(rec, codec)
				if err != nil {
					return Loaded{}, nil, 0, err
				}
				events = append(events, ev)
			}
			after = rec.Position
		}
		if folds, err = LoadStates(ctx, tx, f.folds, true, events, folds); err != nil {
			return Loaded{}, nil, 0, err
		}
		changes, err := Fold(ctx, f.log, events, func(ref fluxora.StreamRef) (fluxora.Stream, error) { return folds.States[ref], nil }, nil)
		if err != nil {
			return Loaded{}, nil, 0, err
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
func (f *AuditFolds) writeFolds(ctx context.Context, tx pgx.Tx, dirty map[fluxora.StreamRef]bool, folds Loaded,
	changes map[fluxora.StreamRef]*Change, last eventstore.Position) error {
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
		if _, err := tx.Exec(ctx, `INSERT INTO `+f.folds+` (ref, state) SELECT * FROM unnest($1::text[], $2::json[])
ON CONFLICT (ref) DO UPDATE SET state = excluded.state`, refs, states); err != nil {
			return fmt.Errorf("upsert audit folds: %w", err)
		}
	}
	if len(gone) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM `+f.folds+` WHERE ref = ANY($1)`, gone); err != nil {
			return fmt.Errorf("delete audit folds: %w", err)
		}
	}
	if f.foldsAt == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE `+f.foldsAt+` SET position = $1`, int64(last)); err != nil {
		return fmt.Errorf("move the audit folds position: %w", err)
	}
	return nil
}

// AuditFoldsOn opens the folds of an audit log generation reading log (audit.OpenPostgres takes it).
func AuditFoldsOn(log AuditLog) func(ctx context.Context, pool *pgxpool.Pool, schema, suffix string) (*AuditFolds, error) {
	return func(ctx context.Context, pool *pgxpool.Pool, schema, suffix string) (*AuditFolds, error) {
		return OpenAuditFolds(ctx, pool, schema, suffix, log)
	}
}
