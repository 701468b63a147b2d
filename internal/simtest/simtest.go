// Package simtest fills event stores from the simulator for the tests of the packages downstream of ingestion.
package simtest

import (
	"context"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/network"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/projections"
)

// Ingest runs the simulated network cfg through an ingester into store until its last ledger, and returns the
// ingester's final status. cfg.NetworkPassphrase defaults to testnet's; cfg.Ledgers must be set.
func Ingest(tb testing.TB, cfg sim.Config, margin uint32, store chain.Store) chain.Status {
	tb.Helper()
	if cfg.NetworkPassphrase == "" {
		cfg.NetworkPassphrase = network.TestNetworkPassphrase
	}
	net, err := sim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if net.LastLedger() == 0 {
		tb.Fatal("simtest: an endless network cannot be ingested to its end")
	}
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: cfg.NetworkPassphrase, Contracts: Fluxora(tb, net.ContractID())})
	if err != nil {
		tb.Fatal(err)
	}
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: net.StartLedger(), SafetyMargin: margin,
		Open: func() (ledgerbackend.LedgerBackend, error) { return net.Backend(), nil }})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	for in.Status().Tip < net.LastLedger() && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	st := in.Status()
	if st.Tip != net.LastLedger() {
		tb.Fatalf("simtest: ingestion stopped at %d: %+v", st.Tip, st)
	}
	return st
}

// CatchUp applies every stored event to p in batches of batch events, failing the test on any error.
func CatchUp(tb testing.TB, store projections.Reader, p projections.Projection, batch int) {
	tb.Helper()
	r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Projection: p, BatchSize: batch, Codec: fluxora.NewCodec()})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.CatchUp(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// Fluxora binds contracts to the Fluxora module, as CONTRACTS=fluxora:C… does.
func Fluxora(tb testing.TB, contracts ...domain.Address) *chain.Contracts {
	tb.Helper()
	bindings := make([]chain.Binding, len(contracts))
	for i, c := range contracts {
		bindings[i] = chain.Binding{Contract: c, Module: fluxora.Module{}}
	}
	c, err := chain.NewContracts(bindings...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
