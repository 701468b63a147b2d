package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/streams"
)

// TestReadsFollowASwitchAfterTheRecheck: reads look up the live generation once per recheck interval, not per
// read; a switch to a new generation reaches them once the interval has passed.
func TestReadsFollowASwitchAfterTheRecheck(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t, pgtest.Database(t, pgtest.URL(t)))
	cps, err := projections.NewPGCheckpoints(ctx, pool, "read")
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	opened := map[int]projections.Hashed{}
	g := &projections.Generations{Codec: fluxora.NewCodec(), Pool: pool, Store: store, Checkpoints: cps, Recheck: time.Hour,
		Open: func(ctx context.Context, name string, gen int) (projections.Hashed, error) {
			p, err := streams.OpenPostgres(ctx, pool, "read", gen, store)
			opened[gen] = p
			return p, err
		}}
	first, err := g.Live(ctx, streams.Name)
	if err != nil || first != opened[1] {
		t.Fatalf("first: %v, %v; want generation 1", first, err)
	}
	if _, err := streams.OpenPostgres(ctx, pool, "read", 2, store); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cps.Switch(ctx, tx, streams.Name, 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := g.Live(ctx, streams.Name); err != nil || p != first {
		t.Fatalf("right after the switch: %v, %v; want the generation looked up a moment ago", p, err)
	}
	g.Recheck = time.Nanosecond // the interval has passed
	p, err := g.Live(ctx, streams.Name)
	if err != nil || p == first || p != opened[2] {
		t.Fatalf("after the recheck interval: %v, %v; want generation 2", p, err)
	}
}
