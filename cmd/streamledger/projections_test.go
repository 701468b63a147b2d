package main

import (
	"context"
	"testing"
	"time"

	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/projections/streams"
)

// TestReadsFollowASwitchAfterTheRecheck: reads look up the live generation once per recheck interval, not per
// read; a switch to a new generation reaches them once the interval has passed.
func TestReadsFollowASwitchAfterTheRecheck(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t, pgtest.Database(t, pgtest.URL(t)))
	m, err := newPGReadModels(ctx, pool, memory.New(), 1)
	if err != nil {
		t.Fatal(err)
	}
	m.recheck = time.Hour
	first, err := m.live(ctx, streams.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := streams.OpenPostgres(ctx, pool, m.schema, 2, m.store); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cps.Switch(ctx, tx, streams.Name, 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := m.live(ctx, streams.Name); err != nil || p != first {
		t.Fatalf("right after the switch: %v, %v; want the generation looked up a moment ago", p, err)
	}
	m.recheck = 0 // the interval has passed
	p, err := m.live(ctx, streams.Name)
	if err != nil || p == first || p != m.opened[streams.Name+"/2"] {
		t.Fatalf("after the recheck interval: %v, %v; want generation 2", p, err)
	}
}
