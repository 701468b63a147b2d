package streams

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
)

// The parties and times of the delegation worked by hand in contracts/fluxora/delegation_test.go.
const (
	contract  = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")
	sender    = domain.Address("GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV")
	recipient = domain.Address("GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM")
	delegatee = domain.Address("GCLJPGEZTKNZZHM6T6QKDIVDUSS2NJ5IVGVKXLFNV2X3BMNSWO2LLAJB")
	t0        = uint64(1_767_225_600)
)

// at places an event of the contract at ledger, closing at unix time ts.
func at(ledger uint32, ts uint64) domain.ChainMeta {
	return domain.ChainMeta{NetworkID: "n", ContractID: contract, Ledger: ledger, LedgerClosedAt: time.Unix(int64(ts), 0).UTC()}
}

// appender appends one domain event at a time to a stream of store.
func appender(t *testing.T, store *memory.Store) func(stream, id string, e domain.Event) {
	return func(stream, id string, e domain.Event) {
		t.Helper()
		data, err := domain.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(context.Background(), stream, eventstore.Any, eventstore.NewEvent{ID: id, Type: string(e.Type()), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
}

// A delegation's child stream, folded live (in batches of every size), replayed from the log (its history starts
// with the StreamDelegatedFrom, its state with its parent's events) and read as of a ledger, is the stream of the
// case worked by hand in contracts/fluxora/delegation_test.go; a reorg that reverts the delegation takes the child away and
// gives the parent its old terms back.
func TestDelegatedChildLiveAndReplayed(t *testing.T) {
	ctx, store := context.Background(), memory.New()
	add := appender(t, store)
	parent, child := fluxora.StreamRef{ContractID: contract, StreamID: 7}, fluxora.StreamRef{ContractID: contract, StreamID: 8}
	id := func(name string) string { return domain.DerivedEventUUID("test", name) }
	add(parent.StoreStream(), id("created"), &fluxora.StreamCreated{ChainMeta: at(10, t0), StreamID: 7, Sender: sender, Recipient: recipient,
		DepositAmount: domain.NewAmount(10_000), RatePerSecond: domain.NewAmount(10), StartTime: t0, CliffTime: t0, EndTime: t0 + 1000})
	add(parent.StoreStream(), id("withdrew"), &fluxora.StreamWithdrawn{ChainMeta: at(11, t0+200), StreamID: 7, Recipient: recipient,
		Amount: domain.NewAmount(2_000)})
	del := &fluxora.StreamShareDelegated{ChainMeta: at(12, t0+400), ParentStreamID: 7, ChildStreamID: 8, Delegator: recipient,
		Delegatee: delegatee, ShareBps: 2500, NewParentRate: domain.NewAmount(8), ChildRate: domain.NewAmount(2)}
	add(parent.StoreStream(), id("del"), del)
	add(child.StoreStream(), fluxora.DelegatedFromID(id("del")), &fluxora.StreamDelegatedFrom{ChainMeta: del.ChainMeta, StreamID: 8,
		ParentStreamID: 7, DelegationEventID: id("del")})
	add(child.StoreStream(), id("child-withdrew"), &fluxora.StreamWithdrawn{ChainMeta: at(13, t0+600), StreamID: 8, Recipient: delegatee,
		Amount: domain.NewAmount(400)})

	wantChild := func(s fluxora.Stream, how string) {
		t.Helper()
		if !s.Known || s.DepositAmount != domain.NewAmount(1_200) || s.RatePerSecond != domain.NewAmount(2) || s.StartTime != t0+400 ||
			s.Sender != sender || s.Recipient != delegatee || s.WithdrawnAmount != domain.NewAmount(400) || s.Version != 2 ||
			s.ParentStreamID == nil || *s.ParentStreamID != 7 || len(s.Anomalies) != 0 {
			t.Fatalf("child %s: %+v", how, s)
		}
	}
	for _, batch := range []int{1, 2, 100} {
		live := NewMemory(store)
		catchUp(t, store, live, batch)
		c, _ := live.Get(child)
		wantChild(c, "live")
		p, _ := live.Get(parent)
		if p.DepositAmount != domain.NewAmount(8_800) || p.RatePerSecond != domain.NewAmount(8) || len(p.Anomalies) != 0 {
			t.Fatalf("parent live: %+v", p)
		}
	}
	replayed, err := Replay(ctx, store, child, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantChild(replayed, "replayed")
	if s, ok, err := AsOfLedger(ctx, store, child, 12); !ok || err != nil || s.DepositAmount != domain.NewAmount(1_200) || !s.WithdrawnAmount.IsZero() {
		t.Fatalf("child as of the delegation's ledger: %+v %v %v", s, ok, err)
	}
	if _, ok, _ := AsOfLedger(ctx, store, child, 11); ok {
		t.Fatal("the child existed before the delegation")
	}

	// A reorg at ledger 11 reverts the delegation, its StreamDelegatedFrom and the child's withdrawal.
	for _, r := range []struct {
		stream, id string
		typ        domain.EventType
		ledger     uint32
		ref        fluxora.StreamRef
	}{
		{parent.StoreStream(), id("del"), fluxora.TypeStreamShareDelegated, 12, parent},
		{child.StoreStream(), fluxora.DelegatedFromID(id("del")), fluxora.TypeStreamDelegatedFrom, 12, child},
		{child.StoreStream(), id("child-withdrew"), fluxora.TypeStreamWithdrawn, 13, child},
	} {
		sid := r.ref.StreamID
		add(r.stream, id("revert-"+r.id), &domain.EventReverted{RevertedEventID: r.id, RevertedType: r.typ, RevertedLedger: r.ledger,
			ContractID: contract, StreamID: &sid, Reason: domain.RevertReasonReorg, Fork: 11})
	}
	live := NewMemory(store)
	catchUp(t, store, live, 3)
	if c, ok := live.Get(child); ok {
		t.Fatalf("the child outlived the reorg: %+v", c)
	}
	p, _ := live.Get(parent)
	if p.DepositAmount != domain.NewAmount(10_000) || p.RatePerSecond != domain.NewAmount(10) {
		t.Fatalf("parent after the reorg: %+v", p)
	}
}

// Decoder evolution: a delegation stored by a decoder that did not know del_share (as ContractEventObserved, with
// its raw XDR, and no StreamDelegatedFrom after it) is read with today's decoder when the projection is rebuilt:
// the parent gets its new terms and the child appears, with the numbers worked by hand. The log is not rewritten.
func TestObservedDelegationIsTypedOnReplay(t *testing.T) {
	ctx, store := context.Background(), memory.New()
	add := appender(t, store)
	parent, child := fluxora.StreamRef{ContractID: contract, StreamID: 7}, fluxora.StreamRef{ContractID: contract, StreamID: 8}
	add(parent.StoreStream(), "0c3e3a0e-0000-5000-8000-000000000001", &fluxora.StreamCreated{ChainMeta: at(10, t0), StreamID: 7, Sender: sender,
		Recipient: recipient, DepositAmount: domain.NewAmount(10_000), RatePerSecond: domain.NewAmount(10), StartTime: t0, CliffTime: t0,
		EndTime: t0 + 1000})
	add(parent.StoreStream(), "0c3e3a0e-0000-5000-8000-000000000002", &fluxora.StreamWithdrawn{ChainMeta: at(11, t0+200), StreamID: 7,
		Recipient: recipient, Amount: domain.NewAmount(2_000)})
	// What the decoder of before kept of the del_share event: its topic, the u64 second topic, and the raw XDR.
	topics, value, err := sim.Encode(&fluxora.StreamShareDelegated{ParentStreamID: 7, ChildStreamID: 8, Delegator: recipient,
		Delegatee: delegatee, ShareBps: 2500, NewParentRate: domain.NewAmount(8), ChildRate: domain.NewAmount(2)})
	if err != nil {
		t.Fatal(err)
	}
	meta := at(12, t0+400)
	for _, tp := range topics {
		meta.TopicsXDR = append(meta.TopicsXDR, xdrBase64(t, tp))
	}
	meta.ValueXDR = xdrBase64(t, value)
	id := uint64(7)
	add(parent.StoreStream(), "0c3e3a0e-0000-5000-8000-000000000003", &domain.ContractEventObserved{ChainMeta: meta, Topic: "del_share", StreamID: &id})

	live := NewMemory(store)
	catchUp(t, store, live, 100)
	p, _ := live.Get(parent)
	c, ok := live.Get(child)
	if p.DepositAmount != domain.NewAmount(8_800) || p.RatePerSecond != domain.NewAmount(8) || len(p.Anomalies) != 0 {
		t.Fatalf("parent: %+v", p)
	}
	if !ok || c.DepositAmount != domain.NewAmount(1_200) || c.RatePerSecond != domain.NewAmount(2) || c.Recipient != delegatee ||
		c.Accrued(t0+600) != domain.NewAmount(400) {
		t.Fatalf("child: %+v %v", c, ok)
	}
	recs, _ := store.ReadAll(ctx, 0, 10)
	if recs[2].Type != string(domain.TypeContractEventObserved) {
		t.Fatalf("the log was rewritten: %s", recs[2].Type)
	}
}

func xdrBase64(t *testing.T, v xdr.ScVal) string {
	t.Helper()
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}
