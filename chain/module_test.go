package chain_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// spyModule is a module that types nothing and counts what it was asked to decode.
type spyModule struct{ decoded *int }

func (spyModule) Name() string { return "spy" }
func (m spyModule) Decode(meta domain.ChainMeta, topics []xdr.ScVal, _ xdr.ScVal) (domain.Event, string, error) {
	*m.decoded++
	return &domain.ContractEventObserved{ChainMeta: meta}, "", nil
}
func (spyModule) Implied(string, domain.Event) []domain.Implied { return nil }
func (spyModule) StoreStream(domain.Event) string               { return "spy" }
func (spyModule) Interpret(e domain.Event) domain.Event         { return e }
func (spyModule) Events() []domain.Event                        { return nil }

// An event is decoded by the module its contract is bound to, and by no other: the simulator's Fluxora events go
// to the spy when the spy is what their contract is bound to, and a contract that is not configured is read by no
// module at all, not even Fluxora's.
func TestOnlyTheBoundModuleDecodesAContractsEvents(t *testing.T) {
	c, err := sim.New(sim.Config{Seed: 9, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 4, TxPerLedger: 3, Ledgers: 20})
	if err != nil {
		t.Fatal(err)
	}
	const unrelated = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")
	decodeAll := func(contracts *chain.Contracts) (events int) {
		d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: contracts})
		if err != nil {
			t.Fatal(err)
		}
		for seq := c.StartLedger(); seq <= c.LastLedger(); seq++ {
			lcm, err := c.Ledger(context.Background(), seq)
			if err != nil {
				t.Fatal(err)
			}
			l, err := d.Decode(lcm)
			if err != nil {
				t.Fatal(err)
			}
			events += len(l.Events)
		}
		return events
	}
	spied := 0
	bound, err := chain.NewContracts(chain.Binding{Contract: c.ContractID(), Module: spyModule{&spied}},
		chain.Binding{Contract: unrelated, Module: fluxora.Module{}})
	if err != nil {
		t.Fatal(err)
	}
	if n := decodeAll(bound); spied == 0 || n != spied {
		t.Fatalf("the spy decoded %d of %d events", spied, n)
	}
	other, err := chain.NewContracts(chain.Binding{Contract: unrelated, Module: fluxora.Module{}})
	if err != nil {
		t.Fatal(err)
	}
	if n := decodeAll(other); n != 0 {
		t.Fatalf("%d events of a contract that is not configured were decoded", n)
	}
}

func TestContractsRefuseBadBindings(t *testing.T) {
	const a = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")
	for _, tc := range []struct {
		name     string
		bindings []chain.Binding
		want     string
	}{
		{"none", nil, "no contracts"},
		{"an account", []chain.Binding{{Contract: "GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV", Module: fluxora.Module{}}}, "not a contract address"},
		{"no module", []chain.Binding{{Contract: a}}, "has no module"},
		{"twice", []chain.Binding{{Contract: a, Module: fluxora.Module{}}, {Contract: a, Module: fluxora.Module{}}}, "bound twice"},
	} {
		if _, err := chain.NewContracts(tc.bindings...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase}); !errors.Is(err, chain.ErrNoContracts) {
		t.Fatalf("a decoder without contracts: %v", err)
	}
}

// The registry stored events are read back with is the core's plus the bound modules' types: a module brings its
// own, and a module that is not bound adds nothing.
func TestContractsRegistryIsTheBoundModules(t *testing.T) {
	const stream, factory = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP"),
		domain.Address("CAAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQC526")
	created := []byte(`{"type":"StreamCreated","schemaVersion":1,"event":{"streamId":7}}`)
	factoryInit := []byte(`{"type":"FactoryInitialized","schemaVersion":1,"event":{}}`)
	onlyStream, err := chain.NewContracts(chain.Binding{Contract: stream, Module: fluxora.Module{}})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := onlyStream.Events().Unmarshal(created); err != nil || e.Type() != fluxora.TypeStreamCreated {
		t.Fatalf("the stream module's event: %v, %v", e, err)
	}
	if _, err := onlyStream.Events().Unmarshal(factoryInit); !errors.Is(err, domain.ErrUnknownEventType) {
		t.Fatalf("an unbound module's event was read: %v", err)
	}
	both, err := chain.NewContracts(chain.Binding{Contract: stream, Module: fluxora.Module{}},
		chain.Binding{Contract: factory, Module: fluxora.Factory{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := both.Events().Unmarshal(factoryInit); err != nil {
		t.Fatalf("the bound factory's event: %v", err)
	}
	spied := 0
	core, err := chain.NewContracts(chain.Binding{Contract: stream, Module: spyModule{&spied}})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(core.Events().Types()); got != len(domain.MustRegistry().Types()) {
		t.Fatalf("a module with no event types: %d types, want the core's %d", got, len(domain.MustRegistry().Types()))
	}
}
