package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/storetest"
	"github.com/streamledger/streamledger/internal/pgtest"
)

func openTest(tb testing.TB, url, schema string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), url, Config{Schema: schema, PollInterval: 200 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	url := pgtest.URL(t)
	schemas := map[eventstore.Store]string{}
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) eventstore.Store {
			schema := pgtest.Schema(t, url)
			s := openTest(t, url, schema)
			schemas[s] = schema
			return s
		},
		Reopen: func(t *testing.T, s eventstore.Store) eventstore.Store {
			schema := schemas[s]
			s.Close()
			again := openTest(t, url, schema)
			schemas[again] = schema
			return again
		},
	})
}

func TestEventsAreImmutable(t *testing.T) {
	url := pgtest.URL(t)
	s := openTest(t, url, pgtest.Schema(t, url))
	ctx := context.Background()
	if _, err := s.Append(ctx, "s", eventstore.NoStream, storetest.Event("T", 1)); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"UPDATE %s SET type = 'Forged'",
		"DELETE FROM %s",
		"TRUNCATE %s",
	} {
		_, err := s.pool.Exec(ctx, fmt.Sprintf(sql, s.q.events))
		if err == nil || !strings.Contains(err.Error(), "immutable") {
			t.Errorf("%s: error %v, want the immutability error", sql, err)
		}
	}
	if h, _ := s.Head(ctx); h != 1 {
		t.Fatalf("head %d after tampering attempts", h)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	s := openTest(t, url, schema)
	for i := 0; i < 3; i++ {
		if err := Migrate(context.Background(), s.pool, schema); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d migrations recorded, %v", n, err)
	}
}

// TestReconnectAfterConnectionsAreKilled terminates every server connection of the store (as a failover or an
// admin would); the pool reconnects, the listener comes back, and a live subscription keeps going. Only this
// store's connections (its quoted schema, its LISTEN channel; schema t_1 is a prefix of t_17, and LIKE reads _ as a
// wildcard): tests running alongside keep theirs.
func TestReconnectAfterConnectionsAreKilled(t *testing.T) {
	url := pgtest.URL(t)
	s := openTest(t, url, pgtest.Schema(t, url))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch, errs := s.SubscribeAll(ctx, 0)
	first := storetest.Event("T", 1)
	if _, err := s.Append(ctx, "r", eventstore.NoStream, first); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.ID != first.ID {
		t.Fatalf("got %s", r.ID)
	}
	admin, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	err = admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND application_name = '' AND datname = current_database()
		  AND (strpos(query, $1) > 0 OR strpos(query, $2) > 0)`,
		pgx.Identifier{s.schema}.Sanitize(), pgx.Identifier{s.channel}.Sanitize()).Scan(&killed)
	if err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("found no connection of the store to terminate")
	}
	second := storetest.Event("T", 2)
	var appendErr error
	for try := 0; try < 5; try++ { // the first use of a killed pooled connection fails; the pool then replaces it
		if _, appendErr = s.Append(ctx, "r", eventstore.Exact(0), second); appendErr == nil {
			break
		}
	}
	if appendErr != nil {
		t.Fatalf("append after reconnect: %v", appendErr)
	}
	select {
	case r := <-ch:
		if r.ID != second.ID {
			t.Fatalf("got %s", r.ID)
		}
	case err := <-errs:
		t.Fatalf("subscription failed: %v", err)
	case <-ctx.Done():
		t.Fatal("subscription did not resume")
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Open(ctx, "not a url", Config{}); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("bad URL: %v", err)
	}
	if _, err := Open(ctx, "postgres://postgres@127.0.0.1:1/none?connect_timeout=2", Config{}); err == nil {
		t.Error("connecting to a closed port succeeded")
	}
}

func openBench(b *testing.B) eventstore.Store {
	url := pgtest.URL(b)
	return openTest(b, url, pgtest.Schema(b, url))
}

func BenchmarkAppend(b *testing.B)  { storetest.BenchmarkAppend(b, openBench) }
func BenchmarkReadAll(b *testing.B) { storetest.BenchmarkReadAll(b, openBench) }
