package projections_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/ledgers"
	"github.com/streamledger/streamledger/projections/outbox"
	"github.com/streamledger/streamledger/projections/streams"
	"github.com/streamledger/streamledger/webhooks"
)

// TestOpeningConcurrently: what serve opens at start, opened twice at once in a fresh schema (a runner and the
// webhook dispatch open the same outbox generation; a replay may open beside a serve): every open succeeds. Before
// the creation of tables was serialised per schema, one of two concurrent CREATE … IF NOT EXISTS failed with a
// duplicate key in PostgreSQL's catalog.
func TestOpeningConcurrently(t *testing.T) {
	url := pgtest.URL(t)
	pool := pgtest.Pool(t, url)
	ctx := context.Background()
	log := memory.New()
	opens := map[string]func(schema string) error{
		"checkpoints": func(schema string) error { _, err := projections.NewPGCheckpoints(ctx, pool, schema); return err },
		"streams":     func(schema string) error { _, err := streams.OpenPostgres(ctx, pool, schema, 1, log); return err },
		"audit": func(schema string) error {
			_, err := audit.OpenPostgres(ctx, pool, schema, 1, streams.AuditFoldsOn(log))
			return err
		},
		"audit key": func(schema string) error {
			_, _, err := audit.LoadOrCreateKeyPG(ctx, pool, schema, "test")
			return err
		},
		"outbox":   func(schema string) error { _, err := outbox.OpenPostgres(ctx, pool, schema, 1, 1); return err },
		"ledgers":  func(schema string) error { _, err := ledgers.OpenPostgres(ctx, pool, schema, 1); return err },
		"webhooks": func(schema string) error { _, err := webhooks.OpenPGStore(ctx, pool, schema); return err },
	}
	for round := 0; round < 3; round++ {
		schema := pgtest.Schema(t, url)
		var wg sync.WaitGroup
		errs := make(chan error, 2*len(opens))
		for name, open := range opens {
			for range 2 {
				wg.Go(func() {
					if err := open(schema); err != nil {
						errs <- fmt.Errorf("%s: %w", name, err)
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
	}
}
