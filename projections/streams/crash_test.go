package streams

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections"
)

// filledStore ingests a simulated chain with reorgs into a memory event store.
func filledStore(t *testing.T) *memory.Store {
	t.Helper()
	store := memory.New()
	st := simtest.Ingest(t, sim.Config{Seed: 9, Streams: 8, TxPerLedger: 3, Ledgers: 120, Reorgs: true, ReorgEvery: 9, ReorgDepth: 2}, 2, store)
	if st.Reorgs == 0 {
		t.Fatal("no reorg")
	}
	return store
}

// flaky fails every nth Apply of a memory projection, either before applying it or after (the batch is in, the
// caller hears an error, as after a crash right after commit).
type flaky struct {
	*Memory
	n, calls int
	after    bool
}

func (f *flaky) Apply(ctx context.Context, batch []projections.Event) error {
	f.calls++
	if f.calls%f.n == 0 && !f.after {
		return errors.New("injected: crash before commit")
	}
	if err := f.Memory.Apply(ctx, batch); err != nil {
		return err
	}
	if f.calls%f.n == 0 {
		return errors.New("injected: crash after commit")
	}
	return nil
}

func catchUp(t *testing.T, store projections.Reader, p projections.Projection, batch int) {
	t.Helper()
	r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: p, BatchSize: batch,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	defer func() { // the runner is done with the projection before the test looks at it
		cancel()
		<-done
	}()
	head, _ := store.Head(ctx)
	for {
		pos, _ := p.Checkpoint(ctx)
		if pos >= head {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("stuck at %d of %d: %+v", pos, head, r.Status())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRunnerCrashesApplyEachEventOnce(t *testing.T) {
	store := filledStore(t)
	reference := NewMemory(store)
	catchUp(t, store, reference, 1000)
	want, _ := reference.StateHash()
	for _, after := range []bool{false, true} {
		p := &flaky{Memory: NewMemory(store), n: 3, after: after}
		catchUp(t, store, p, 7)
		if got, _ := p.StateHash(); got != want {
			t.Fatalf("failing after commit %v: state differs from the reference", after)
		}
		if p.calls < 10 {
			t.Fatalf("only %d batches", p.calls)
		}
	}
}

// onPostgres gives the test chain's store, its streams folded in memory and their state hash (what a PostgreSQL
// projection must reach), and a pool and a fresh schema.
func onPostgres(t *testing.T) (*memory.Store, *Memory, string, *pgxpool.Pool, string) {
	t.Helper()
	url := pgtest.URL(t)
	store := filledStore(t)
	reference := NewMemory(store)
	catchUp(t, store, reference, 1000)
	want, _ := reference.StateHash()
	return store, reference, want, pgtest.Pool(t, url), pgtest.Schema(t, url)
}

func TestPostgresCrashBeforeCommitAndLostCommit(t *testing.T) {
	store, reference, want, pool, schema := onPostgres(t)
	ctx := context.Background()
	p, err := OpenPostgres(ctx, pool, schema, 1, store)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	p.beforeCommit = func() error {
		calls++
		if calls%4 == 0 {
			return errors.New("injected: crash between the read-model writes and the commit")
		}
		return nil
	}
	lost := &lostAck{Postgres: p}
	catchUp(t, store, lost, 5)
	if got, err := p.StateHash(ctx); err != nil || got != want {
		t.Fatalf("state differs from the reference (%v)", err)
	}
	if calls < 20 || lost.lost == 0 {
		t.Fatalf("%d batches, %d lost acknowledgements", calls, lost.lost)
	}
	// A second generation built from zero equals the first.
	g2, err := OpenPostgres(ctx, pool, schema, 2, store)
	if err != nil {
		t.Fatal(err)
	}
	catchUp(t, store, g2, 500)
	if got, _ := g2.StateHash(ctx); got != want {
		t.Fatal("generation 2 differs")
	}
	s, ok, err := p.Get(ctx, reference.All()[0].Ref())
	if err != nil || !ok || s.LastEventID != reference.All()[0].LastEventID {
		t.Fatalf("get: %+v %v %v", s, ok, err)
	}
	if _, ok, err := p.Get(ctx, fluxora.StreamRef{ContractID: reference.All()[0].ContractID, StreamID: 1 << 62}); ok || err != nil {
		t.Fatalf("unknown stream: %v %v", ok, err)
	}
}

// lostAck reports every fifth successful Apply as failed: the commit landed, its acknowledgement did not.
type lostAck struct {
	*Postgres
	n, lost int
}

func (l *lostAck) Apply(ctx context.Context, batch []projections.Event) error {
	if err := l.Postgres.Apply(ctx, batch); err != nil {
		return err
	}
	l.n++
	if l.n%5 == 0 {
		l.lost++
		return errors.New("injected: connection lost during COMMIT")
	}
	return nil
}

// TestPostgresResumedByAnotherProcess: a process that takes over a generation finds rows in its table, so it must
// read the states it has not cached back (only a table found empty lets the cache stand for all of it).
func TestPostgresResumedByAnotherProcess(t *testing.T) {
	store, _, want, pool, schema := onPostgres(t)
	ctx := context.Background()
	head, _ := store.Head(ctx)
	for _, part := range []eventstore.Position{head / 3, head} {
		p, err := OpenPostgres(ctx, pool, schema, 1, store)
		if err != nil {
			t.Fatal(err)
		}
		r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: p, BatchSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.CatchUpTo(ctx, part); err != nil {
			t.Fatal(err)
		}
		if part == head {
			if got, err := p.StateHash(ctx); err != nil || got != want {
				t.Fatalf("state differs from the reference (%v)", err)
			}
		}
	}
}

// TestPostgresOlderLayout: a generation made when the table was keyed by a ref column keeps working, through
// reorgs (stream replays and deletions) and point reads; a new generation has no ref column.
func TestPostgresOlderLayout(t *testing.T) {
	store, reference, want, pool, schema := onPostgres(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()+`;
CREATE TABLE `+pgx.Identifier{schema, "streams_g1"}.Sanitize()+` (
    ref              text COLLATE "C" PRIMARY KEY,
    contract_id      text COLLATE "C" NOT NULL,
    stream_id        numeric(20,0) NOT NULL,
    status           text          NOT NULL,
    sender           text COLLATE "C" NOT NULL,
    recipient        text COLLATE "C" NOT NULL,
    updated_position bigint        NOT NULL,
    state            json          NOT NULL,
    UNIQUE (contract_id, stream_id)
)`); err != nil {
		t.Fatal(err)
	}
	for gen, legacy := range map[int]bool{1: true, 2: false} {
		p, err := OpenPostgres(ctx, pool, schema, gen, store)
		if err != nil {
			t.Fatal(err)
		}
		if p.legacyRef != legacy {
			t.Fatalf("generation %d: legacy layout %v", gen, p.legacyRef)
		}
		catchUp(t, store, p, 7)
		if got, err := p.StateHash(ctx); err != nil || got != want {
			t.Fatalf("generation %d differs from the reference (%v)", gen, err)
		}
		first := reference.All()[0]
		if s, ok, err := p.Get(ctx, first.Ref()); err != nil || !ok || s.LastEventID != first.LastEventID {
			t.Fatalf("generation %d: get: %+v %v %v", gen, s, ok, err)
		}
	}
	var refs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "streams_g1"}.Sanitize()+` WHERE ref IS NOT NULL`).Scan(&refs); err != nil || refs != len(reference.All()) {
		t.Fatalf("%d refs for %d streams (%v)", refs, len(reference.All()), err)
	}
}
