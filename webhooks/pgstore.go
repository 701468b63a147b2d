package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgschema"
	"github.com/streamledger/streamledger/projections/outbox"
)

// PGStore keeps webhooks state in PostgreSQL. Claims take due rows with FOR UPDATE SKIP LOCKED and stamp a lease,
// so any number of workers (in any number of processes) share the queue without attempting one delivery twice at
// once; every attempt is a row of the attempt log. Endpoint secrets are kept as they are (HMAC signing needs
// them), so the database's access control is what protects them.
type PGStore struct {
	pool       *pgxpool.Pool
	deliveries string
	attempts   string
	endpoints  string
	dispatch   string
}

// OpenPGStore creates the webhooks tables in schema when missing.
func OpenPGStore(ctx context.Context, pool *pgxpool.Pool, schema string) (*PGStore, error) {
	name := func(table string) string { return pgx.Identifier{schema, table}.Sanitize() }
	q := &PGStore{pool: pool, deliveries: name("webhook_deliveries"), attempts: name("webhook_attempts"),
		endpoints: name("webhook_endpoints"), dispatch: name("webhook_dispatch")}
	err := pgschema.Create(ctx, pool, schema, `CREATE TABLE IF NOT EXISTS `+q.deliveries+` (
    id          uuid        PRIMARY KEY,
    seq         bigserial   NOT NULL UNIQUE,
    endpoint_id text        NOT NULL,
    event_id    text        NOT NULL,
    event_type  text        NOT NULL,
    body        bytea       NOT NULL,
    state       text        NOT NULL,
    attempts    int         NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    next_at     timestamptz NOT NULL,
    lease_until timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON `+q.deliveries+` (next_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint ON `+q.deliveries+` (endpoint_id, seq);
CREATE INDEX IF NOT EXISTS webhook_deliveries_event ON `+q.deliveries+` (event_id);
CREATE TABLE IF NOT EXISTS `+q.endpoints+` (
    id              text        PRIMARY KEY,
    url             text        NOT NULL,
    event_types     text[]      NOT NULL,
    description     text        NOT NULL,
    enabled         bool        NOT NULL,
    disabled_reason text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    secret          text        NOT NULL,
    previous_secret text        NOT NULL DEFAULT '',
    previous_until  timestamptz
);
ALTER TABLE `+q.endpoints+` ADD COLUMN IF NOT EXISTS extra_signatures text[] NOT NULL DEFAULT '{}';
CREATE TABLE IF NOT EXISTS `+q.dispatch+` (
    one            bool   PRIMARY KEY DEFAULT true CHECK (one),
    final_position bigint NOT NULL,
    event_position bigint NOT NULL,
    endpoint_id    text   NOT NULL
);
CREATE TABLE IF NOT EXISTS `+q.attempts+` (
    delivery_id uuid        NOT NULL REFERENCES `+q.deliveries+` (id),
    number      int         NOT NULL,
    at          timestamptz NOT NULL,
    status      int,
    latency_ns  bigint      NOT NULL,
    response    text,
    error       text,
    outcome     text        NOT NULL,
    PRIMARY KEY (delivery_id, number, at)
)`)
	if err != nil {
		return nil, fmt.Errorf("create webhook queue: %w", err)
	}
	return q, nil
}

// Enqueue adds deliveries due at now; a delivery id already queued is left as it is.
func (q *PGStore) Enqueue(ctx context.Context, jobs []Job, now time.Time) error {
	if len(jobs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, j := range jobs {
		b.Queue(`INSERT INTO `+q.deliveries+` (id, endpoint_id, event_id, event_type, body, state, created_at, next_at)
VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) ON CONFLICT (id) DO NOTHING`, j.ID, j.EndpointID, j.EventID, j.EventType, j.Body, now)
	}
	if err := q.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("enqueue deliveries: %w", err)
	}
	return nil
}

