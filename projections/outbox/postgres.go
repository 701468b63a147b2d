package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgschema"
	"github.com/streamledger/streamledger/projections"
)

// Postgres keeps the outbox in PostgreSQL, one set of tables per generation. Each batch loads the small state
// (tip, endpoints, pending events of the last few ledgers), runs it forward, and writes the differences, the new
// messages (deduplicated by endpoint and event) and the checkpoint in one transaction.
type Postgres struct {
	projections.PGGeneration
	pool      *pgxpool.Pool
	margin    uint32
	endpoints string
	pending   string
	messages  string
	state     string
}

// OpenPostgres opens (creating when missing) generation gen of the outbox in schema.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, schema string, gen int, margin uint32) (*Postgres, error) {
	generation, err := projections.OpenPGGeneration(ctx, pool, schema, Name, gen)
	if err != nil {
		return nil, err
	}
	suffix := fmt.Sprintf("_g%d", gen)
	name := func(base string) string { return pgx.Identifier{schema, base + suffix}.Sanitize() }
	p := &Postgres{pool: pool, margin: margin, PGGeneration: generation, endpoints: name("outbox_endpoints"),
		pending: name("outbox_pending"), messages: name("outbox_messages"), state: name("outbox_state")}
	err = pgschema.Create(ctx, pool, schema, `CREATE TABLE IF NOT EXISTS `+p.endpoints+` (endpoint_id text PRIMARY KEY, event_types text[] NOT NULL);
CREATE TABLE IF NOT EXISTS `+p.pending+` (
    event_id uuid PRIMARY KEY, type text NOT NULL, stream text NOT NULL, ledger bigint NOT NULL, position bigint NOT NULL);
ALTER TABLE `+p.pending+` ADD COLUMN IF NOT EXISTS reverted boolean NOT NULL DEFAULT false;
CREATE TABLE IF NOT EXISTS `+p.messages+` (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             uuid   NOT NULL UNIQUE,
    endpoint_id    text   NOT NULL,
    event_id       uuid   NOT NULL,
    type           text   NOT NULL,
    stream         text   NOT NULL,
    ledger         bigint NOT NULL,
    event_position bigint NOT NULL,
    final_position bigint NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX IF NOT EXISTS `+pgx.Identifier{"outbox_messages" + suffix + "_order"}.Sanitize()+` ON `+p.messages+`
    (final_position, event_position, endpoint_id COLLATE "C");
CREATE TABLE IF NOT EXISTS `+p.state+` (one bool PRIMARY KEY DEFAULT true CHECK (one), tip bigint NOT NULL);
INSERT INTO `+p.state+` (tip) VALUES (0) ON CONFLICT DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("create outbox tables: %w", err)
	}
	return p, nil
}

// Apply runs a batch through the outbox.
func (p *Postgres) Apply(ctx context.Context, batch []projections.Event) error {
	return p.ApplyBatch(ctx, batch, func(tx pgx.Tx) error { return p.apply(ctx, tx, batch) })
}

func (p *Postgres) apply(ctx context.Context, tx pgx.Tx, batch []projections.Event) error {
	st, err := p.load(ctx, tx)
	if err != nil {
		return err
	}
	var released []Message
	added := map[string]Pending{}
	removed := map[string]bool{}
	endpointsChanged := false
	for _, ev := range batch {
		rel, add, rem := st.step(ev, p.margin)
		released = append(released, rel...)
		for _, r := range rem { // removals first: a step may remove an event and add it back changed
			if _, fresh := added[r.EventID]; fresh {
				delete(added, r.EventID)
			} else {
				removed[r.EventID] = true
			}
		}
		for _, a := range add {
			added[a.EventID] = a
		}
		switch ev.Domain.(type) {
		case *domain.WebhookEndpointAdded, *domain.WebhookEndpointRemoved:
			endpointsChanged = true
		}
	}
	return p.write(ctx, tx, st, endpointsChanged, added, removed, released)
}

func (p *Postgres) load(ctx context.Context, tx pgx.Tx) (State, error) {
	st := State{Endpoints: map[string]Endpoint{}}
	var tip int64
	if err := tx.QueryRow(ctx, `SELECT tip FROM `+p.state).Scan(&tip); err != nil {
		return State{}, fmt.Errorf("read outbox tip: %w", err)
	}
	st.Tip = uint32(tip)
	rows, _ := tx.Query(ctx, `SELECT endpoint_id, event_types FROM `+p.endpoints)
	var e Endpoint
	if _, err := pgx.ForEachRow(rows, []any{&e.ID, &e.EventTypes}, func() error {
		st.Endpoints[e.ID] = e
		e = Endpoint{}
		return nil
	}); err != nil {
		return State{}, fmt.Errorf("read outbox endpoints: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT event_id::text, type, stream, ledger, position, reverted FROM `+p.pending+` ORDER BY position`)
	var pe Pending
	var ledger, pos int64
	if _, err := pgx.ForEachRow(rows, []any{&pe.EventID, &pe.Type, &pe.Stream, &ledger, &pos, &pe.Reverted}, func() error {
		pe.Ledger, pe.Position = uint32(ledger), eventstore.Position(pos)
		st.Pending = append(st.Pending, pe)
		return nil
	}); err != nil {
		return State{}, fmt.Errorf("read outbox pending: %w", err)
	}
	return st, nil
}

