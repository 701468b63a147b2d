package chain_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/lake"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/simtest"
)

// TestLakeHandsOverToRPC: history from a data lake (ledgers 2..41), then RPC from ledger 42 on, following its tip:
// the store holds ledgers 2..81 once each in one hash chain, and what a clean ingest of the chain holds.
func TestLakeHandsOverToRPC(t *testing.T) {
	cfg := sim.Config{Seed: 82, Ledgers: 80}
	want := clean(t, cfg, 81)
	c := simChain(t, cfg)
	dir := t.TempDir()
	if _, err := lake.Make(context.Background(), lake.MakeConfig{Dir: dir, NetworkPassphrase: passphrase, From: 2, To: 41,
		Ledger: func(_ context.Context, seq uint32) (xdr.LedgerCloseMeta, error) { return c.Canonical(seq) }}); err != nil {
		t.Fatal(err)
	}
	l, err := lake.Open(context.Background(), "file://"+dir, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	src := rpcSource(t, c, 81, nil)
	d, _ := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(t, c.ContractID())})
	store := memory.New()
	var retries atomic.Int32 // the seam is no failure: nothing is retried
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: 2, SafetyMargin: 1, Target: 41, ReaderEnd: 41,
		OpenReader: func(_ context.Context, from uint32) (chain.LedgerReader, error) { return l.Reader(d, from, 41, 2) },
		Open:       src.Open,
		Sleep:      func(ctx context.Context, _ time.Duration) error { retries.Add(1); return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	if in.Status().TargetLedger != 41 {
		t.Fatalf("status %+v", in.Status())
	}
	if err := ingestUntil(t, in, 81); err != nil {
		t.Fatal(err)
	}
	if st := in.Status(); st.Health != chain.HealthHealthy || retries.Load() != 0 {
		t.Fatalf("after the handoff (%d retries): %+v", retries.Load(), st)
	}
	recs := readAll(t, store)
	oneChain(t, recs)
	covered := map[uint32]int{}
	for _, r := range recs {
		e, _ := fluxoraEvents.Unmarshal(r.Data)
		switch m := e.(type) {
		case *domain.LedgerClosed:
			covered[m.Ledger]++
		case *domain.LedgersVerified:
			for s := m.First; s <= m.Last; s++ {
				covered[s]++
			}
		}
	}
	for s := uint32(2); s <= 81; s++ {
		if covered[s] != 1 {
			t.Fatalf("ledger %d is stored %d times", s, covered[s])
		}
	}
	if len(covered) != 80 {
		t.Fatalf("%d ledgers stored, want 80", len(covered))
	}
	sameOutcome(t, outcomeOf(t, recs), want)
}

// TestBackfillingUntilTheTarget: below its target the ingester says backfilling (not stalled, not healthy), and
// healthy once there.
func TestBackfillingUntilTheTarget(t *testing.T) {
	cfg := sim.Config{Seed: 83, Ledgers: 60}
	c := simChain(t, cfg)
	d, _ := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(t, c.ContractID())})
	for _, target := range []uint32{1000, 3} { // never reached, and reached at once
		store := memory.New()
		in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: 2, SafetyMargin: 1, Target: target,
			MaxBatchLedgers: 10, Open: func() (ledgerbackend.LedgerBackend, error) { return c.Backend(), nil }})
		if err != nil {
			t.Fatal(err)
		}
		if st := in.Status(); st.Health != chain.HealthStarting || st.TargetLedger != target {
			t.Fatalf("before the first ledger: %+v", st)
		}
		if err := ingestUntil(t, in, 31); err != nil {
			t.Fatal(err)
		}
		want := chain.HealthBackfilling
		if target == 3 {
			want = chain.HealthHealthy
		}
		if st := in.Status(); st.Health != want {
			t.Fatalf("target %d, tip %d: %s, want %s", target, st.Tip, st.Health, want)
		}
	}
}
