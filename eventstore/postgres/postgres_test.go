package postgres

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/storetest"
	"github.com/streamledger/streamledger/internal/pgtest"
)

func openTest(tb testing.TB, url, schema string) *Store {
	return openConfig(tb, url, Config{Schema: schema, PollInterval: 200 * time.Millisecond})
}

// openConfig opens a store that the test's cleanup closes.
func openConfig(tb testing.TB, url string, cfg Config) *Store {
	tb.Helper()
	s, err := Open(context.Background(), url, cfg)
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

// TestCancelledQueryKeepsItsConnection: a cancelled call is ended by a cancel request and its connection goes
// back to work. pgx's default cuts the socket, which over TLS can leave the server's backend (and any transaction
// it had open, with its locks) waiting up to 15 s for a Terminate that can no longer be sent.
func TestCancelledQueryKeepsItsConnection(t *testing.T) {
	url := pgtest.URL(t)
	s := openTest(t, url, pgtest.Schema(t, url))
	conn, err := s.pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = conn.Exec(ctx, "SELECT pg_sleep(30)")
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "57014" { // query_canceled
		t.Fatalf("cancelled query: %v, want the server's cancellation", err)
	}
	if took := time.Since(start); took > cancelGrace {
		t.Fatalf("the cancelled query took %s to end", took)
	}
	if conn.Conn().IsClosed() {
		t.Fatal("the cancelled query's connection was closed")
	}
	var one int
	if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the connection after the cancel: %d, %v", one, err)
	}
}

