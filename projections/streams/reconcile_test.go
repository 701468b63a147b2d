package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/reconcile"
	"github.com/streamledger/streamledger/projections/streams"
)

// The stream contract's storage, as the simulated network serves it, agrees with the streams folded from the log
// at the same ledger (closed streams have no entry); a deposit drifted in the served storage is found.
func TestStreamReconciliationCatchesADrift(t *testing.T) {
	net, err := sim.New(sim.Config{Seed: 12, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 8, TxPerLedger: 3,
		Ledgers: 200, Reorgs: true, ReorgEvery: 11, ReorgDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	bound, err := chain.NewContracts(chain.Binding{Contract: net.ContractID(), Module: fluxora.Module{}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: bound})
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: net.StartLedger(), SafetyMargin: 1,
		Open: func() (ledgerbackend.LedgerBackend, error) { return net.Backend(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	go func() { _ = in.Run(ctx) }()
	for in.Status().Tip < net.LastLedger() && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	cancel()
	p := streams.NewMemory(store)
	r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Projection: p, Codec: fluxora.NewCodec()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	open := uint64(0)
	for _, s := range p.All() {
		ids = append(ids, s.StreamID)
		if s.Status != fluxora.StatusClosed && open == 0 {
			open = s.StreamID
		}
	}
	hook := streams.Reconcile{Log: store, IDs: func(context.Context, domain.Address) ([]uint64, error) { return ids, nil }}
	runner := reconcile.Runner{Source: net, Targets: []reconcile.Target{{Contract: net.ContractID(), Module: fluxora.Name, Hook: hook}},
		Log: store, Tip: func() uint32 { return in.Status().Tip }}
	run, drifts, err := runner.Run(context.Background())
	if err != nil || len(drifts) != 0 || run.Ledger != net.LastLedger() || len(ids) < 8 {
		t.Fatalf("a clean run over %d streams: %+v %+v %v", len(ids), run, drifts, err)
	}
	// Keys taken while the log knew fewer streams than it does at the ledger the storage is read at (the source is
	// ahead): the streams created since were not read and are not compared, though the read model now lists them.
	early := net.LastLedger() / 2
	var earlyIDs []uint64
	for _, s := range p.All() {
		if s.CreatedLedger <= early {
			earlyIDs = append(earlyIDs, s.StreamID)
		}
	}
	if len(earlyIDs) == 0 || len(earlyIDs) == len(ids) {
		t.Fatalf("%d of %d streams created by ledger %d: the case is not exercised", len(earlyIDs), len(ids), early)
	}
	stale := reconcile.Runner{Source: net, Targets: []reconcile.Target{{Contract: net.ContractID(), Module: fluxora.Name,
		Hook: staleKeys{Reconcile: hook, ids: earlyIDs}}}, Log: store, Tip: func() uint32 { return in.Status().Tip }}
	if _, drifts, err := stale.Run(context.Background()); err != nil || len(drifts) != 0 {
		t.Fatalf("keys of %d streams, %d known at the read: %+v %v", len(earlyIDs), len(ids), drifts, err)
	}
	net.DriftStream(open, domain.NewAmount(7))
	_, drifts, err = runner.Run(context.Background())
	if err != nil || len(drifts) != 1 || drifts[0].Field != "depositAmount" || drifts[0].Magnitude.Cmp(domain.NewAmount(7)) != 0 {
		t.Fatalf("after a drift of 7 on stream %d: %+v %v", open, drifts, err)
	}
}

// staleKeys is the stream hook with keys taken from an older read model.
type staleKeys struct {
	streams.Reconcile
	ids []uint64
}

func (h staleKeys) Keys(ctx context.Context, c domain.Address) ([]xdr.LedgerKey, error) {
	return streams.Reconcile{IDs: func(context.Context, domain.Address) ([]uint64, error) { return h.ids, nil }}.Keys(ctx, c)
}
