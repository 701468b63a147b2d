package chain_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/simtest"
)

// TestSeveralEndpoints: three RPC servers, one stale (its tip goes back), one lying (another chain from a ledger the
// store holds as final) and one good. Ingestion follows the good chain to its end, reports no reorg for the lies,
// and sets the other two aside, saying why.
func TestSeveralEndpoints(t *testing.T) {
	cfg := sim.Config{Seed: 71, Ledgers: 140}
	want := clean(t, cfg, 101)
	good := &stubRPC{network: passphrase}
	canonical := simChain(t, cfg)
	good.ledger = func(_ context.Context, seq uint32) (xdr.LedgerCloseMeta, error) { return canonical.Canonical(seq) }
	stale := &stubRPC{network: passphrase, ledger: good.ledger}
	// The liar's chain leaves the canonical one after ledger 40: an abandoned branch it keeps showing.
	liarChain := simChain(t, sim.Config{Seed: 71, Ledgers: 140, Reorgs: true, Script: []sim.Reorg{{At: 135, Depth: 95}}})
	liar := &stubRPC{network: passphrase, ledger: liarChain.Ledger}
	liar.down.Store(true) // it joins later
	good.latest.Store(60)
	stale.latest.Store(55)
	liar.latest.Store(1)
	var urls []string
	for _, s := range []*stubRPC{liar, stale, good} {
		urls = append(urls, s.serve(t).URL)
	}
	reg := prometheus.NewRegistry()
	metrics, err := chain.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	// Set aside briefly: the liar, down at first, must get its chance to lie once it is up.
	eps, err := chain.NewEndpoints(urls, chain.EndpointsConfig{MaxLag: 30, Aside: 100 * time.Millisecond, Poll: 5 * time.Millisecond,
		Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	defer eps.Close()
	liar.down.Store(true)
	if err := eps.CheckNetwork(context.Background(), passphrase); err == nil {
		t.Fatal("a start with an endpoint down passed the network check")
	}
	liar.down.Store(false)
	if err := eps.CheckNetwork(context.Background(), passphrase); err != nil {
		t.Fatal(err)
	}
	if err := eps.CheckNetwork(context.Background(), "Public Global Stellar Network ; September 2015"); err == nil ||
		!strings.Contains(err.Error(), passphrase) || !strings.Contains(err.Error(), "Public Global") {
		t.Fatalf("network mismatch: %v", err)
	}
	liar.down.Store(true)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, in, done := followEndpoints(ctx, t, eps, canonical.ContractID())
	waitTip := func(tip uint32) {
		t.Helper()
		for in.Status().Tip < tip {
			if ctx.Err() != nil || in.Status().Health == chain.HealthHalted {
				t.Fatalf("ingestion did not reach ledger %d: %+v %+v", tip, in.Status(), eps.Status())
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitTip(60)
	// The stale one's tip goes back, seen while the ingester waits for ledger 61.
	stale.latest.Store(30)
	for !strings.Contains(eps.Status()[1].Reason, "went back") {
		if ctx.Err() != nil {
			t.Fatalf("the stale one's tip went back unnoticed: %+v", eps.Status())
		}
		time.Sleep(time.Millisecond)
	}
	// The liar joins, ahead of everyone, its chain different from ledger 41 on.
	liarChain.Ledger(ctx, 100) // its tip, where the abandoned branch shows
	liar.latest.Store(100)
	liar.down.Store(false)
	asides := func(endpoint, cause string) float64 {
		return counterValue(t, reg, "streamledger_rpc_endpoint_set_aside_total", map[string]string{"endpoint": endpoint, "cause": cause})
	}
	// The good endpoint waits until the liar has been heard and set aside: on a busy machine the ingester could
	// otherwise reach the end before it ever asked the liar.
	for deadline := time.Now().Add(10 * time.Second); asides(urls[0], "disagrees") == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the liar was never set aside for disagreeing: %+v", eps.Status())
		}
	}
	for seq := uint32(61); seq <= 101; seq++ {
		good.latest.Store(seq)
		time.Sleep(2 * time.Millisecond)
	}
	waitTip(101)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := in.Status()
	if st.Reorgs != 0 || st.Health == chain.HealthHalted {
		t.Fatalf("the lies led to a reorg or a halt: %+v", st)
	}
	recs := readAll(t, store)
	oneChain(t, recs)
	sameOutcome(t, outcomeOf(t, recs), want)
	if n := asides(urls[0], "disagrees"); n == 0 {
		t.Fatalf("the liar was never set aside for disagreeing: %+v", eps.Status())
	}
	if n := asides(urls[1], "went_back"); n == 0 {
		t.Fatalf("the stale one was never set aside for going back: %+v", eps.Status())
	}
	if n := asides(urls[2], "disagrees") + asides(urls[2], "went_back"); n != 0 {
		t.Fatalf("the good one was set aside %v times", n)
	}
	status := eps.Status()
	if !status[2].Active || !status[2].Following || status[2].Tip < 90 {
		t.Fatalf("the good one: %+v", status[2])
	}
}

// counterValue is the value of a counter with the given labels, 0 when it has none.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestNetworkReset: the endpoints' chain restarts far below the stored tip (a testnet reset): ingestion halts with
// network_reset, writing nothing of the new network.
func TestNetworkReset(t *testing.T) {
	cfg := sim.Config{Seed: 72, Ledgers: 80}
	old := simChain(t, cfg)
	reset := simChain(t, sim.Config{Seed: 73, Ledgers: 80})
	var current atomic.Pointer[sim.Chain]
	current.Store(old)
	rpc := &stubRPC{network: passphrase, ledger: func(ctx context.Context, seq uint32) (xdr.LedgerCloseMeta, error) {
		return current.Load().Ledger(ctx, seq)
	}}
	rpc.latest.Store(70)
	eps, err := chain.NewEndpoints([]string{rpc.serve(t).URL}, chain.EndpointsConfig{ResetDepth: 20, Poll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer eps.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, in, done := followEndpoints(ctx, t, eps, old.ContractID())
	for in.Status().Tip < 70 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	before := len(readAll(t, store))
	current.Store(reset)
	rpc.latest.Store(6)
	err = <-done
	st := in.Status()
	if !errors.Is(err, chain.ErrHalted) || st.HaltReason != chain.HaltNetworkReset || !strings.Contains(st.LastError, "ledger 6") {
		t.Fatalf("err %v, status %+v", err, st)
	}
	if after := len(readAll(t, store)); after != before {
		t.Fatalf("%d events written after the reset", after-before)
	}
}

// followEndpoints runs an ingester of contract's events over eps, into a fresh memory store, until ctx ends; Run's
// result arrives on the channel.
func followEndpoints(ctx context.Context, t *testing.T, eps *chain.Endpoints, contract domain.Address) (*memory.Store, *chain.Ingester, <-chan error) {
	t.Helper()
	d, _ := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(t, contract)})
	store := memory.New()
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, Endpoints: eps, StartLedger: 2, SafetyMargin: 2,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	return store, in, done
}