// TestFailedAppendsLeaveNoTransactionOpen: appends that fail inside their transaction (a wrong expected version, a
// body the json column refuses, a context cancelled while it runs) leave the pool's one connection usable: a
// connection left in the failed transaction would fail every append after it.
func TestFailedAppendsLeaveNoTransactionOpen(t *testing.T) {
	url := pgtest.URL(t)
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 1
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := New(ctx, pool, Config{Schema: pgtest.Schema(t, url)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "s", eventstore.NoStream, storetest.Event("T", 0)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Append(ctx, "s", eventstore.NoStream, storetest.Event("T", 1)); !errors.Is(err, eventstore.ErrWrongVersion) {
			t.Fatalf("wrong version: %v", err)
		}
		bad := eventstore.NewEvent{ID: uuid.NewString(), Type: "T", Data: []byte(`{"n":`)}
		if _, err := s.Append(ctx, "s", eventstore.Any, bad); err == nil {
			t.Fatal("malformed JSON appended")
		}
		short, cancel := context.WithTimeout(ctx, time.Duration(i)*time.Millisecond)
		s.Append(short, "s", eventstore.Any, storetest.BenchEvents(2000)...) // may land or not
		cancel()
		if _, err := s.Append(ctx, "s", eventstore.Any, storetest.Event("T", 10+i)); err != nil {
			t.Fatalf("round %d: the append after the failures: %v", i, err)
		}
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

// The listener keeps its connection for as long as the store is open: it must not be one of the pool's, or a pool
// of one would leave nothing for appends and reads.
func TestListenerLeavesThePoolToTheOthers(t *testing.T) {
	url := pgtest.URL(t)
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := New(ctx, pool, Config{Schema: pgtest.Schema(t, url), PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	for listening := false; !listening; time.Sleep(10 * time.Millisecond) {
		if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity WHERE strpos(query, $1) > 0 AND pid <> pg_backend_pid())`,
			"LISTEN "+pgx.Identifier{s.channel}.Sanitize()).Scan(&listening); err != nil {
			t.Fatal(err)
		}
	}
	ch, errs := s.SubscribeAll(ctx, 0)
	ev := storetest.Event("T", 1)
	if _, err := s.Append(ctx, "one-connection", eventstore.NoStream, ev); err != nil {
		t.Fatalf("append with the pool's only connection: %v", err)
	}
	receive(t, ctx, ch, errs, ev.ID, "the subscriber was not woken (its poll interval is an hour): no notification")
}

// receive waits for the event id on a subscription, failing with why when ctx ends first.
func receive(t *testing.T, ctx context.Context, ch <-chan eventstore.Recorded, errs <-chan error, id, why string) {
	t.Helper()
	select {
	case r := <-ch:
		if r.ID != id {
			t.Fatalf("got %s, want %s", r.ID, id)
		}
	case err := <-errs:
		t.Fatal(err)
	case <-ctx.Done():
		t.Fatal(why)
	}
}

// TestAnotherProcessIsWoken: a subscriber of another process (another Store on the schema) that never polls is
// woken by the appending transaction's notification, and only once it commits.
func TestAnotherProcessIsWoken(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	writer := openTest(t, url, schema)
	reader := openConfig(t, url, Config{Schema: schema, PollInterval: time.Hour})
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	for listening := false; !listening; time.Sleep(10 * time.Millisecond) {
		if err := admin.QueryRow(ctx, `SELECT count(*) = 2 FROM pg_stat_activity WHERE strpos(query, $1) > 0`,
			"LISTEN "+pgx.Identifier{reader.channel}.Sanitize()).Scan(&listening); err != nil {
			t.Fatal(err)
		}
	}
	ch, errs := reader.SubscribeAll(ctx, 0)
	for i := range 3 {
		ev := storetest.Event("T", i)
		if _, err := writer.Append(ctx, "woken", eventstore.Any, ev); err != nil {
			t.Fatal(err)
		}
		receive(t, ctx, ch, errs, ev.ID, fmt.Sprintf("append %d: the other process's subscriber was not woken (it polls hourly)", i))
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

// TestOpenPoolSize: the pool takes the size it is given, unless the URL sets pool_max_conns; without either it
// has pgx's default.
func TestOpenPoolSize(t *testing.T) {
	url := pgtest.URL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	ctx := context.Background()
	def, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url      string
		maxConns int32
		want     int32
	}{{url, 16, 16}, {url + sep + "pool_max_conns=3", 16, 3}, {url, 0, def.MaxConns}} {
		pool, err := OpenPool(ctx, tc.url, tc.maxConns)
		if err != nil {
			t.Fatal(err)
		}
		if got := pool.Config().MaxConns; got != tc.want {
			t.Errorf("%s with %d: %d connections at most, want %d", tc.url, tc.maxConns, got, tc.want)
		}
		pool.Close()
	}
}

// openBench opens a store without recent events, so that BenchmarkReadAll measures reads from the server.
func openBench(b *testing.B) eventstore.Store {
	url := pgtest.URL(b)
	return openConfig(b, url, Config{Schema: pgtest.Schema(b, url), RecentEvents: -1})
}

// TestRecentEventsAreTheStoredOnes: the events a store keeps from its appends and reads are exactly what the
// server returns (canonical ids, no empty metadata, microsecond UTC times), the writer may reuse its buffers,
// and a read that the kept events only start is completed from the server, including events another process
// appended.
func TestRecentEventsAreTheStoredOnes(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx := context.Background()
	writer := openTest(t, url, schema)
	other := openConfig(t, url, Config{Schema: schema, RecentEvents: 4})
	server := openConfig(t, url, Config{Schema: schema, RecentEvents: -1})

	upper := storetest.Event("T", 1)
	upper.ID = strings.ToUpper(upper.ID)
	withMeta := storetest.Event("T", 2)
	withMeta.Metadata = []byte(`{"by":"test"}`)
	empty := storetest.Event("T", 3)
	empty.Metadata = []byte{}
	batch := []eventstore.NewEvent{upper, withMeta, empty}
	if _, err := writer.Append(ctx, "s", eventstore.NoStream, batch...); err != nil {
		t.Fatal(err)
	}
	for _, e := range batch {
		copy(e.Data, "XXXX") // the writer's buffers are its own again
	}
	if _, err := other.Append(ctx, "t", eventstore.NoStream, storetest.Event("T", 4), storetest.Event("T", 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Append(ctx, "s", eventstore.Any, storetest.Event("T", 6)); err != nil {
		t.Fatal(err)
	}
	want, err := server.ReadAll(ctx, 0, 100)
	if err != nil || len(want) != 6 {
		t.Fatalf("server: %d events, %v", len(want), err)
	}
	for _, s := range []*Store{writer, other} {
		for after := range eventstore.Position(6) {
			got, err := s.ReadAll(ctx, after, 100)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want[after:]) {
				t.Fatalf("after %d:\ngot  %+v\nwant %+v", after, got, want[after:])
			}
		}
	}
	if got, _ := writer.ReadAll(ctx, 0, 2); !reflect.DeepEqual(got, want[:2]) {
		t.Fatalf("a page of 2: %+v", got)
	}
	writer.Close()
	if _, err := writer.ReadAll(ctx, 0, 1); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("read after Close: %v, want ErrClosed", err)
	}
}

// BenchmarkAppend measures batched appends of 1, 100 and 1000 events. Beside the batches of 1000 it measures, in
// the same run, the limit of their table layout: the same rows copied (COPY, one transaction per batch, as an
// append commits) into a table with the events table's columns and indexes, and reports the ratio (DESIGN §11).
// Appends and copies alternate batch by batch, so that both see the same machine and tables of the same size.
func BenchmarkAppend(b *testing.B) {
	storetest.BenchmarkAppendSizes(b, openBench, 1, 100)
	b.Run("batch=1000", func(b *testing.B) {
		const size = 1000
		url := pgtest.URL(b)
		s := openBench(b)
		ctx := context.Background()
		limit := newCopyLimit(b, url)
		batches := make([][]eventstore.NewEvent, b.N)
		copies := make([][][]any, b.N)
		for i := range batches {
			batches[i] = storetest.BenchEvents(size)
			copies[i] = limit.rows(fmt.Sprintf("fluxora-bench-%d", i%997), storetest.BenchEvents(size))
		}
		var appending, copying time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			if _, err := s.Append(ctx, fmt.Sprintf("fluxora-bench-%d", i%997), eventstore.Any, batches[i]...); err != nil {
				b.Fatal(err)
			}
			appending += time.Since(start)
			start = time.Now()
			limit.copy(b, copies[i])
			copying += time.Since(start)
		}
		appendRate := float64(b.N*size) / appending.Seconds()
		copyRate := float64(b.N*size) / copying.Seconds()
		b.ReportMetric(appendRate, "events/s")
		b.ReportMetric(copyRate, "copy-rows/s")
		b.ReportMetric(100*appendRate/copyRate, "%copy")
	})
}

// copyLimit copies rows shaped as the store writes them (fresh ids, the same data) into a table with the events
// table's columns, keys and indexes, one transaction per batch.
type copyLimit struct {
	conn     *pgx.Conn
	table    pgx.Identifier
	pos      int64
	versions map[string]int64
}

func newCopyLimit(b *testing.B, url string) *copyLimit {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(ctx) })
	schema := pgtest.Schema(b, url)
	l := &copyLimit{conn: conn, table: pgx.Identifier{schema, "events"}, versions: map[string]int64{}}
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()+`;
CREATE TABLE `+l.table.Sanitize()+` (position bigint PRIMARY KEY, id uuid NOT NULL UNIQUE, stream text NOT NULL,
    version bigint NOT NULL, type text NOT NULL, data json NOT NULL, metadata json, recorded_at timestamptz NOT NULL,
    UNIQUE (stream, version))`); err != nil {
		b.Fatal(err)
	}
	return l
}

func (l *copyLimit) rows(stream string, events []eventstore.NewEvent) [][]any {
	out := make([][]any, 0, len(events))
	for _, e := range events {
		l.pos++
		v := l.versions[stream]
		l.versions[stream] = v + 1
		out = append(out, []any{l.pos, pgtype.UUID{Bytes: uuid.MustParse(e.ID), Valid: true}, stream, v, e.Type, e.Data, nil, time.Now()})
	}
	return out
}

func (l *copyLimit) copy(b *testing.B, rows [][]any) {
	ctx := context.Background()
	tx, err := l.conn.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tx.CopyFrom(ctx, l.table, []string{"position", "id", "stream", "version", "type", "data", "metadata", "recorded_at"},
		pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}

// TestTwoWritersKeepStreamVersions: a writer that knows a stream's version from its own appends notices that
// another process appended to it in between, whether the expected version then holds or not.
func TestTwoWritersKeepStreamVersions(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx := context.Background()
	a, b := openTest(t, url, schema), openTest(t, url, schema)
	mustAppend := func(s *Store, expected eventstore.ExpectedVersion, n int) eventstore.AppendResult {
		t.Helper()
		res, err := s.Append(ctx, "shared", expected, storetest.Event("T", n))
		if err != nil {
			t.Fatalf("append %d: %v", n, err)
		}
		return res
	}
	mustAppend(a, eventstore.NoStream, 0)
	mustAppend(b, eventstore.Exact(0), 1)
	if _, err := a.Append(ctx, "shared", eventstore.Exact(0), storetest.Event("T", 2)); !errors.Is(err, eventstore.ErrWrongVersion) {
		t.Fatalf("a writer with a stale version appended: %v", err)
	}
	if res := mustAppend(a, eventstore.Exact(1), 3); res.LastVersion != 2 {
		t.Fatalf("version %d, want 2", res.LastVersion)
	}
	if res := mustAppend(a, eventstore.Any, 4); res.LastVersion != 3 { // known, and nobody appended since
		t.Fatalf("version %d, want 3", res.LastVersion)
	}
	mustAppend(b, eventstore.Exact(3), 5)
	if res := mustAppend(a, eventstore.Any, 6); res.LastVersion != 5 {
		t.Fatalf("version %d, want 5", res.LastVersion)
	}
}
