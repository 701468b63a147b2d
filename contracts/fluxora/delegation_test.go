package fluxora_test

import (
	"testing"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// The delegation worked by hand from the contract's delegate_share (FLUXORA_CONTRACT.md, del_share):
//
//	parent: deposit 10,000, rate 10/s, start = cliff = t0, end t0+1000; the recipient withdraws 2,000 at t0+200.
//	del_share at t0+400, 2,500 bps: child rate = 10 × 2500 / 10000 = 2 (integer division of 2.5),
//	new parent rate 8; parent checkpoint = 400 × 10 = 4,000 at t0+400;
//	parent deposit = 4,000 + 8 × (1000 − 400) = 8,800; child deposit = 10,000 − 8,800 = 1,200,
//	child: rate 2 from t0+400 (cliff max(t0, t0+400)) to t0+1000, nothing accrued.
//
// At t0+600: parent accrued 4,000 + 8 × 200 = 5,600, withdrawable 3,600, refund on cancel 8,800 − 5,600 = 3,200;
// child accrued 2 × 200 = 400, withdrawable 400, refund on cancel 1,200 − 400 = 800.
// At the end: parent 8,800 + child 1,200 = the 10,000 deposited.
func TestDelegationByHand(t *testing.T) {
	created := &fluxora.StreamCreated{ChainMeta: at(10, t0), StreamID: 7, Sender: testAccount, Recipient: testAccount2,
		DepositAmount: raw(10_000), RatePerSecond: raw(10), StartTime: t0, CliffTime: t0, EndTime: t0 + 1000}
	withdrew := &fluxora.StreamWithdrawn{ChainMeta: at(11, t0+200), StreamID: 7, Recipient: testAccount2, Amount: raw(2_000)}
	del := &fluxora.StreamShareDelegated{ChainMeta: at(12, t0+400), ParentStreamID: 7, ChildStreamID: 8, Delegator: testAccount2,
		Delegatee: testContract, ShareBps: 2500, NewParentRate: raw(8), ChildRate: raw(2)}
	before := fold(created, withdrew)
	parent := fluxora.Apply(before, "del", del)
	child := fluxora.Apply(fluxora.DelegatedChild(before, del), "from", &fluxora.StreamDelegatedFrom{ChainMeta: del.ChainMeta, StreamID: 8, ParentStreamID: 7,
		DelegationEventID: "del"})

	for name, s := range map[string]fluxora.Stream{"parent": parent, "child": child} {
		if len(s.Anomalies) != 0 {
			t.Fatalf("%s: anomalies %+v", name, s.Anomalies)
		}
	}
	if parent.DepositAmount != raw(8_800) || parent.RatePerSecond != raw(8) || parent.CheckpointedAmount != raw(4_000) ||
		parent.CheckpointedAt != t0+400 || parent.WithdrawnAmount != raw(2_000) {
		t.Fatalf("parent after the delegation: %+v", parent)
	}
	if !child.Known || child.DepositAmount != raw(1_200) || child.RatePerSecond != raw(2) || child.StartTime != t0+400 ||
		child.CliffTime != t0+400 || child.EndTime != t0+1000 || child.Sender != testAccount || child.Recipient != testContract ||
		child.Status != fluxora.StatusActive || child.ParentStreamID == nil || *child.ParentStreamID != 7 || !child.WithdrawnAmount.IsZero() ||
		child.Version != 1 || child.LastEventID != "from" {
		t.Fatalf("child: %+v", child)
	}
	check := func(what string, got, want domain.Amount) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %s, want %s", what, got, want)
		}
	}
	check("parent accrued at t0+600", parent.Accrued(t0+600), raw(5_600))
	check("parent withdrawable at t0+600", parent.Withdrawable(t0+600), raw(3_600))
	check("child accrued at t0+600", child.Accrued(t0+600), raw(400))
	check("child withdrawable at t0+600", child.Withdrawable(t0+600), raw(400))
	check("parent accrued at the end", parent.Accrued(t0+1000), raw(8_800))
	check("child accrued at the end", child.Accrued(t0+1000), raw(1_200))
	check("before the delegation, the parent accrued at its old rate", before.Accrued(t0+300), raw(3_000))

	cancelled := func(s fluxora.Stream, id uint64) fluxora.Stream {
		return fluxora.Apply(s, "cancel", &fluxora.StreamCancelled{ChainMeta: at(13, t0+600), StreamID: id, CancelledAt: t0 + 600})
	}
	pc, cc := cancelled(parent, 7), cancelled(child, 8)
	check("parent refund when cancelled at t0+600", pc.Refund(), raw(3_200))
	check("child refund when cancelled at t0+600", cc.Refund(), raw(800))
	check("a cancelled parent's accrual stops at the cancellation", pc.Accrued(t0+1000), raw(5_600))
	check("the child does not care about the parent's cancellation", child.Accrued(t0+1000), raw(1_200))

	// A new parent rate that is not the old rate less the child's is applied as reported, and flagged.
	odd := *del
	odd.NewParentRate = raw(7)
	if s := fluxora.Apply(before, "odd", &odd); len(s.Anomalies) != 1 || s.Anomalies[0].Code != fluxora.AnomalyValueMismatch {
		t.Fatalf("a mismatched rate: %+v", s.Anomalies)
	}
}
