package escrows_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/network"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/contracts/liquifact/liquifactsim"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/escrows"
)

// escrowChain is one simulated chain with escrows: its configuration (the scenario is made afresh for each run)
// and safety margin.
type escrowChain struct {
	cfg     sim.Config
	escrows int
	margin  uint32
	last    uint32
}

func randomEscrowChain(seed uint64) escrowChain {
	r := rand.New(rand.NewPCG(seed, 7))
	margin := uint32(1 + r.IntN(3))
	ledgers := uint32(60 + r.IntN(80))
	cfg := sim.Config{Seed: seed, StartLedger: 2, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 2, TxPerLedger: 1,
		Ledgers: ledgers, Reorgs: true, ReorgEvery: margin + 2 + uint32(r.IntN(6)), ReorgDepth: margin}
	return escrowChain{cfg: cfg, escrows: 3 + r.IntN(6), margin: margin, last: cfg.StartLedger + ledgers - 1}
}

// project ingests the chain (with its reorgs or without) into a fresh store while an escrow projection follows it
// live in batches of batch events, and returns the projection's escrows and the reorgs seen.
func project(t *testing.T, ec escrowChain, reorgs bool, batch int) (string, int, int) {
	t.Helper()
	return projectWith(t, ec, reorgs, batch, func(store *memory.Store) (projections.Projection, func() []liquifact.Escrow) {
		p := escrows.NewMemory(store)
		return p, p.All
	})
}

// projectWith is project with the read model open makes (over the event store) and lists.
func projectWith(t *testing.T, ec escrowChain, reorgs bool, batch int,
	open func(*memory.Store) (projections.Projection, func() []liquifact.Escrow)) (string, int, int) {
	t.Helper()
	sc, err := liquifactsim.New(ec.cfg.Seed, ec.escrows)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ec.cfg
	cfg.Reorgs, cfg.Scenarios = reorgs, []sim.Scenario{sc}
	net, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bindings := []chain.Binding{{Contract: net.ContractID(), Module: fluxora.Module{}}}
	for _, c := range sc.Contracts() {
		bindings = append(bindings, chain.Binding{Contract: c, Module: liquifact.Module{}})
	}
	bound, err := chain.NewContracts(bindings...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: cfg.NetworkPassphrase, Contracts: bound})
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: net.StartLedger(), SafetyMargin: ec.margin,
		Open: func() (ledgerbackend.LedgerBackend, error) { return net.Backend(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	p, all := open(store)
	r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Projection: p, BatchSize: batch, Codec: bound,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan struct{}, 2)
	go func() { r.Run(ctx); done <- struct{}{} }()
	go func() {
		if err := in.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("ingest: %v", err)
		}
		done <- struct{}{}
	}()
	for in.Status().Tip < ec.last && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	<-done
	if err := r.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	list := all()
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), len(list), in.Status().Reorgs
}

// TestEscrowReorgInvariantMemory is DESIGN §4's invariant for escrows: whatever reorgs the chain went through
// (within the safety margin), the escrow read model equals that of a clean ingest of the final canonical chain.
func TestEscrowReorgInvariantMemory(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	reorgs := 0
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		ec := randomEscrowChain(seed)
		batch := 1 + int(seed%11)
		want, n, _ := project(t, ec, false, 500)
		got, _, seen := project(t, ec, true, batch)
		reorgs += seen
		if got != want {
			t.Fatalf("seed %d (margin %d, batch %d, %d reorgs): reorged\n%s\nclean\n%s", seed, ec.margin, batch, seen, got, want)
		}
		if n == 0 {
			t.Fatalf("seed %d: no escrow", seed)
		}
	}
	if reorgs < seeds {
		t.Fatalf("only %d reorgs in %d seeds: the property was not exercised", reorgs, seeds)
	}
	t.Logf("%d seeds, %d reorgs", seeds, reorgs)
}

// TestEscrowReorgInvariantPostgres is the same property for the PostgreSQL read model, whose escrows must also equal
// those the memory read model folds from the clean chain.
func TestEscrowReorgInvariantPostgres(t *testing.T) {
	url := pgtest.URL(t)
	seeds := 12
	if testing.Short() {
		seeds = 4
	}
	reorgs := 0
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		ec := randomEscrowChain(seed)
		batch := 1 + int(seed%7)
		want, n, _ := project(t, ec, false, 500)
		got, _, seen := projectWith(t, ec, true, batch, func(store *memory.Store) (projections.Projection, func() []liquifact.Escrow) {
			ctx := context.Background()
			p, err := escrows.OpenPostgres(ctx, pgtest.Pool(t, url), pgtest.Schema(t, url), 1, store)
			if err != nil {
				t.Fatal(err)
			}
			return p, func() []liquifact.Escrow {
				list, _, err := p.List(ctx, escrows.Filter{}, escrows.Page{Limit: 1 << 20})
				if err != nil {
					t.Fatal(err)
				}
				return list
			}
		})
		reorgs += seen
		if got != want {
			t.Fatalf("seed %d (margin %d, batch %d, %d reorgs): PostgreSQL after reorgs\n%s\nmemory, clean\n%s", seed, ec.margin, batch, seen, got, want)
		}
		if n == 0 {
			t.Fatalf("seed %d: no escrow", seed)
		}
	}
	if reorgs < seeds {
		t.Fatalf("only %d reorgs in %d seeds: the property was not exercised", reorgs, seeds)
	}
	t.Logf("%d seeds, %d reorgs", seeds, reorgs)
}