// Claim leases up to limit due deliveries, oldest due first, skipping rows other workers hold.
func (q *PGStore) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Job, error) {
	rows, _ := q.pool.Query(ctx, `UPDATE `+q.deliveries+` SET lease_until = $2 WHERE id IN (
    SELECT id FROM `+q.deliveries+`
    WHERE state = 'pending' AND next_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
    ORDER BY next_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING id::text, seq, endpoint_id, event_id, event_type, body, state, attempts, created_at, next_at`, now, now.Add(lease), limit)
	var out []Job
	var j Job
	var state string
	_, err := pgx.ForEachRow(rows, []any{&j.ID, &j.Seq, &j.EndpointID, &j.EventID, &j.EventType, &j.Body, &state, &j.Attempts,
		&j.CreatedAt, &j.NextAt}, func() error {
		j.State = JobState(state)
		out = append(out, j)
		j = Job{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// Finish records an attempt and the delivery's new state, and releases the lease, in one statement (so in one
// round trip and atomically).
func (q *PGStore) Finish(ctx context.Context, id string, a Attempt, state JobState, next time.Time) error {
	var status any
	if a.Status != 0 {
		status = a.Status
	}
	if next.IsZero() {
		next = a.At
	}
	tag, err := q.pool.Exec(ctx, `WITH logged AS (
    INSERT INTO `+q.attempts+` (delivery_id, number, at, status, latency_ns, response, error, outcome)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE $2::int > 0)
UPDATE `+q.deliveries+` SET state = $9, attempts = CASE WHEN $2::int > 0 THEN $2::int ELSE attempts END, next_at = $10,
    lease_until = NULL
WHERE id = $1`, id, a.Number, a.At, status, int64(a.Latency), a.Response, a.Error, string(a.Outcome), string(state), next)
	if err != nil {
		return fmt.Errorf("finish delivery %s: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("finish delivery %s: %w", id, ErrNotFound)
	}
	return nil
}

// Redeliver queues a delivery again, due now, with the same delivery id.
func (q *PGStore) Redeliver(ctx context.Context, id string, now time.Time) error {
	tag, err := q.pool.Exec(ctx, `UPDATE `+q.deliveries+` SET state = 'pending', attempts = 0, next_at = $2, lease_until = NULL WHERE id = $1`, id, now)
	if err != nil {
		return fmt.Errorf("redeliver %s: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("redeliver %s: %w", id, ErrNotFound)
	}
	return nil
}

// Get returns a delivery with its attempt log.
func (q *PGStore) Get(ctx context.Context, id string) (Job, bool, error) {
	var j Job
	var state string
	var lease *time.Time
	err := q.pool.QueryRow(ctx, `SELECT id::text, seq, endpoint_id, event_id, event_type, body, state, attempts, created_at, next_at,
    lease_until FROM `+q.deliveries+` WHERE id = $1`, id).Scan(&j.ID, &j.Seq, &j.EndpointID, &j.EventID, &j.EventType, &j.Body,
		&state, &j.Attempts, &j.CreatedAt, &j.NextAt, &lease)
	if errors.Is(err, pgx.ErrNoRows) {
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("read delivery %s: %w", id, err)
	}
	j.State = JobState(state)
	if lease != nil {
		j.LeaseUntil = *lease
	}
	rows, _ := q.pool.Query(ctx, `SELECT number, at, coalesce(status, 0), latency_ns, coalesce(response, ''), coalesce(error, ''), outcome
FROM `+q.attempts+` WHERE delivery_id = $1 ORDER BY at, number`, id)
	var a Attempt
	var latency int64
	var outcome string
	_, err = pgx.ForEachRow(rows, []any{&a.Number, &a.At, &a.Status, &latency, &a.Response, &a.Error, &outcome}, func() error {
		a.DeliveryID, a.Latency, a.Outcome = id, time.Duration(latency), Outcome(outcome)
		j.Log = append(j.Log, a)
		return nil
	})
	if err != nil {
		return Job{}, false, fmt.Errorf("read attempts of %s: %w", id, err)
	}
	return j, true, nil
}

// List returns up to limit deliveries matching f, newest first, without their bodies and attempt logs.
func (q *PGStore) List(ctx context.Context, f DeliveryFilter, limit int) ([]Job, error) {
	var before any
	if f.BeforeSeq != 0 {
		before = int64(f.BeforeSeq)
	}
	rows, _ := q.pool.Query(ctx, `SELECT id::text, seq, endpoint_id, event_id, event_type, state, attempts, created_at, next_at
FROM `+q.deliveries+`
WHERE ($1 = '' OR endpoint_id = $1) AND ($2 = '' OR state = $2) AND ($3 = '' OR event_id = $3) AND ($4::bigint IS NULL OR seq < $4)
ORDER BY seq DESC LIMIT $5`, f.EndpointID, string(f.State), f.EventID, before, limit)
	var out []Job
	var j Job
	var state string
	_, err := pgx.ForEachRow(rows, []any{&j.ID, &j.Seq, &j.EndpointID, &j.EventID, &j.EventType, &state, &j.Attempts, &j.CreatedAt,
		&j.NextAt}, func() error {
		j.State = JobState(state)
		out = append(out, j)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

const endpointColumns = `id, url, event_types, description, enabled, disabled_reason, created_at, secret, previous_secret, previous_until, extra_signatures`

func scanEndpoint(row pgx.Row) (Endpoint, error) {
	var e Endpoint
	var until *time.Time
	err := row.Scan(&e.ID, &e.URL, &e.EventTypes, &e.Description, &e.Enabled, &e.DisabledReason, &e.CreatedAt, &e.Secret,
		&e.PreviousSecret, &until, &e.ExtraSignatures)
	if len(e.ExtraSignatures) == 0 {
		e.ExtraSignatures = nil
	}
	if until != nil {
		e.PreviousUntil = *until
	}
	return e, err
}

func endpointArgs(e Endpoint) []any {
	types := e.EventTypes
	if types == nil {
		types = []string{}
	}
	var until any
	if !e.PreviousUntil.IsZero() {
		until = e.PreviousUntil
	}
	extra := e.ExtraSignatures
	if extra == nil {
		extra = []string{}
	}
	return []any{e.ID, e.URL, types, e.Description, e.Enabled, e.DisabledReason, e.CreatedAt, e.Secret, e.PreviousSecret, until, extra}
}

// AddEndpoint registers e.
func (q *PGStore) AddEndpoint(ctx context.Context, e Endpoint) error {
	if _, err := q.pool.Exec(ctx, `INSERT INTO `+q.endpoints+` (`+endpointColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		endpointArgs(e)...); err != nil {
		return fmt.Errorf("add endpoint %s: %w", e.ID, err)
	}
	return nil
}

// UpdateEndpoint replaces a registered endpoint.
func (q *PGStore) UpdateEndpoint(ctx context.Context, e Endpoint) error {
	tag, err := q.pool.Exec(ctx, `UPDATE `+q.endpoints+` SET url = $2, event_types = $3, description = $4, enabled = $5,
    disabled_reason = $6, created_at = $7, secret = $8, previous_secret = $9, previous_until = $10, extra_signatures = $11 WHERE id = $1`, endpointArgs(e)...)
	if err != nil {
		return fmt.Errorf("update endpoint %s: %w", e.ID, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("update endpoint %s: %w", e.ID, ErrNotFound)
	}
	return nil
}

// RemoveEndpoint forgets an endpoint and its secrets; its deliveries stay in the log.
func (q *PGStore) RemoveEndpoint(ctx context.Context, id string) error {
	tag, err := q.pool.Exec(ctx, `DELETE FROM `+q.endpoints+` WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("remove endpoint %s: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("remove endpoint %s: %w", id, ErrNotFound)
	}
	return nil
}

// Endpoint returns a registered endpoint.
func (q *PGStore) Endpoint(ctx context.Context, id string) (Endpoint, bool, error) {
	e, err := scanEndpoint(q.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM `+q.endpoints+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Endpoint{}, false, nil
	}
	if err != nil {
		return Endpoint{}, false, fmt.Errorf("read endpoint %s: %w", id, err)
	}
	return e, true, nil
}

// ListEndpoints returns every registered endpoint, oldest first.
func (q *PGStore) ListEndpoints(ctx context.Context) ([]Endpoint, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+endpointColumns+` FROM `+q.endpoints+` ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	defer rows.Close()
	out := []Endpoint{}
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("list endpoints: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return out, nil
}

// Disable stops deliveries to an endpoint (its receiver answered 410 Gone).
func (q *PGStore) Disable(ctx context.Context, id, reason string) error {
	if _, err := q.pool.Exec(ctx, `UPDATE `+q.endpoints+` SET enabled = false, disabled_reason = $2 WHERE id = $1`, id, reason); err != nil {
		return fmt.Errorf("disable endpoint %s: %w", id, err)
	}
	return nil
}

// DispatchCursor is how far the outbox has been turned into deliveries.
func (q *PGStore) DispatchCursor(ctx context.Context) (outbox.Cursor, error) {
	var c outbox.Cursor
	var final, event int64
	err := q.pool.QueryRow(ctx, `SELECT final_position, event_position, endpoint_id FROM `+q.dispatch).Scan(&final, &event, &c.EndpointID)
	if errors.Is(err, pgx.ErrNoRows) {
		return outbox.Cursor{}, nil
	}
	if err != nil {
		return outbox.Cursor{}, fmt.Errorf("read the dispatch cursor: %w", err)
	}
	c.FinalPosition, c.EventPosition = eventstore.Position(final), eventstore.Position(event)
	return c, nil
}

// SetDispatchCursor records how far the outbox has been turned into deliveries.
func (q *PGStore) SetDispatchCursor(ctx context.Context, c outbox.Cursor) error {
	_, err := q.pool.Exec(ctx, `INSERT INTO `+q.dispatch+` (final_position, event_position, endpoint_id) VALUES ($1, $2, $3)
ON CONFLICT (one) DO UPDATE SET final_position = $1, event_position = $2, endpoint_id = $3`,
		int64(c.FinalPosition), int64(c.EventPosition), c.EndpointID)
	if err != nil {
		return fmt.Errorf("write the dispatch cursor: %w", err)
	}
	return nil
}
