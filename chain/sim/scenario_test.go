package sim_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// tickScenario is a module's scenario reduced to its bones: one call a ledger to its own contract, whose event
// carries the ledger and the branch that played it.
type tickScenario struct {
	contract xdr.ContractId
	branch   uint64
	calls    int64
}

func (s *tickScenario) Ledger(seq uint32, _ uint64) ([]sim.Tx, error) {
	s.calls++
	id := s.contract
	return []sim.Tx{{Source: xdr.Uint256{9}, SeqNum: s.calls, Contract: s.contract, Function: "tick",
		Events: []xdr.ContractEvent{{ContractId: &id, Type: xdr.ContractEventTypeContract, Body: xdr.ContractEventBody{
			V0: &xdr.ContractEventV0{Topics: []xdr.ScVal{sim.Sym("tick"), sim.U64(uint64(seq))}, Data: sim.U64(s.branch)}}}}}}, nil
}

func (s *tickScenario) Fork(rng *rand.Rand) sim.Scenario {
	c := *s
	c.branch = rng.Uint64() | 1
	return &c
}

// tickModule reads the tick contract's events as what they are: observed events, counted by ledger and branch.
type tickModule struct{ seen map[uint32]uint64 }

func (tickModule) Name() string { return "tick" }
func (m tickModule) Decode(meta domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, string, error) {
	m.seen[uint32(*topics[1].U64)] = uint64(*data.U64)
	return &domain.ContractEventObserved{ChainMeta: meta, Topic: "tick"}, "tick", nil
}
func (tickModule) StoreStream(domain.Event) string               { return "tick" }
func (tickModule) Implied(string, domain.Event) []domain.Implied { return nil }
func (tickModule) Interpret(e domain.Event) domain.Event         { return e }
func (tickModule) Events() []domain.Event                        { return nil }

// A module's scenario plays in every ledger beside the stream contract's, forks with the chain's abandoned branches,
// and leaves the stream contract's events as they were without it.
func TestScenariosPlayBesideTheStreamContract(t *testing.T) {
	tick := xdr.ContractId{7, 7, 7}
	tickAddress := domain.Address(strkey.MustEncode(strkey.VersionByteContract, tick[:]))
	cfg := sim.Config{Seed: 4, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 6, TxPerLedger: 3, Ledgers: 40,
		Reorgs: true, ReorgEvery: 7, ReorgDepth: 2}
	plain := newChain(t, cfg)
	cfg.Scenarios = []sim.Scenario{&tickScenario{contract: tick}}
	with := newChain(t, cfg)
	decode := func(c *sim.Chain, lcm xdr.LedgerCloseMeta) (streams []string, ticks map[uint32]uint64) {
		m := tickModule{seen: map[uint32]uint64{}}
		bound, err := chain.NewContracts(chain.Binding{Contract: c.ContractID(), Module: fluxora.Module{}},
			chain.Binding{Contract: tickAddress, Module: m})
		if err != nil {
			t.Fatal(err)
		}
		d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: bound})
		if err != nil {
			t.Fatal(err)
		}
		l, err := d.Decode(lcm)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range l.Events {
			if ev.Event.(domain.ChainEvent).ChainMetadata().ContractID == c.ContractID() {
				streams = append(streams, ev.ID)
			}
		}
		return streams, m.seen
	}
	abandoned := 0
	for seq := with.StartLedger(); seq <= with.LastLedger(); seq++ {
		a, err := plain.Canonical(seq)
		if err != nil {
			t.Fatal(err)
		}
		b, err := with.Canonical(seq)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := decode(plain, a)
		got, ticks := decode(with, b)
		if len(got) != len(want) {
			t.Fatalf("ledger %d: %d stream contract events with a second scenario, %d without", seq, len(got), len(want))
		}
		if branch, ok := ticks[seq]; !ok || branch != 0 {
			t.Fatalf("ledger %d: the canonical chain's tick is %v (%v)", seq, ticks, ok)
		}
		lcm, err := with.Ledger(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if _, ticks := decode(with, lcm); ticks[seq] != 0 {
			abandoned++ // a forked scenario played the ledger the network showed then
		}
	}
	if abandoned == 0 {
		t.Fatal("no abandoned ledger carried the forked scenario's tick")
	}
}
