package chain_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/network"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/contracts/liquifact/liquifactsim"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore/memory"
)

// escrowNetwork is a simulated network with escrows, made afresh (the same chain each time).
func escrowNetwork(t *testing.T, ledgers uint32) (*sim.Chain, *liquifactsim.Scenario) {
	return escrowNetworkOf(t, ledgers, 6)
}

// escrowNetworkOf is escrowNetwork with that many escrows.
func escrowNetworkOf(t *testing.T, ledgers uint32, escrows int) (*sim.Chain, *liquifactsim.Scenario) {
	t.Helper()
	sc, err := liquifactsim.New(21, escrows)
	if err != nil {
		t.Fatal(err)
	}
	net, err := sim.New(sim.Config{Seed: 21, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 2, TxPerLedger: 1,
		Ledgers: ledgers, Scenarios: []sim.Scenario{sc}})
	if err != nil {
		t.Fatal(err)
	}
	return net, sc
}

// ingestEscrowsUntil runs an ingester over net into store until the tip reaches until.
func ingestEscrowsUntil(t *testing.T, net *sim.Chain, store *memory.Store, contracts *chain.Contracts, until uint32) {
	t.Helper()
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: contracts})
	if err != nil {
		t.Fatal(err)
	}
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: net.StartLedger(), SafetyMargin: 1,
		Open: func() (ledgerbackend.LedgerBackend, error) { return net.Backend(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = in.Run(ctx); close(done) }()
	for in.Status().Tip < until && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if in.Status().Tip < until {
		t.Fatalf("ingestion stopped at %d", in.Status().Tip)
	}
}

