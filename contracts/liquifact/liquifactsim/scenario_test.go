package liquifactsim_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stellar/go-stellar-sdk/network"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/contracts/liquifact/liquifactsim"
	"github.com/streamledger/streamledger/domain"
)

// The escrow scenario plays beside the streams: its events, read from the simulated chain by the LiquiFact
// module and folded, are the escrows the scenario kept, without an anomaly, through every kind of ending.
func TestEscrowScenarioReadsBackCleanly(t *testing.T) {
	sc, err := liquifactsim.New(3, 10)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sim.New(sim.Config{Seed: 3, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 4, TxPerLedger: 2,
		Ledgers: 600, Scenarios: []sim.Scenario{sc}})
	if err != nil {
		t.Fatal(err)
	}
	bindings := []chain.Binding{{Contract: c.ContractID(), Module: fluxora.Module{}}}
	for _, e := range sc.Contracts() {
		bindings = append(bindings, chain.Binding{Contract: e, Module: liquifact.Module{}})
	}
	bound, err := chain.NewContracts(bindings...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: bound})
	if err != nil {
		t.Fatal(err)
	}
	folded := map[domain.Address]liquifact.Escrow{}
	types := map[domain.EventType]int{}
	for seq := c.StartLedger(); seq <= c.LastLedger(); seq++ {
		lcm, err := c.Ledger(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		l, err := d.Decode(lcm)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range l.Events {
			meta := ev.Event.(domain.ChainEvent).ChainMetadata()
			if meta.ContractID == c.ContractID() {
				continue
			}
			if o, ok := ev.Event.(*domain.ContractEventObserved); ok {
				t.Fatalf("an escrow event was not typed: %s %s", o.Topic, o.DecodeError)
			}
			types[ev.Event.Type()]++
			folded[meta.ContractID] = liquifact.Apply(folded[meta.ContractID], ev.ID, ev.Event)
		}
	}
	want := sc.States()
	if len(folded) != len(want) || len(want) != 10 {
		t.Fatalf("%d escrows read back, %d played (of 10)", len(folded), len(want))
	}
	statuses := map[liquifact.EscrowStatus]int{}
	for _, w := range want {
		got := folded[w.Contract]
		if len(got.Anomalies) > 0 {
			t.Fatalf("escrow %s: anomalies %+v", w.InvoiceID, got.Anomalies)
		}
		// Event ids differ (the chain's against the scenario's): compare the states without them.
		got.LastEventID, w.LastEventID = "", ""
		if !reflect.DeepEqual(jsonOf(t, got), jsonOf(t, w)) {
			t.Fatalf("escrow %s:\nread %s\nplayed %s", w.InvoiceID, jsonOf(t, got), jsonOf(t, w))
		}
		statuses[w.Status]++
	}
	for _, typ := range []string{"EscrowInitialized", "EscrowFunded", "EscrowUnfunded", "EscrowSettled", "EscrowPayoutClaimed",
		"EscrowLegalHoldChanged", "EscrowSmeWithdrew", "EscrowFundingCancelled", "EscrowInvestorRefunded", "EscrowPartiallySettled"} {
		if types[domain.EventType(typ)] == 0 {
			t.Errorf("no %s in 600 ledgers (%v)", typ, types)
		}
	}
	t.Logf("statuses %v, events %v", statuses, types)
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
