package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGQueue keeps deliveries in PostgreSQL. Claims take due rows with FOR UPDATE SKIP LOCKED and stamp a lease, so
// any number of workers (in any number of processes) share the queue without attempting one delivery twice at
// once; every attempt is a row of the attempt log.
type PGQueue struct {
	pool       *pgxpool.Pool
	deliveries string
	attempts   string
}

// OpenPGQueue creates the queue's tables in schema when missing.
func OpenPGQueue(ctx context.Context, pool *pgxpool.Pool, schema string) (*PGQueue, error) {
	q := &PGQueue{pool: pool, deliveries: pgx.Identifier{schema, "webhook_deliveries"}.Sanitize(),
		attempts: pgx.Identifier{schema, "webhook_attempts"}.Sanitize()}
	_, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()+`;
CREATE TABLE IF NOT EXISTS `+q.deliveries+` (
    id          uuid        PRIMARY KEY,
    seq         bigserial   NOT NULL,
    endpoint_id text        NOT NULL,
    event_type  text        NOT NULL,
    body        bytea       NOT NULL,
    state       text        NOT NULL,
    attempts    int         NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL,
    lease_until timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON `+q.deliveries+` (next_at) WHERE state = 'pending';
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
func (q *PGQueue) Enqueue(ctx context.Context, jobs []Job, now time.Time) error {
	if len(jobs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, j := range jobs {
		b.Queue(`INSERT INTO `+q.deliveries+` (id, endpoint_id, event_type, body, state, next_at) VALUES ($1, $2, $3, $4, 'pending', $5)
ON CONFLICT (id) DO NOTHING`, j.ID, j.EndpointID, j.EventType, j.Body, now)
	}
	if err := q.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("enqueue deliveries: %w", err)
	}
	return nil
}

// Claim leases up to limit due deliveries, oldest due first, skipping rows other workers hold.
func (q *PGQueue) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Job, error) {
	rows, _ := q.pool.Query(ctx, `UPDATE `+q.deliveries+` SET lease_until = $2 WHERE id IN (
    SELECT id FROM `+q.deliveries+`
    WHERE state = 'pending' AND next_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
    ORDER BY next_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING id::text, endpoint_id, event_type, body, state, attempts, next_at`, now, now.Add(lease), limit)
	var out []Job
	var j Job
	var state string
	_, err := pgx.ForEachRow(rows, []any{&j.ID, &j.EndpointID, &j.EventType, &j.Body, &state, &j.Attempts, &j.NextAt}, func() error {
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
func (q *PGQueue) Finish(ctx context.Context, id string, a Attempt, state JobState, next time.Time) error {
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
		return fmt.Errorf("no delivery %s", id)
	}
	return nil
}

// Redeliver queues a delivery again, due now, with the same delivery id.
func (q *PGQueue) Redeliver(ctx context.Context, id string, now time.Time) error {
	tag, err := q.pool.Exec(ctx, `UPDATE `+q.deliveries+` SET state = 'pending', attempts = 0, next_at = $2, lease_until = NULL WHERE id = $1`, id, now)
	if err != nil {
		return fmt.Errorf("redeliver %s: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("no delivery %s", id)
	}
	return nil
}

// Get returns a delivery with its attempt log.
func (q *PGQueue) Get(ctx context.Context, id string) (Job, bool, error) {
	var j Job
	var state string
	var lease *time.Time
	err := q.pool.QueryRow(ctx, `SELECT id::text, endpoint_id, event_type, body, state, attempts, next_at, lease_until FROM `+q.deliveries+
		` WHERE id = $1`, id).Scan(&j.ID, &j.EndpointID, &j.EventType, &j.Body, &state, &j.Attempts, &j.NextAt, &lease)
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
