package ledgers

import (
	"context"
	"testing"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
)

// TestIndexFollowsTheCurrentBranch: after reorgs, every ledger the index holds is the current branch's (the one
// the ingester ended on), in memory and in PostgreSQL, whatever the batch boundaries.
func TestIndexFollowsTheCurrentBranch(t *testing.T) {
	ctx := context.Background()
	cfg := sim.Config{Seed: 8, Streams: 5, TxPerLedger: 2, Ledgers: 70, Reorgs: true, ReorgEvery: 6, ReorgDepth: 2}
	store := memory.New()
	st := simtest.Ingest(t, cfg, 2, store)
	if st.Reorgs == 0 {
		t.Fatal("no reorg")
	}
	canonical, err := sim.New(func() sim.Config { c := cfg; c.NetworkPassphrase = "Test SDF Network ; September 2015"; return c }())
	if err != nil {
		t.Fatal(err)
	}
	mem := NewMemory()
	simtest.CatchUp(t, store, mem, 7)
	url := pgtest.URL(t)
	pg, err := OpenPostgres(ctx, pgtest.Pool(t, url), pgtest.Schema(t, url), 1)
	if err != nil {
		t.Fatal(err)
	}
	simtest.CatchUp(t, store, pg, 5)
	for seq := uint32(2); seq <= 71; seq++ {
		want, err := canonical.Canonical(seq)
		if err != nil {
			t.Fatal(err)
		}
		for name, idx := range map[string]interface {
			Get(context.Context, uint32) (Ledger, uint32, bool, error)
		}{"memory": mem, "postgres": pg} {
			l, tip, ok, err := idx.Get(ctx, seq)
			if err != nil || !ok || tip != 71 || l.Hash != want.LedgerHash().HexString() || !l.ClosedAt.Equal(want.ClosedAt()) ||
				l.From >= l.Position {
				t.Fatalf("%s ledger %d: %+v tip %d ok %v (%v)", name, seq, l, tip, ok, err)
			}
		}
	}
	if _, _, ok, _ := pg.Get(ctx, 72); ok {
		t.Fatal("a ledger never ingested")
	}
}
