package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/internal/pgschema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the schema up to date. It is safe to run concurrently from several processes (an advisory lock
// serialises them) and at every start.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	q := pgx.Identifier{schema}.Sanitize()
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := pgschema.Lock(ctx, tx, schema); err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	if err := pgschema.Ensure(ctx, tx, schema); err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	setup := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %[1]s.schema_migrations (version int PRIMARY KEY, name text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`, q)
	if _, err := tx.Exec(ctx, setup); err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with its number", base)
		}
		var done bool
		err = tx.QueryRow(ctx, fmt.Sprintf("SELECT EXISTS (SELECT 1 FROM %s.schema_migrations WHERE version = $1)", q), version).Scan(&done)
		if err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if done {
			continue
		}
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, strings.ReplaceAll(string(body), "{{schema}}", q)); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s.schema_migrations (version, name) VALUES ($1, $2)", q), version, base); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", schema, err)
	}
	return nil
}