// escrowEvents are the ids of the stored events of escrow contracts, and how many contracts were discovered.
func escrowEvents(t *testing.T, store *memory.Store, escrows []domain.Address) ([]string, int) {
	t.Helper()
	var ids []string
	for _, c := range escrows {
		recs, err := store.ReadStream(context.Background(), liquifact.EscrowStoreStream(c), 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
	}
	discovered, err := store.ReadStream(context.Background(), domain.DiscoveredStream, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids, len(discovered)
}

// Escrows bound by their executable's hash are discovered when the ledger that creates each is read, and from then
// their events are stored exactly as if each had been configured by id; after a restart halfway, the contracts the
// log says were discovered are followed again without their creation being read again.
func TestContractsAreDiscoveredByTheirExecutable(t *testing.T) {
	net, sc := escrowNetwork(t, 300)
	byID := []chain.Binding{{Contract: net.ContractID(), Module: fluxora.Module{}}}
	for _, c := range sc.Contracts() {
		byID = append(byID, chain.Binding{Contract: c, Module: liquifact.Module{}})
	}
	configured, err := chain.NewContracts(byID...)
	if err != nil {
		t.Fatal(err)
	}
	want := memory.New()
	ingestEscrowsUntil(t, net, want, configured, net.LastLedger())
	wantIDs, none := escrowEvents(t, want, sc.Contracts())
	if len(wantIDs) == 0 || none != 0 {
		t.Fatalf("configured by id: %d escrow events, %d discoveries", len(wantIDs), none)
	}

	byWasm := func() *chain.Contracts {
		_, sc := escrowNetwork(t, 300)
		c, err := chain.NewContractsWithWasm([]chain.Binding{{Contract: net.ContractID(), Module: fluxora.Module{}}},
			[]chain.WasmBinding{{Hash: sc.WasmHash(), Module: liquifact.Module{}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Stop the first process just after an escrow's creation, before its other events: the second must follow it.
	cut := uint32(0)
	for _, c := range sc.Contracts() {
		recs, err := want.ReadStream(context.Background(), liquifact.EscrowStoreStream(c), 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) >= 2 {
			first, last := ledgerOf(t, recs[0].Data), ledgerOf(t, recs[len(recs)-1].Data)
			if last > first+1 {
				cut = first
				break
			}
		}
	}
	if cut == 0 {
		t.Fatal("no escrow has events in two ledgers apart: the restart would not be exercised")
	}
	got := memory.New()
	first, _ := escrowNetwork(t, cut-net.StartLedger()+1) // the same chain, ending at cut
	ingestEscrowsUntil(t, first, got, byWasm(), cut)
	second, _ := escrowNetwork(t, 300)
	ingestEscrowsUntil(t, second, got, byWasm(), second.LastLedger()) // a new process: nothing discovered in memory
	gotIDs, discovered := escrowEvents(t, got, sc.Contracts())
	if discovered != len(sc.Contracts()) {
		t.Fatalf("%d contracts discovered, %d created", discovered, len(sc.Contracts()))
	}
	if len(gotIDs) != len(wantIDs) {
		t.Fatalf("discovered by executable: %d escrow events, configured by id: %d", len(gotIDs), len(wantIDs))
	}
	for i := range wantIDs {
		if gotIDs[i] != wantIDs[i] {
			t.Fatalf("event %s stored one way, %s the other", gotIDs[i], wantIDs[i])
		}
	}
}

// ledgerOf is the ledger of a stored chain event.
func ledgerOf(t *testing.T, data []byte) uint32 {
	t.Helper()
	var env struct {
		Event struct {
			Chain struct {
				Ledger uint32 `json:"ledger"`
			} `json:"chain"`
		} `json:"event"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	return env.Event.Chain.Ledger
}

// A history scan (the lake's path) follows escrows discovered by their executable like a whole decode of every
// ledger with the escrows configured by id: with more escrows than the prefilter searches for one by one, each
// discovered one joins the one-pass lookup from the ledger that creates it.
func TestScanFollowsDiscoveredEscrows(t *testing.T) {
	net, sc := escrowNetworkOf(t, 400, 14)
	byID := []chain.Binding{{Contract: net.ContractID(), Module: fluxora.Module{}}}
	for _, c := range sc.Contracts() {
		byID = append(byID, chain.Binding{Contract: c, Module: liquifact.Module{}})
	}
	configured, err := chain.NewContracts(byID...)
	if err != nil {
		t.Fatal(err)
	}
	byWasm, err := chain.NewContractsWithWasm([]chain.Binding{{Contract: net.ContractID(), Module: fluxora.Module{}}},
		[]chain.WasmBinding{{Hash: sc.WasmHash(), Module: liquifact.Module{}}})
	if err != nil {
		t.Fatal(err)
	}
	reference, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: configured})
	if err != nil {
		t.Fatal(err)
	}
	scanner, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: byWasm})
	if err != nil {
		t.Fatal(err)
	}
	escrowEvents := 0
	for seq := net.StartLedger(); seq <= net.LastLedger(); seq++ {
		lcm, err := net.Canonical(seq)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := lcm.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		want, err := reference.Decode(lcm)
		if err != nil {
			t.Fatal(err)
		}
		got, err := scanner.Scan(raw)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs, wantIDs []string
		for _, e := range got.Events {
			if e.Event.Type() != domain.TypeContractDiscovered {
				gotIDs = append(gotIDs, e.ID)
			}
		}
		for _, e := range want.Events {
			wantIDs = append(wantIDs, e.ID)
			if ce, ok := e.Event.(domain.ChainEvent); ok && e.Stream == liquifact.EscrowStoreStream(ce.ChainMetadata().ContractID) {
				escrowEvents++
			}
		}
		if !slices.Equal(gotIDs, wantIDs) {
			t.Fatalf("ledger %d: scanned %d events, a decode with the escrows configured finds %d", seq, len(gotIDs), len(wantIDs))
		}
	}
	if n := len(byWasm.Discovered()); n != len(sc.Contracts()) || escrowEvents < 3*n {
		t.Fatalf("%d of %d escrows discovered, %d escrow events", n, len(sc.Contracts()), escrowEvents)
	}
}
