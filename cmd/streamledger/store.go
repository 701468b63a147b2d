package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/bolt"
	"github.com/streamledger/streamledger/eventstore/esdb"
	"github.com/streamledger/streamledger/eventstore/postgres"
	"github.com/streamledger/streamledger/internal/config"
	"github.com/streamledger/streamledger/internal/pgschema"
)

// readModelSchema holds the read models, the webhooks and the audit key in PostgreSQL: beside the events with
// --store postgres (their migrations create it), on its own with --store esdb.
const readModelSchema = "streamledger"

// pgBacked is an event store whose read models live in PostgreSQL (--store postgres and --store esdb); the embedded
// store keeps them in memory.
type pgBacked interface {
	eventstore.Store
	Pool() *pgxpool.Pool
}

// esdbWithReadModels is the EventStoreDB event store with the PostgreSQL pool of the read models.
type esdbWithReadModels struct {
	*esdb.Store
	pool *pgxpool.Pool
}

func (s esdbWithReadModels) Pool() *pgxpool.Pool { return s.pool }

func (s esdbWithReadModels) Close() error {
	err := s.Store.Close()
	s.pool.Close()
	return err
}

// poolSize is the most PostgreSQL connections a process opens when DATABASE_URL does not say (pool_max_conns).
// While serve catches up, the ingester, the four projections, webhook dispatch and delivery each hold a
// connection for a batch at a time; pgx's default of four on two cores left API requests queueing behind them
// (GET /api/streams/:id during a catch-up: p99 35 ms to 1.6 s with four, 16–29 ms with sixteen).
const poolSize = 16

// openStore opens the event store the configuration names.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (eventstore.Store, error) {
	switch cfg.Store {
	case config.StoreEmbedded:
		return bolt.Open(filepath.Join(cfg.DataDir, "events.db"))
	case config.StorePostgres:
		return postgres.Open(ctx, cfg.DatabaseURL, postgres.Config{Logger: log, MaxConns: poolSize})
	case config.StoreESDB:
		pool, err := postgres.OpenPool(ctx, cfg.DatabaseURL, poolSize)
		if err != nil {
			return nil, fmt.Errorf("open the read model database: %w", err)
		}
		if err := pgschema.Create(ctx, pool, readModelSchema, ""); err != nil {
			pool.Close()
			return nil, fmt.Errorf("open the read model database: %w", err)
		}
		events, err := esdb.Open(ctx, cfg.EventStoreURL, esdb.Config{Logger: log.With("component", "eventstoredb")})
		if err != nil {
			pool.Close()
			return nil, err
		}
		return esdbWithReadModels{Store: events, pool: pool}, nil
	default:
		return nil, fmt.Errorf("%w: --store / STORE = %q: want embedded, postgres or esdb", errUsage, cfg.Store)
	}
}
