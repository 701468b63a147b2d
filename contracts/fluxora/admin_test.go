package fluxora_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

// Malformed factory and governance events are observed with the reason, never dropped or mistyped.
func TestMalformedAdminEventsAreObserved(t *testing.T) {
	proposal := func(id uint32) xdr.ScVal {
		return sim.Struct(map[string]xdr.ScVal{"proposal_id": sim.U32(id), "canceller": sim.Addr(alice)})
	}
	for _, tc := range []struct {
		name   string
		module interface {
			Decode(domain.ChainMeta, []xdr.ScVal, xdr.ScVal) (domain.Event, string, error)
		}
		topics []xdr.ScVal
		value  xdr.ScVal
		want   string
	}{
		{"paused topic, flag false", fluxora.Factory{}, []xdr.ScVal{sim.Sym("factory"), sim.Sym("paused")}, sim.Bool(false), "with the flag false"},
		{"factory, another second topic", fluxora.Factory{}, []xdr.ScVal{sim.Sym("factory"), sim.Sym("halted")}, sim.Bool(true), "paused or resumed"},
		{"factory flag not a bool", fluxora.Factory{}, []xdr.ScVal{sim.Sym("factory"), sim.Sym("resumed")}, sim.U32(0), "want a bool"},
		{"cap negative", fluxora.Factory{}, []xdr.ScVal{sim.Sym("cap_upd")}, sim.Struct(map[string]xdr.ScVal{"old_cap": sim.I128(domain.NewAmount(1)),
			"new_cap": sim.I128(domain.NewAmount(-5))}), "negative"},
		{"AdminUpd as the stream contract's tuple", fluxora.Factory{}, []xdr.ScVal{sim.Sym("AdminUpd")}, sim.Vec(sim.Addr(alice), sim.Addr(bob)), "want a map"},
		{"proposal of another id", fluxora.Governance{}, []xdr.ScVal{sim.Sym("cancelled"), sim.U32(9)}, proposal(8), "about proposal 8"},
		{"proposal id as u64", fluxora.Governance{}, []xdr.ScVal{sim.Sym("cancelled"), sim.U64(8)}, proposal(8), "want the u32 proposal id"},
		{"a stream's cancelled", fluxora.Governance{}, []xdr.ScVal{sim.Sym("cancelled"), sim.U64(42)}, sim.Variant("StreamCancelled", 42), "want a map"},
	} {
		e, topic, err := tc.module.Decode(fixtureMeta(), tc.topics, tc.value)
		if err == nil || !errors.Is(err, scval.ErrShape) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
			continue
		}
		if obs, ok := e.(*domain.ContractEventObserved); !ok || obs.DecodeError != err.Error() || obs.Topic != topic || obs.StreamID != nil {
			t.Errorf("%s: got %T %+v", tc.name, e, e)
		}
	}
	// A topic neither contract publishes is observed without an error, in the contract's stream.
	for _, m := range []interface {
		Decode(domain.ChainMeta, []xdr.ScVal, xdr.ScVal) (domain.Event, string, error)
	}{fluxora.Factory{}, fluxora.Governance{}} {
		e, _, err := m.Decode(fixtureMeta(), []xdr.ScVal{sim.Sym("created"), sim.U64(1)}, sim.Void())
		if obs, ok := e.(*domain.ContractEventObserved); err != nil || !ok || obs.StreamID != nil {
			t.Errorf("%T: an unknown topic gave %T %+v %v", m, e, e, err)
		}
	}
}

// FuzzAdminTopics feeds arbitrary topics and values to the factory's and governance contract's decoders: never a
// panic, and a typed event only without an error.
func FuzzAdminTopics(f *testing.F) {
	f.Add([]byte("factory"), []byte{0, 0, 0, 15, 0, 0, 0, 6, 'p', 'a', 'u', 's', 'e', 'd', 0, 0}, []byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte("cancelled"), []byte{0, 0, 0, 3, 0, 0, 0, 8}, []byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, name, topic1, value []byte) {
		topics := []xdr.ScVal{sim.Sym(string(name))}
		var v xdr.ScVal
		if xdr.SafeUnmarshal(topic1, &v) == nil {
			topics = append(topics, v)
		}
		var data xdr.ScVal
		if xdr.SafeUnmarshal(value, &data) != nil {
			data = sim.Void()
		}
		for _, m := range []interface {
			Decode(domain.ChainMeta, []xdr.ScVal, xdr.ScVal) (domain.Event, string, error)
		}{fluxora.Factory{}, fluxora.Governance{}} {
			e, _, err := m.Decode(fixtureMeta(), topics, data)
			if e == nil {
				t.Fatal("no event")
			}
			obs, observed := e.(*domain.ContractEventObserved)
			if err != nil && (!observed || obs.DecodeError == "") {
				t.Fatalf("a decode error without an observed event: %T", e)
			}
			if _, err := domain.Marshal(e); err != nil {
				t.Fatalf("decoded event does not encode: %v", err)
			}
		}
	})
}
