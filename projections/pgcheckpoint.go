package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/eventstore"
)

// ErrCheckpointMoved means another runner advanced the checkpoint under us: two projectors are running, and the
// batch is rolled back rather than applied twice.
var ErrCheckpointMoved = errors.New("projection checkpoint moved under this runner")

// PGCheckpoints keeps PostgreSQL projections' checkpoints, one row per (projection, generation), updated in the
// transaction of the read-model changes it covers.
type PGCheckpoints struct {
	table string
}

// NewPGCheckpoints creates the checkpoint table in schema if it is missing.
func NewPGCheckpoints(ctx context.Context, pool *pgxpool.Pool, schema string) (*PGCheckpoints, error) {
	c := &PGCheckpoints{table: pgx.Identifier{schema, "projection_checkpoints"}.Sanitize()}
	_, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()+`;
CREATE TABLE IF NOT EXISTS `+c.table+` (
    projection text   NOT NULL,
    generation int    NOT NULL,
    position   bigint NOT NULL DEFAULT 0,
    live       bool   NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, generation)
)`)
	if err != nil {
		return nil, fmt.Errorf("create projection checkpoints: %w", err)
	}
	return c, nil
}

// Querier is a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Ensure registers a (projection, generation) at position 0 if it is new, and returns its position.
func (c *PGCheckpoints) Ensure(ctx context.Context, pool *pgxpool.Pool, name string, generation int) (eventstore.Position, error) {
	if _, err := pool.Exec(ctx, `INSERT INTO `+c.table+` (projection, generation) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		name, generation); err != nil {
		return 0, fmt.Errorf("register projection %s generation %d: %w", name, generation, err)
	}
	return c.Read(ctx, pool, name, generation)
}

// Read returns a projection generation's position.
func (c *PGCheckpoints) Read(ctx context.Context, q Querier, name string, generation int) (eventstore.Position, error) {
	var pos int64
	if err := q.QueryRow(ctx, `SELECT position FROM `+c.table+` WHERE projection = $1 AND generation = $2`, name, generation).Scan(&pos); err != nil {
		return 0, fmt.Errorf("read checkpoint of %s generation %d: %w", name, generation, err)
	}
	return eventstore.Position(pos), nil
}

// Lock locks a projection generation's checkpoint row for the transaction and checks that a batch starting at
// first comes after it; it returns the checkpoint to Advance from.
func (c *PGCheckpoints) Lock(ctx context.Context, tx pgx.Tx, name string, generation int, first eventstore.Position) (eventstore.Position, error) {
	var pos int64
	err := tx.QueryRow(ctx, `SELECT position FROM `+c.table+` WHERE projection = $1 AND generation = $2 FOR UPDATE`,
		name, generation).Scan(&pos)
	if err != nil {
		return 0, fmt.Errorf("lock checkpoint of %s: %w", name, err)
	}
	if eventstore.Position(pos) >= first {
		return 0, fmt.Errorf("%w: %s at %d, batch starts at %d", ErrCheckpointMoved, name, pos, first)
	}
	return eventstore.Position(pos), nil
}

// Advance moves the checkpoint from → to inside tx, failing with ErrCheckpointMoved if it is not at from.
func (c *PGCheckpoints) Advance(ctx context.Context, tx pgx.Tx, name string, generation int, from, to eventstore.Position) error {
	tag, err := tx.Exec(ctx, `UPDATE `+c.table+` SET position = $4, updated_at = now() WHERE projection = $1 AND generation = $2 AND position = $3`,
		name, generation, int64(from), int64(to))
	if err != nil {
		return fmt.Errorf("advance checkpoint of %s: %w", name, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: %s generation %d is no longer at %d", ErrCheckpointMoved, name, generation, from)
	}
	return nil
}
