// Package pgtest gives tests a real PostgreSQL: the server at DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test), with a schema or database of their own so tests can run in parallel.
// Without a server the tests skip, except under CI=true, where a missing server is a failure.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultURL is the development and CI server.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test"

var counter atomic.Int64

// URL returns DATABASE_URL after checking that the server answers.
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		url = DefaultURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL is required under CI=true (DATABASE_URL): %v", err)
		}
		tb.Skipf("no PostgreSQL at DATABASE_URL: %v", err)
	}
	conn.Close(ctx)
	return url
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d_%d_%d", prefix, os.Getpid(), time.Now().UnixNano(), counter.Add(1))
}

func exec(tb testing.TB, url, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Errorf("%s: %v", sql, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Errorf("%s: %v", sql, err)
	}
}

// Schema names a fresh schema (created by whoever migrates into it) and drops it when the test ends.
func Schema(tb testing.TB, url string) string {
	name := uniqueName("t")
	tb.Cleanup(func() { exec(tb, url, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE") })
	return name
}

// Database creates a fresh database, drops it when the test ends, and returns its URL.
func Database(tb testing.TB, url string) string {
	name := uniqueName("t")
	exec(tb, url, "CREATE DATABASE "+name)
	tb.Cleanup(func() { exec(tb, url, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, name)
}

// Pool opens a connection pool to url, closed when the test ends.
func Pool(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}
