// Package pgschema creates PostgreSQL tables that several goroutines or processes may create at the same time (a
// serve starting its projections and its webhook dispatch, a replay beside a serve). CREATE … IF NOT EXISTS does
// not make that safe: of two transactions creating the same table, the second fails on a catalog unique index
// (pg_type_typname_nsp_index) instead of finding the table. Create serialises the statements per schema with a
// transaction-scoped advisory lock, the one the event store's migrations take.
//
// Create makes the schema too, under the same lock, so that no caller depends on another having made it first (the
// audit signing key's table, created at once with the projections' in a fresh schema, once found no schema).
package pgschema

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Create makes schema when missing, then runs ddl (one or several statements, no parameters, may be empty), in one
// transaction that holds schema's lock.
func Create(ctx context.Context, pool *pgxpool.Pool, schema, ddl string) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := Lock(ctx, tx, schema); err != nil {
		return err
	}
	if err := Ensure(ctx, tx, schema); err != nil {
		return err
	}
	if ddl != "" {
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Ensure makes schema in tx, which holds schema's lock, when it is missing. It asks first because CREATE SCHEMA IF
// NOT EXISTS needs the database's CREATE privilege even when the schema exists, which a role given only a schema
// its administrator made lacks.
func Ensure(ctx context.Context, tx pgx.Tx, schema string) error {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		return fmt.Errorf("look up schema %s: %w", schema, err)
	}
	if exists {
		return nil
	}
	if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	return nil
}

// Lock takes schema's lock for the rest of tx.
func Lock(ctx context.Context, tx pgx.Tx, schema string) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", LockKey(schema, "migrate")); err != nil {
		return fmt.Errorf("lock schema %s: %w", schema, err)
	}
	return nil
}

// LockKey derives a per-schema advisory lock key, so that different schemas never wait for each other.
func LockKey(schema, purpose string) int64 {
	h := fnv.New64a()
	h.Write([]byte("streamledger|" + purpose + "|" + schema))
	return int64(h.Sum64())
}
