package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgschema"
)

// ErrRetired means a newer generation of the projection went live: this one is no longer updated, and a runner
// on it should stop (and one on the live generation start).
var ErrRetired = errors.New("projection generation retired")

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
	err := pgschema.Create(ctx, pool, schema, `CREATE TABLE IF NOT EXISTS `+c.table+` (
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
	var retired bool
	err := tx.QueryRow(ctx, `SELECT position, NOT live AND EXISTS (SELECT 1 FROM `+c.table+` l WHERE l.projection = c.projection
    AND l.live AND l.generation > c.generation)
FROM `+c.table+` c WHERE projection = $1 AND generation = $2 FOR UPDATE`, name, generation).Scan(&pos, &retired)
	if err != nil {
		return 0, fmt.Errorf("lock checkpoint of %s: %w", name, err)
	}
	if retired {
		return 0, fmt.Errorf("%w: %s generation %d", ErrRetired, name, generation)
	}
	if eventstore.Position(pos) >= first {
		return 0, fmt.Errorf("%w: %s at %d, batch starts at %d", ErrCheckpointMoved, name, pos, first)
	}
	return eventstore.Position(pos), nil
}

// Live returns the live generation of a projection, making generation 1 live when the projection has none.
func (c *PGCheckpoints) Live(ctx context.Context, pool *pgxpool.Pool, name string) (int, error) {
	var gen int
	err := pool.QueryRow(ctx, `WITH made AS (
    INSERT INTO `+c.table+` (projection, generation, live)
    SELECT $1, 1, true WHERE NOT EXISTS (SELECT 1 FROM `+c.table+` WHERE projection = $1 AND live)
    ON CONFLICT (projection, generation) DO UPDATE SET live = true
    RETURNING generation)
SELECT generation FROM made UNION ALL SELECT generation FROM `+c.table+` WHERE projection = $1 AND live`, name).Scan(&gen)
	if err != nil {
		return 0, fmt.Errorf("live generation of %s: %w", name, err)
	}
	return gen, nil
}

// Next returns a generation number no one has used for the projection.
func (c *PGCheckpoints) Next(ctx context.Context, pool *pgxpool.Pool, name string) (int, error) {
	var gen int
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(generation), 0) + 1 FROM `+c.table+` WHERE projection = $1`, name).Scan(&gen); err != nil {
		return 0, fmt.Errorf("next generation of %s: %w", name, err)
	}
	return gen, nil
}

// Switch makes generation gen live in tx, retiring the others.
func (c *PGCheckpoints) Switch(ctx context.Context, tx pgx.Tx, name string, gen int) error {
	if _, err := tx.Exec(ctx, `UPDATE `+c.table+` SET live = (generation = $2) WHERE projection = $1`, name, gen); err != nil {
		return fmt.Errorf("switch %s to generation %d: %w", name, gen, err)
	}
	return nil
}

// LockPosition locks a generation's checkpoint row in tx (no batch of it commits until tx ends) and returns it.
func (c *PGCheckpoints) LockPosition(ctx context.Context, tx pgx.Tx, name string, gen int) (eventstore.Position, error) {
	var pos int64
	if err := tx.QueryRow(ctx, `SELECT position FROM `+c.table+` WHERE projection = $1 AND generation = $2 FOR UPDATE`,
		name, gen).Scan(&pos); err != nil {
		return 0, fmt.Errorf("lock checkpoint of %s generation %d: %w", name, gen, err)
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

// Apply runs a batch's writes in one transaction with the checkpoint: it locks the generation's checkpoint
// (refusing a batch the checkpoint is already past, or a retired generation), calls write, advances the
// checkpoint to the batch's last position and commits.
func (c *PGCheckpoints) Apply(ctx context.Context, pool *pgxpool.Pool, name string, generation int, batch []Event,
	write func(tx pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	from, err := c.Lock(ctx, tx, name, generation, batch[0].Position)
	if err != nil {
		return err
	}
	if err := write(tx); err != nil {
		return err
	}
	if err := c.Advance(ctx, tx, name, generation, from, batch[len(batch)-1].Position); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// PGGeneration is what every PostgreSQL projection generation shares: its registered checkpoint, read and
// advanced with its batches. Projections embed it for Name, Checkpoint and ApplyBatch.
type PGGeneration struct {
	pool        *pgxpool.Pool
	checkpoints *PGCheckpoints
	name        string
	generation  int
}

// OpenPGGeneration registers generation gen of projection name in schema (at position 0 when new).
func OpenPGGeneration(ctx context.Context, pool *pgxpool.Pool, schema, name string, gen int) (PGGeneration, error) {
	cps, err := NewPGCheckpoints(ctx, pool, schema)
	if err != nil {
		return PGGeneration{}, err
	}
	if _, err := cps.Ensure(ctx, pool, name, gen); err != nil {
		return PGGeneration{}, err
	}
	return PGGeneration{pool: pool, checkpoints: cps, name: name, generation: gen}, nil
}

// Name is the projection's name.
func (g PGGeneration) Name() string { return g.name }

// Checkpoint is the position of the last applied event.
func (g PGGeneration) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	return g.checkpoints.Read(ctx, g.pool, g.name, g.generation)
}

// CheckpointIn is the checkpoint as q sees it; in ApplyBatch's transaction, the locked one that the batch follows.
func (g PGGeneration) CheckpointIn(ctx context.Context, q Querier) (eventstore.Position, error) {
	return g.checkpoints.Read(ctx, q, g.name, g.generation)
}

// ApplyBatch runs write in one transaction with the checkpoint's advance over batch (see PGCheckpoints.Apply).
func (g PGGeneration) ApplyBatch(ctx context.Context, batch []Event, write func(tx pgx.Tx) error) error {
	return g.checkpoints.Apply(ctx, g.pool, g.name, g.generation, batch, write)
}
