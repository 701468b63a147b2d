package pgschema

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/streamledger/streamledger/internal/pgtest"
)

// TestConcurrentCreation: goroutines creating the same schema, tables and indexes at once all succeed. Without
// the lock, CREATE … IF NOT EXISTS in concurrent transactions fails on the catalog's unique indexes.
func TestConcurrentCreation(t *testing.T) {
	url := pgtest.URL(t)
	pool := pgtest.Pool(t, url)
	ctx := context.Background()
	for round := 0; round < 10; round++ {
		schema := pgtest.Schema(t, url)
		q := pgx.Identifier{schema}.Sanitize()
		ddl := `CREATE SCHEMA IF NOT EXISTS ` + q + `;
CREATE TABLE IF NOT EXISTS ` + q + `.things (id bigint PRIMARY KEY, name text NOT NULL);
CREATE INDEX IF NOT EXISTS things_name ON ` + q + `.things (name)`
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() { errs <- Create(ctx, pool, schema, ddl) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}
