package ledgers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections"
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
	mem, pg := caughtUp(ctx, t, store, 7, 5)
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

	// Start: every event of the current branch's ledgers from seq on lies after it, and it is where the index says
	// the events of ledger seq begin (no earlier than the marker of the ledger before); by close time likewise;
	// beyond the tip, after the last marker. (After a reorg PostgreSQL's From can be the fork's marker rather than
	// the reorg's: earlier, so still safe.)
	recs, err := store.ReadAll(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	reverted := map[string]bool{}
	for _, rec := range recs {
		if e, err := fluxoraEvents.Unmarshal(rec.Data); err == nil {
			if r, ok := e.(*domain.EventReverted); ok {
				reverted[r.RevertedEventID] = true
			}
		}
	}
	for seq := uint32(2); seq <= 73; seq++ {
		for name, idx := range map[string]interface {
			Get(context.Context, uint32) (Ledger, uint32, bool, error)
			Start(context.Context, uint32, time.Time) (eventstore.Position, error)
		}{"memory": mem, "postgres": pg} {
			l, _, indexed, _ := idx.Get(ctx, seq)
			before, _, _, _ := idx.Get(ctx, seq-1)
			want := recs[len(recs)-1].Position
			if indexed {
				want = l.From
			}
			if want < before.Position {
				t.Fatalf("%s: ledger %d begins at %d, before the marker of ledger %d (%d)", name, seq, want, seq-1, before.Position)
			}
			for _, since := range []time.Time{{}, l.ClosedAt} {
				start, err := idx.Start(ctx, seq, since)
				if err != nil || start != want {
					t.Fatalf("%s: start of ledger %d (since %v): %d, %v; want %d", name, seq, since, start, err, want)
				}
			}
			if indexed {
				if start, err := idx.Start(ctx, 0, l.ClosedAt); err != nil || start != want {
					t.Fatalf("%s: start of ledgers closed from %v: %d, %v; want %d", name, l.ClosedAt, start, err, want)
				}
			}
			for _, rec := range recs {
				e, err := fluxoraEvents.Unmarshal(rec.Data)
				if err != nil {
					t.Fatal(err)
				}
				if ce, ok := e.(domain.ChainEvent); ok && !reverted[rec.ID] && ce.ChainMetadata().Ledger >= seq && rec.Position <= want {
					t.Fatalf("%s: event %s of ledger %d at position %d, not after the start of ledger %d (%d)", name, rec.ID,
						ce.ChainMetadata().Ledger, rec.Position, seq, want)
				}
			}
		}
	}
}

// TestTipComesDownWithARewind: after a rewind (a reorg marker whose new tip is the fork and no new branch) the
// tip the index reports for finality is the fork, in memory as in PostgreSQL, until ledgers close above it again.
func TestTipComesDownWithARewind(t *testing.T) {
	ctx := context.Background()
	var events []projections.Event
	add := func(e domain.Event) {
		pos := eventstore.Position(len(events) + 1)
		events = append(events, projections.Event{Recorded: eventstore.Recorded{Position: pos, Type: string(e.Type())}, Domain: e})
	}
	closed := func(seq uint32) {
		add(&domain.LedgerClosed{Ledger: seq, Hash: fmt.Sprintf("h%d", seq), ClosedAt: time.Unix(int64(seq), 0).UTC()})
	}
	for seq := uint32(1); seq <= 10; seq++ {
		closed(seq)
	}
	add(&domain.ChainReorganized{Fork: 6, OldTip: 10, NewTip: 6})
	rewound := len(events)
	closed(7)

	url := pgtest.URL(t)
	pg, err := OpenPostgres(ctx, pgtest.Pool(t, url), pgtest.Schema(t, url), 1)
	if err != nil {
		t.Fatal(err)
	}
	indexes := map[string]interface {
		projections.Projection
		Get(context.Context, uint32) (Ledger, uint32, bool, error)
	}{"memory": NewMemory(), "postgres": pg}
	for name, idx := range indexes {
		for _, step := range []struct {
			batch []projections.Event
			tip   uint32
		}{{events[:rewound], 6}, {events[rewound:], 7}} {
			if err := idx.Apply(ctx, step.batch); err != nil {
				t.Fatal(err)
			}
			if _, tip, ok, err := idx.Get(ctx, 5); err != nil || !ok || tip != step.tip {
				t.Fatalf("%s: ledger 5 with tip %d (found %v, %v), want tip %d", name, tip, ok, err, step.tip)
			}
		}
	}
}

