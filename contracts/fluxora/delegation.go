package fluxora

import "github.com/streamledger/streamledger/domain"

// delegated is the parent's side of `del_share`, as the contract computes it at the ledger's close (now): the
// accrual so far at the old rate becomes the checkpoint, the rate drops to NewParentRate, and the deposit becomes
// what the parent will still accrue, so that the rest of the old deposit funds the child (DelegatedChild).
func (a *applier) delegated(v *StreamShareDelegated) {
	a.requireStatus(v.Type(), StatusActive, StatusPaused)
	checkpoint := accrue(&a.s, a.s.RatePerSecond, a.now)
	if want := a.sub(a.s.RatePerSecond, v.ChildRate); a.s.Known && want != v.NewParentRate {
		a.flag(AnomalyValueMismatch, "new parent rate is %s, the state's rate less the child's gives %s", v.NewParentRate, want)
	}
	var remaining uint64
	if a.s.EndTime > a.now {
		remaining = a.s.EndTime - a.now
	}
	future, ok := secondsAmount(remaining).Mul(v.NewParentRate)
	if !ok {
		a.flag(AnomalyArithmeticOverflow, "%d s × %s overflows i128", remaining, v.NewParentRate)
		future = domain.MaxAmount
	}
	a.s.CheckpointedAmount, a.s.CheckpointedAt = checkpoint, a.now
	a.s.RatePerSecond = v.NewParentRate
	a.s.DepositAmount = a.add(checkpoint, future)
}

// DelegatedChild is the stream a delegation creates, from its parent's state just before the delegation: the
// parent's sender, the delegatee as recipient, the part of the parent's deposit the parent no longer needs, the
// child rate from the ledger's close to the parent's end, nothing accrued yet (the contract's delegate_share).
// The child's history goes on with its StreamDelegatedFrom.
func DelegatedChild(parent Stream, d *StreamShareDelegated) Stream {
	after := Apply(parent, "", d)
	now := d.CloseTime()
	deposit, ok := parent.DepositAmount.Sub(after.DepositAmount)
	if !ok {
		deposit = domain.Amount{}
	}
	parentID := d.ParentStreamID
	child := Stream{ContractID: d.ContractID, StreamID: d.ChildStreamID, Known: true, Sender: parent.Sender,
		Recipient: d.Delegatee, DepositAmount: deposit, RatePerSecond: d.ChildRate, StartTime: now,
		CliffTime: max(parent.CliffTime, now), EndTime: parent.EndTime, Kind: parent.Kind, Status: StatusActive,
		CheckpointedAt: now, WithdrawDustThreshold: parent.WithdrawDustThreshold, Memo: parent.Memo,
		CreatedLedger: d.Ledger, UpdatedLedger: d.Ledger, ParentStreamID: &parentID}
	if !parent.Known {
		child.Anomalies = []domain.Anomaly{{Code: AnomalyUnknownStream, Ledger: d.Ledger,
			Detail: "delegated from stream " + StreamRef{ContractID: d.ContractID, StreamID: d.ParentStreamID}.String() + ", which was never created"}}
	}
	return child
}

// ApplyInOrder folds an event into the states of the streams it touches, for a reader that sees every stream's
// events in chain order (a delegation's child starts from its parent's state just before it).
func ApplyInOrder(states map[StreamRef]Stream, id string, e domain.Event) {
	ref, ok := StreamOf(e)
	if !ok {
		return
	}
	if d, ok := e.(*StreamShareDelegated); ok {
		states[d.ChildRef()] = DelegatedChild(states[ref], d)
	}
	states[ref] = Apply(states[ref], id, e)
}
