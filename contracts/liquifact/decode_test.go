package liquifact

import (
	"errors"
	"testing"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

func sym(s string) xdr.ScVal {
	v := xdr.ScSymbol(s)
	return xdr.ScVal{Type: xdr.ScValTypeScvSymbol, Sym: &v}
}

func emptyMap() xdr.ScVal { m := &xdr.ScMap{}; return xdr.ScVal{Type: xdr.ScValTypeScvMap, Map: &m} }

// Nothing the contract says is dropped: an unknown topic is observed as it is, and a known one whose shape is
// wrong is observed with the reason, which the decoder also returns (for the decode-error metric).
func TestUnknownAndMalformedEventsAreObserved(t *testing.T) {
	e, topic, err := Module{}.Decode(meta(), []xdr.ScVal{sym("escrow_rebalanced"), sym("rebal")}, emptyMap())
	if o, ok := e.(*domain.ContractEventObserved); !ok || err != nil || topic != "escrow_rebalanced" || o.DecodeError != "" {
		t.Fatalf("an unknown topic: %#v %q %v", e, topic, err)
	}
	for name, topics := range map[string][]xdr.ScVal{
		"a topic missing":     {sym("escrow_settled"), sym("escrow_sd")},
		"a topic too many":    {sym("legal_hold_clear_cancelled"), sym("lh_cancel"), sym(invoice), sym("x")},
		"no name symbol":      {sym("legal_hold_clear_cancelled"), {Type: xdr.ScValTypeScvVoid}, sym(invoice)},
		"data fields missing": {sym("escrow_settled"), sym("escrow_sd"), sym(invoice)},
	} {
		e, _, err := Module{}.Decode(meta(), topics, emptyMap())
		o, ok := e.(*domain.ContractEventObserved)
		if !ok || !errors.Is(err, scval.ErrShape) || o.DecodeError == "" {
			t.Errorf("%s: %#v %v", name, e, err)
		}
	}
}

// An event an older decoder kept as observed, with its raw XDR, is typed by today's (decoder evolution).
func TestInterpretTypesWhatAnOlderDecoderObserved(t *testing.T) {
	topics := []xdr.ScVal{sym("legal_hold_clear_cancelled"), sym("lh_cancel"), sym(invoice)}
	raw := domain.ContractEventObserved{ChainMeta: meta(), Topic: "legal_hold_clear_cancelled"}
	for _, tp := range topics {
		b, err := xdr.MarshalBase64(tp)
		if err != nil {
			t.Fatal(err)
		}
		raw.TopicsXDR = append(raw.TopicsXDR, b)
	}
	value, err := xdr.MarshalBase64(emptyMap())
	if err != nil {
		t.Fatal(err)
	}
	raw.ValueXDR = value
	got := Module{}.Interpret(&raw)
	if c, ok := got.(*EscrowLegalHoldClearCancelled); !ok || c.InvoiceID != invoice {
		t.Fatalf("interpreted as %#v", got)
	}
}

// FuzzDecode: whatever topics and data a contract publishes, the decoder answers an event (typed or observed) and
// never panics; an observed event of a known topic says why.
func FuzzDecode(f *testing.F) {
	for _, topic := range []string{"escrow_funded", "escrow_initialized", "investor_payout_claimed", "treasury_dust_swept"} {
		f.Add(topic, "name", invoice, []byte{0, 0, 0, 17, 0, 0, 0, 0})
	}
	f.Fuzz(func(t *testing.T, topic, name, inv string, data []byte) {
		var value xdr.ScVal
		if xdr.SafeUnmarshal(data, &value) != nil {
			value = emptyMap()
		}
		for _, topics := range [][]xdr.ScVal{{sym(topic)}, {sym(topic), sym(name)}, {sym(topic), sym(name), sym(inv)},
			{sym(topic), sym(name), sym(inv), sym(inv)}} {
			e, _, err := Module{}.Decode(meta(), topics, value)
			if e == nil {
				t.Fatal("no event")
			}
			if o, ok := e.(*domain.ContractEventObserved); ok && err != nil && o.DecodeError == "" {
				t.Fatal("a decode error without its reason")
			}
		}
	})
}