// TestIndexHoldsVerifiedRanges: final ledgers without events, stored as verified ranges, are found in the range
// that holds them (memory and PostgreSQL alike), with the hashes of its ends as the chain has them; the others as
// themselves.
func TestIndexHoldsVerifiedRanges(t *testing.T) {
	ctx := context.Background()
	cfg := sim.Config{Seed: 9, Streams: 4, TxPerLedger: 1, Ledgers: 120}
	store := memory.New()
	simtest.Ingest(t, cfg, 1, store)
	canonical, err := sim.New(func() sim.Config { c := cfg; c.NetworkPassphrase = "Test SDF Network ; September 2015"; return c }())
	if err != nil {
		t.Fatal(err)
	}
	hash := func(seq uint32) string {
		lcm, err := canonical.Canonical(seq)
		if err != nil {
			t.Fatal(err)
		}
		return lcm.LedgerHash().HexString()
	}
	mem, pg := caughtUp(ctx, t, store, 11, 13)
	inRanges := 0
	for seq := uint32(2); seq <= 121; seq++ {
		var got [2]Ledger
		for i, idx := range []interface {
			Get(context.Context, uint32) (Ledger, uint32, bool, error)
		}{mem, pg} {
			l, tip, ok, err := idx.Get(ctx, seq)
			if err != nil || !ok || tip != 121 {
				t.Fatalf("ledger %d: ok %v tip %d (%v)", seq, ok, tip, err)
			}
			got[i] = l
		}
		if got[0] != got[1] {
			t.Fatalf("ledger %d: memory %+v, PostgreSQL %+v", seq, got[0], got[1])
		}
		l := got[0]
		if !l.Range() {
			if l.Sequence != seq || l.Hash != hash(seq) {
				t.Fatalf("ledger %d: %+v", seq, l)
			}
			continue
		}
		inRanges++
		if l.First > seq || l.Sequence < seq || l.Hash != hash(l.Sequence) || l.PreviousHash != hash(l.First-1) || l.EventCount != 0 {
			t.Fatalf("ledger %d in range %d..%d: %+v", seq, l.First, l.Sequence, l)
		}
	}
	if inRanges == 0 {
		t.Fatal("no ledger in a verified range: the fixture needs ledgers without events")
	}
	// Before the first ledger held and after the tip: nothing, though an entry lies above the first.
	for _, seq := range []uint32{1, 122} {
		for name, idx := range map[string]interface {
			Get(context.Context, uint32) (Ledger, uint32, bool, error)
		}{"memory": mem, "postgres": pg} {
			if l, _, ok, err := idx.Get(ctx, seq); ok || err != nil {
				t.Fatalf("%s: ledger %d, never ingested: %+v (%v)", name, seq, l, err)
			}
		}
	}
}

// caughtUp is the index in memory and in PostgreSQL, each caught up with store in its own batch size.
func caughtUp(ctx context.Context, t *testing.T, store projections.Reader, memBatch, pgBatch int) (*Memory, *Postgres) {
	t.Helper()
	mem := NewMemory()
	simtest.CatchUp(t, store, mem, memBatch)
	url := pgtest.URL(t)
	pg, err := OpenPostgres(ctx, pgtest.Pool(t, url), pgtest.Schema(t, url), 1)
	if err != nil {
		t.Fatal(err)
	}
	simtest.CatchUp(t, store, pg, pgBatch)
	return mem, pg
}

// fluxoraEvents reads what the simulated Fluxora contract's events are stored as.
var fluxoraEvents = domain.MustRegistry(fluxora.Events()...)