func (p *Postgres) write(ctx context.Context, tx pgx.Tx, st State, endpointsChanged bool, added map[string]Pending,
	removed map[string]bool, released []Message) error {
	if _, err := tx.Exec(ctx, `UPDATE `+p.state+` SET tip = $1`, int64(st.Tip)); err != nil {
		return fmt.Errorf("write outbox tip: %w", err)
	}
	if endpointsChanged {
		if _, err := tx.Exec(ctx, `DELETE FROM `+p.endpoints); err != nil {
			return fmt.Errorf("write outbox endpoints: %w", err)
		}
		for _, e := range st.Endpoints {
			types := e.EventTypes
			if types == nil {
				types = []string{}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+p.endpoints+` (endpoint_id, event_types) VALUES ($1, $2)`, e.ID, types); err != nil {
				return fmt.Errorf("write outbox endpoints: %w", err)
			}
		}
	}
	if len(removed) > 0 {
		ids := make([]string, 0, len(removed))
		for id := range removed {
			ids = append(ids, id)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+p.pending+` WHERE event_id = ANY($1::uuid[])`, ids); err != nil {
			return fmt.Errorf("delete outbox pending: %w", err)
		}
	}
	if len(added) > 0 {
		var ids, types, stream []string
		var ledgers, positions []int64
		var reverted []bool
		for _, a := range added {
			ids, types, stream = append(ids, a.EventID), append(types, a.Type), append(stream, a.Stream)
			ledgers, positions = append(ledgers, int64(a.Ledger)), append(positions, int64(a.Position))
			reverted = append(reverted, a.Reverted)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+p.pending+` (event_id, type, stream, ledger, position, reverted)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::boolean[])`, ids, types, stream, ledgers, positions, reverted); err != nil {
			return fmt.Errorf("insert outbox pending: %w", err)
		}
	}
	if len(released) > 0 {
		var ids, endpoints, events, types, streams []string
		var ledgers, eventPos, finalPos []int64
		for _, m := range released {
			ids, endpoints, events = append(ids, m.ID), append(endpoints, m.EndpointID), append(events, m.EventID)
			types, streams = append(types, m.Type), append(streams, m.Stream)
			ledgers, eventPos, finalPos = append(ledgers, int64(m.Ledger)), append(eventPos, int64(m.EventPosition)), append(finalPos, int64(m.FinalPosition))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+p.messages+` (id, endpoint_id, event_id, type, stream, ledger, event_position, final_position)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
ON CONFLICT DO NOTHING`, ids, endpoints, events, types, streams, ledgers, eventPos, finalPos); err != nil {
			return fmt.Errorf("insert outbox messages: %w", err)
		}
	}
	return nil
}

// MessagesAfter returns up to limit messages after cursor, in cursor order.
func (p *Postgres) MessagesAfter(ctx context.Context, after Cursor, limit int) ([]Message, error) {
	rows, _ := p.pool.Query(ctx, `SELECT id::text, endpoint_id, event_id::text, type, stream, ledger, event_position, final_position
FROM `+p.messages+` WHERE (final_position, event_position, endpoint_id COLLATE "C") > ($1, $2, $3)
ORDER BY final_position, event_position, endpoint_id COLLATE "C" LIMIT $4`,
		int64(after.FinalPosition), int64(after.EventPosition), after.EndpointID, limit)
	var out []Message
	var m Message
	var ledger, ep, fp int64
	_, err := pgx.ForEachRow(rows, []any{&m.ID, &m.EndpointID, &m.EventID, &m.Type, &m.Stream, &ledger, &ep, &fp}, func() error {
		m.Ledger, m.EventPosition, m.FinalPosition = uint32(ledger), eventstore.Position(ep), eventstore.Position(fp)
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox messages: %w", err)
	}
	return out, nil
}

// StateHash identifies the outbox's content: its messages (by endpoint and event), pending events and tip.
func (p *Postgres) StateHash(ctx context.Context) (string, error) {
	h := sha256.New()
	var row string
	for _, q := range []string{
		`SELECT endpoint_id || '/' || event_id || '/' || type || '/' || ledger FROM ` + p.messages + ` ORDER BY endpoint_id, event_id`,
		`SELECT event_id || '/' || type || '/' || ledger FROM ` + p.pending + ` WHERE NOT reverted ORDER BY event_id`,
		`SELECT 'tip/' || tip FROM ` + p.state,
	} {
		rows, _ := p.pool.Query(ctx, q)
		if _, err := pgx.ForEachRow(rows, []any{&row}, func() error {
			h.Write([]byte(row + "\n"))
			return nil
		}); err != nil {
			return "", fmt.Errorf("hash outbox: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
