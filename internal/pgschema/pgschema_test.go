package pgschema

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/streamledger/streamledger/internal/pgtest"
)

// TestConcurrentCreation: goroutines creating the same tables and indexes at once in a schema that does not exist
// yet all succeed. Without the lock, CREATE … IF NOT EXISTS in concurrent transactions fails on the catalog's
// unique indexes; without Create making the schema, whoever runs first finds none.
func TestConcurrentCreation(t *testing.T) {
	url := pgtest.URL(t)
	pool := pgtest.Pool(t, url)
	ctx := context.Background()
	for round := 0; round < 10; round++ {
		schema := pgtest.Schema(t, url)
		q := pgx.Identifier{schema}.Sanitize()
		ddl := `CREATE TABLE IF NOT EXISTS ` + q + `.things (id bigint PRIMARY KEY, name text NOT NULL);
CREATE INDEX IF NOT EXISTS things_name ON ` + q + `.things (name)`
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				if i%2 == 0 {
					errs <- Create(ctx, pool, schema, "")
					return
				}
				errs <- Create(ctx, pool, schema, ddl)
			})
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

// TestCreateInAGivenSchema: a role that may not create schemas in the database, working in a schema its
// administrator made for it, creates its tables. CREATE SCHEMA IF NOT EXISTS would be refused there even though
// the schema exists.
func TestCreateInAGivenSchema(t *testing.T) {
	url := pgtest.URL(t)
	admin := pgtest.Pool(t, url)
	ctx := context.Background()
	schema := pgtest.Schema(t, url)
	role := schema + "_role"
	exec := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE ROLE " + role + " LOGIN NOCREATEDB")
	t.Cleanup(func() {
		if _, err := admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; DROP ROLE IF EXISTS "+role); err != nil {
			t.Errorf("drop role: %v", err)
		}
	})
	exec("CREATE SCHEMA " + schema + " AUTHORIZATION " + role)
	var mayCreate bool
	if err := admin.QueryRow(ctx, "SELECT has_database_privilege($1, current_database(), 'CREATE')", role).Scan(&mayCreate); err != nil {
		t.Fatal(err)
	}
	if mayCreate {
		t.Fatalf("the test needs a database where PUBLIC may not create schemas (PostgreSQL's default)")
	}

	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	asRole := pgtest.Pool(t, fmt.Sprintf("postgres://%s@%s:%d/%s", role, cfg.Host, cfg.Port, cfg.Database))
	if _, err := asRole.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err == nil {
		t.Fatal("CREATE SCHEMA IF NOT EXISTS was allowed: the test does not exercise the case")
	}
	ddl := `CREATE TABLE IF NOT EXISTS ` + schema + `.things (id bigint PRIMARY KEY)`
	for range 2 {
		if err := Create(ctx, asRole, schema, ddl); err != nil {
			t.Fatal(err)
		}
	}
}
