package lake_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/lake"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
)

// ingestAll runs an ingester over cfg's source into a fresh store until the tip reaches last, and returns the log.
func ingestAll(t *testing.T, cfg chain.Config, last uint32) []eventstore.Recorded {
	t.Helper()
	store := memory.New()
	cfg.Store = store
	in, err := chain.NewIngester(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	for in.Status().Tip < last && ctx.Err() == nil && in.Status().Health != chain.HealthHalted {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := in.Status(); st.Tip != last {
		t.Fatalf("ingestion stopped at %d: %+v", st.Tip, st)
	}
	var out []eventstore.Recorded
	for after := eventstore.Position(0); ; {
		page, err := store.ReadAll(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Position
	}
}

// TestLakeAndSimulatorWriteTheSameLog: for batch bounds that cut the chain in many places, an ingester reading the
// lake writes the same log as one reading the simulator: the same batches, so the same verified ranges.
func TestLakeAndSimulatorWriteTheSameLog(t *testing.T) {
	c := simChain(t, 300) // one ledger in three without events
	dir, res := makeLake(t, c, 3, nil, 0)
	l, err := lake.Open(context.Background(), "file://"+dir, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, bounds := range [][2]int{{7, 1 << 20}, {64, 25}, {256, 4096}} {
		t.Run(fmt.Sprintf("ledgers=%d events=%d", bounds[0], bounds[1]), func(t *testing.T) {
			base := chain.Config{Decoder: decoder(t, c), StartLedger: res.First, SafetyMargin: 2, MaxBatchLedgers: bounds[0], MaxBatchEvents: bounds[1]}
			fromSim := base
			fromSim.Open = func() (ledgerbackend.LedgerBackend, error) { return c.Backend(), nil }
			fromLake := base
			fromLake.OpenReader = func(_ context.Context, from uint32) (chain.LedgerReader, error) {
				return l.Reader(base.Decoder, from, res.Last, 2)
			}
			want, got := ingestAll(t, fromSim, res.Last), ingestAll(t, fromLake, res.Last)
			ranges := 0
			for i := range max(len(want), len(got)) {
				if i >= len(want) || i >= len(got) {
					t.Fatalf("the simulator's log has %d events, the lake's %d", len(want), len(got))
				}
				w, g := want[i], got[i]
				if w.ID != g.ID || w.Stream != g.Stream || w.Version != g.Version || w.Position != g.Position || string(w.Data) != string(g.Data) {
					t.Fatalf("event %d: simulator %s %s, lake %s %s", i, w.Type, w.Data, g.Type, g.Data)
				}
				if w.Type == "LedgersVerified" {
					ranges++
				}
			}
			if ranges == 0 {
				t.Fatal("no verified range")
			}
		})
	}
}
