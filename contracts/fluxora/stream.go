package fluxora

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/streamledger/streamledger/domain"
)

// StreamStatus is a stream's lifecycle state. Closed streams are deleted on chain; we keep them as closed.
type StreamStatus string

const (
	StatusActive    StreamStatus = "active"
	StatusPaused    StreamStatus = "paused"
	StatusCompleted StreamStatus = "completed"
	StatusCancelled StreamStatus = "cancelled"
	StatusClosed    StreamStatus = "closed"
)

// ParseStreamStatus accepts the API names of the statuses.
func ParseStreamStatus(s string) (StreamStatus, error) {
	switch st := StreamStatus(s); st {
	case StatusActive, StatusPaused, StatusCompleted, StatusCancelled, StatusClosed:
		return st, nil
	}
	return "", fmt.Errorf("unknown stream status %.32q (want active, paused, completed, cancelled or closed)", s)
}

// StreamKind is the accrual curve. The `created` payload does not carry it: a stream is Linear unless its rate is
// zero, which only a CliffOnly stream has.
type StreamKind string

const (
	KindLinear    StreamKind = "linear"
	KindCliffOnly StreamKind = "cliff_only"
)

// Anomaly codes: an event that does not fit the state the engine has built. The event is still applied, because
// the chain is the source of truth; the anomaly says where our picture and the chain's disagree.
const (
	AnomalyUnknownStream        = "UNKNOWN_STREAM"
	AnomalyDuplicateCreate      = "DUPLICATE_CREATE"
	AnomalyInvalidCreate        = "INVALID_CREATE"
	AnomalyInvalidTransition    = "INVALID_TRANSITION"
	AnomalyEventAfterClose      = "EVENT_AFTER_CLOSE"
	AnomalyExceedsWithdrawable  = "WITHDRAW_EXCEEDS_WITHDRAWABLE"
	AnomalyNonPositiveAmount    = "NON_POSITIVE_AMOUNT"
	AnomalyRecipientMismatch    = "RECIPIENT_MISMATCH"
	AnomalyValueMismatch        = "VALUE_MISMATCH"
	AnomalyIncompleteCompletion = "COMPLETION_BEFORE_FULL_WITHDRAWAL"
	AnomalyDecodeError          = "DECODE_ERROR"
	AnomalyNotAStreamEvent      = "NOT_A_STREAM_EVENT"
	AnomalyArithmeticOverflow   = "ARITHMETIC_OVERFLOW"
)

// Stream is the state of one payment stream: the fold of its events.
//
// It is a value: Apply returns a new Stream and never mutates the one it is given (the Anomalies slice is copied
// before it grows, and Memo is never written to), so states can be kept as snapshots for point-in-time reads.
type Stream struct {
	ContractID            domain.Address   `json:"contractId"`
	StreamID              uint64           `json:"streamId"`
	Known                 bool             `json:"known"`
	Sender                domain.Address   `json:"sender"`
	Recipient             domain.Address   `json:"recipient"`
	DepositAmount         domain.Amount    `json:"depositAmount"`
	WithdrawnAmount       domain.Amount    `json:"withdrawnAmount"`
	RatePerSecond         domain.Amount    `json:"ratePerSecond"`
	StartTime             uint64           `json:"startTime"`
	CliffTime             uint64           `json:"cliffTime"`
	EndTime               uint64           `json:"endTime"`
	Kind                  StreamKind       `json:"kind"`
	Status                StreamStatus     `json:"status"`
	PauseReason           string           `json:"pauseReason,omitempty"`
	CancelledAt           uint64           `json:"cancelledAt,omitempty"` // 0: not cancelled (ledger times are never 0)
	CheckpointedAmount    domain.Amount    `json:"checkpointedAmount"`
	CheckpointedAt        uint64           `json:"checkpointedAt"`
	WithdrawDustThreshold domain.Amount    `json:"withdrawDustThreshold"`
	ClonedFrom            *uint64          `json:"clonedFrom,omitempty"`
	Memo                  []byte           `json:"memo,omitempty"`
	CreatedLedger         uint32           `json:"createdLedger"`
	UpdatedLedger         uint32           `json:"updatedLedger"`
	Version               uint64           `json:"version"`
	LastEventID           string           `json:"lastEventId"`
	Anomalies             []domain.Anomaly `json:"anomalies,omitempty"`
	// What the rest of the contract's events say about the stream (fluxora_events.go).
	ParentStreamID       *uint64        `json:"parentStreamId,omitempty"` // a child stream: created by a delegation from it
	RenewedTo            *uint64        `json:"renewedTo,omitempty"`      // its successor, once renewed
	ClaimOwner           domain.Address `json:"claimOwner,omitempty"`     // who withdraws, when not the recipient
	Decommissioned       bool           `json:"decommissioned,omitempty"`
	AutoClaimDestination domain.Address `json:"autoClaimDestination,omitempty"`
	Underfunded          bool           `json:"underfunded,omitempty"`
}

// Detached is the state with its own copies of its strings and bytes: events decoded from stored records share
// their bytes, and a state kept for long (a projection in memory) would otherwise keep those records alive.
func (s Stream) Detached() Stream {
	s.ContractID = domain.Address(strings.Clone(string(s.ContractID)))
	s.Sender, s.Recipient = domain.Address(strings.Clone(string(s.Sender))), domain.Address(strings.Clone(string(s.Recipient)))
	s.PauseReason, s.LastEventID = strings.Clone(s.PauseReason), strings.Clone(s.LastEventID)
	s.ClaimOwner = domain.Address(strings.Clone(string(s.ClaimOwner)))
	s.AutoClaimDestination = domain.Address(strings.Clone(string(s.AutoClaimDestination)))
	s.Memo = bytes.Clone(s.Memo)
	if s.Anomalies != nil {
		s.Anomalies = slices.Clone(s.Anomalies)
		for i := range s.Anomalies {
			s.Anomalies[i].EventID = strings.Clone(s.Anomalies[i].EventID)
		}
	}
	return s
}

// Ref names the stream.
func (s *Stream) Ref() StreamRef { return StreamRef{ContractID: s.ContractID, StreamID: s.StreamID} }

// Accrued is the amount streamed to the recipient by unix time t, computed exactly as the contract's
// calculate_accrued_amount_checkpointed; a cancelled stream is evaluated at its cancellation time.
func (s *Stream) Accrued(t uint64) domain.Amount {
	if !s.Known {
		return domain.Amount{}
	}
	if s.CancelledAt != 0 && t > s.CancelledAt {
		t = s.CancelledAt
	}
	return accrue(s, s.RatePerSecond, t)
}

func accrue(s *Stream, rate domain.Amount, now uint64) domain.Amount {
	if now < s.CliffTime || s.DepositAmount.Sign() <= 0 {
		return domain.Amount{}
	}
	if s.Kind == KindCliffOnly {
		return s.DepositAmount
	}
	if rate.Sign() < 0 {
		return domain.Amount{}
	}
	if s.CheckpointedAt >= s.EndTime {
		return clampAmount(s.CheckpointedAmount, s.DepositAmount)
	}
	var elapsed uint64
	if until := min(now, s.EndTime); until > s.CheckpointedAt {
		elapsed = until - s.CheckpointedAt
	}
	added, ok := secondsAmount(elapsed).Mul(rate)
	if !ok {
		// The contract treats an overflowing product as "everything": the deposit.
		added = s.DepositAmount
	}
	return clampAmount(s.CheckpointedAmount.SaturatingAdd(added), s.DepositAmount)
}

// clampAmount is the contract's `.min(deposit).max(0)`.
func clampAmount(v, deposit domain.Amount) domain.Amount {
	return domain.MaxAmountOf(domain.MinAmountOf(v, deposit), domain.Amount{})
}

func secondsAmount(sec uint64) domain.Amount { return domain.AmountFromParts(0, sec) }

// Withdrawable is what the recipient could withdraw at t: accrued minus withdrawn, never below zero.
func (s *Stream) Withdrawable(t uint64) domain.Amount {
	w, _ := s.Accrued(t).Sub(s.WithdrawnAmount)
	return domain.MaxAmountOf(w, domain.Amount{})
}

// Refund is what a cancellation returns to the sender (deposit − accrued at cancellation), zero for a stream
// that was never cancelled.
func (s *Stream) Refund() domain.Amount {
	if s.CancelledAt == 0 {
		return domain.Amount{}
	}
	r, _ := s.DepositAmount.Sub(s.Accrued(s.CancelledAt))
	return domain.MaxAmountOf(r, domain.Amount{})
}

// Apply folds one event, identified by its event id, into the stream state. It never panics and never drops an
// event: whatever does not fit the state is applied as the chain reported it and recorded as an Anomaly.
func Apply(s Stream, eventID string, e domain.Event) Stream {
	a := applier{s: s, id: eventID}
	a.apply(e)
	return a.s
}

type applier struct {
	s      Stream
	id     string
	ledger uint32
	now    uint64
	cloned bool
}

func (a *applier) flag(code, format string, args ...any) {
	if !a.cloned {
		a.s.Anomalies = slices.Clone(a.s.Anomalies)
		a.cloned = true
	}
	a.s.Anomalies = append(a.s.Anomalies, domain.Anomaly{Code: code, EventID: a.id, Ledger: a.ledger, Detail: fmt.Sprintf(format, args...)})
}

func (a *applier) apply(e domain.Event) {
	ref, ok := StreamOf(e)
	ce, chained := e.(domain.ChainEvent)
	if !ok || !chained {
		a.flag(AnomalyNotAStreamEvent, "%s is not a chain event of a payment stream", e.Type())
		a.bump()
		return
	}
	m := ce.ChainMetadata()
	a.ledger, a.now = m.Ledger, m.CloseTime()
	if a.s.ContractID == "" {
		a.s.ContractID, a.s.StreamID = ref.ContractID, ref.StreamID
	}
	if !creates(e) {
		switch {
		case !a.s.Known:
			a.flag(AnomalyUnknownStream, "%s for stream %s, which was never created", e.Type(), ref)
		case a.s.Status == StatusClosed:
			a.flag(AnomalyEventAfterClose, "%s after the stream was closed", e.Type())
		}
	}
	switch v := e.(type) {
	case *StreamCreated:
		a.created(v)
	case *StreamWithdrawn:
		a.withdrawn(v.Recipient, v.Amount)
	case *StreamCancelled:
		a.requireStatus(e.Type(), StatusActive, StatusPaused)
		a.s.Status, a.s.CancelledAt = StatusCancelled, a.now
	case *StreamCompleted:
		a.completed()
	case *StreamClosed:
		a.closed()
	case *StreamPaused:
		a.requireStatus(e.Type(), StatusActive)
		a.s.Status, a.s.PauseReason = StatusPaused, v.Reason
	case *StreamResumed:
		a.requireStatus(e.Type(), StatusPaused)
		a.s.Status, a.s.PauseReason = StatusActive, ""
	case *StreamRateUpdated:
		a.rateUpdated(v)
	case *StreamRateDecreased:
		a.rateDecreased(v)
	case *StreamEndShortened:
		a.endShortened(v)
	case *StreamEndExtended:
		a.requireStatus(e.Type(), StatusActive, StatusPaused)
		a.expectUint("old end time", v.OldEndTime, a.s.EndTime)
		a.s.EndTime = v.NewEndTime
	case *StreamToppedUp:
		a.toppedUp(v)
	case *StreamRecipientUpdated:
		if a.s.Recipient != v.OldRecipient {
			a.flag(AnomalyRecipientMismatch, "old recipient %s, state has %s", v.OldRecipient, a.s.Recipient)
		}
		a.s.Recipient = v.NewRecipient
	case *StreamCloned:
		a.clonedFrom(v)
	case *StreamKeeperCancelled:
		a.keeperCancelled(v)
	case *StreamShareDelegated:
		a.delegated(v)
	case *StreamDelegatedFrom:
		if a.s.ParentStreamID == nil || *a.s.ParentStreamID != v.ParentStreamID {
			a.flag(AnomalyValueMismatch, "delegated from stream %d, the state has no such parent", v.ParentStreamID)
		}
	case *StreamRenewed:
		next := v.NewStreamID
		a.s.RenewedTo = &next
	case *StreamClaimOwnerChanged:
		a.s.ClaimOwner = v.NewOwner
	case *StreamSenderTransferred:
		if a.s.Sender != v.OldSender {
			a.flag(AnomalyValueMismatch, "old sender %s, the state has %s", v.OldSender, a.s.Sender)
		}
		a.s.Sender = v.NewSender
	case *StreamDecommissioned:
		a.s.Decommissioned = v.Decommissioned
	case *StreamHealthChanged:
		a.s.Underfunded = v.Underfunded
	case *StreamAutoClaimSet:
		a.s.AutoClaimDestination = v.Destination
	case *StreamAutoClaimRevoked:
		a.s.AutoClaimDestination = ""
	case *domain.ContractEventObserved:
		if v.DecodeError != "" {
			a.flag(AnomalyDecodeError, "%q could not be decoded: %s", v.Topic, v.DecodeError)
		}
	}
	a.bump()
}

// creates reports whether e brings a stream into being (a child stream's state is set from its parent's before its
// StreamDelegatedFrom is applied).
func creates(e domain.Event) bool {
	switch e.(type) {
	case *StreamCreated:
		return true
	}
	return false
}

func (a *applier) bump() {
	a.s.Version++
	a.s.LastEventID = a.id
	if a.ledger > a.s.UpdatedLedger {
		a.s.UpdatedLedger = a.ledger
	}
}

func (a *applier) requireStatus(t domain.EventType, allowed ...StreamStatus) {
	if a.s.Known && a.s.Status != StatusClosed && !slices.Contains(allowed, a.s.Status) {
		a.flag(AnomalyInvalidTransition, "%s on a %s stream", t, a.s.Status)
	}
}

func (a *applier) expectAmount(what string, got, want domain.Amount) {
	if a.s.Known && got != want {
		a.flag(AnomalyValueMismatch, "%s is %s, the state gives %s", what, got, want)
	}
}

func (a *applier) expectUint(what string, got, want uint64) {
	if a.s.Known && got != want {
		a.flag(AnomalyValueMismatch, "%s is %d, the state has %d", what, got, want)
	}
}

func (a *applier) add(x, y domain.Amount) domain.Amount {
	r, ok := x.Add(y)
	if !ok {
		a.flag(AnomalyArithmeticOverflow, "%s + %s overflows i128", x, y)
		return x.SaturatingAdd(y)
	}
	return r
}

func (a *applier) sub(x, y domain.Amount) domain.Amount {
	r, ok := x.Sub(y)
	if !ok {
		a.flag(AnomalyArithmeticOverflow, "%s - %s overflows i128", x, y)
		return x.SaturatingSub(y)
	}
	return r
}

func (a *applier) created(v *StreamCreated) {
	if a.s.Known {
		a.flag(AnomalyDuplicateCreate, "stream %s was already created in event %s", StreamRef{ContractID: v.ContractID, StreamID: v.StreamID}, a.s.LastEventID)
	}
	kind := KindLinear
	if v.RatePerSecond.IsZero() {
		kind = KindCliffOnly
	}
	switch {
	case v.DepositAmount.Sign() <= 0:
		a.flag(AnomalyInvalidCreate, "deposit %s is not positive", v.DepositAmount)
	case v.Sender == v.Recipient:
		a.flag(AnomalyInvalidCreate, "sender and recipient are both %s", v.Sender)
	case v.StartTime >= v.EndTime:
		a.flag(AnomalyInvalidCreate, "start %d is not before end %d", v.StartTime, v.EndTime)
	case v.CliffTime < v.StartTime || v.CliffTime > v.EndTime:
		a.flag(AnomalyInvalidCreate, "cliff %d is outside [start %d, end %d]", v.CliffTime, v.StartTime, v.EndTime)
	case kind == KindLinear:
		if need, ok := secondsAmount(v.EndTime - v.StartTime).Mul(v.RatePerSecond); !ok || v.DepositAmount.Cmp(need) < 0 {
			a.flag(AnomalyInvalidCreate, "deposit %s does not cover rate %s over %d s", v.DepositAmount, v.RatePerSecond, v.EndTime-v.StartTime)
		}
	}
	anomalies := a.s.Anomalies
	a.s = Stream{
		ContractID:            v.ContractID,
		StreamID:              v.StreamID,
		Known:                 true,
		Sender:                v.Sender,
		Recipient:             v.Recipient,
		DepositAmount:         v.DepositAmount,
		RatePerSecond:         v.RatePerSecond,
		StartTime:             v.StartTime,
		CliffTime:             v.CliffTime,
		EndTime:               v.EndTime,
		Kind:                  kind,
		Status:                StatusActive,
		CheckpointedAt:        v.StartTime,
		WithdrawDustThreshold: v.WithdrawDustThreshold,
		Memo:                  v.Memo,
		CreatedLedger:         a.ledger,
		UpdatedLedger:         a.s.UpdatedLedger,
		Version:               a.s.Version,
		Anomalies:             anomalies,
	}
}

func (a *applier) withdrawn(recipient domain.Address, amount domain.Amount) {
	switch {
	case !a.s.Known || a.s.Status == StatusClosed:
	case a.s.Status == StatusCompleted:
		a.flag(AnomalyInvalidTransition, "withdrawal from a completed stream")
	case a.s.Status == StatusPaused && a.now < a.s.EndTime:
		a.flag(AnomalyInvalidTransition, "withdrawal from a paused stream before its end")
	}
	if a.s.Known && recipient != a.s.Recipient {
		a.flag(AnomalyRecipientMismatch, "withdrawal paid %s, the stream's recipient is %s", recipient, a.s.Recipient)
	}
	if amount.Sign() <= 0 {
		a.flag(AnomalyNonPositiveAmount, "withdrawal of %s", amount)
	}
	if w := a.s.Withdrawable(a.now); a.s.Known && amount.Cmp(w) > 0 {
		a.flag(AnomalyExceedsWithdrawable, "withdrawal of %s exceeds the withdrawable %s", amount, w)
	}
	a.s.WithdrawnAmount = a.add(a.s.WithdrawnAmount, amount)
}

func (a *applier) completed() {
	if !a.s.Known {
		a.s.Status = StatusCompleted
		return
	}
	if a.s.Status == StatusCancelled {
		a.flag(AnomalyInvalidTransition, "a cancelled stream never completes")
	} else {
		a.requireStatus(TypeStreamCompleted, StatusActive, StatusPaused)
	}
	if a.s.WithdrawnAmount != a.s.DepositAmount {
		a.flag(AnomalyIncompleteCompletion, "completed with %s withdrawn of %s", a.s.WithdrawnAmount, a.s.DepositAmount)
	}
	a.s.Status = StatusCompleted
}

func (a *applier) closed() {
	switch {
	case !a.s.Known || a.s.Status == StatusClosed || a.s.Status == StatusCompleted:
	case a.s.Status == StatusCancelled:
		if left := a.s.Withdrawable(a.s.CancelledAt); left.Sign() > 0 {
			a.flag(AnomalyInvalidTransition, "closed while %s was still claimable", left)
		}
	default:
		a.flag(AnomalyInvalidTransition, "close of a %s stream", a.s.Status)
	}
	a.s.Status, a.s.PauseReason = StatusClosed, ""
}

// checkpoint freezes what has accrued so far at t, as rate changes do before switching rate.
func (a *applier) checkpoint(t uint64) {
	a.s.CheckpointedAmount = a.s.Accrued(t)
	a.s.CheckpointedAt = t
}

func (a *applier) rateUpdated(v *StreamRateUpdated) {
	a.requireStatus(v.Type(), StatusActive, StatusPaused)
	a.expectAmount("old rate", v.OldRatePerSecond, a.s.RatePerSecond)
	if v.NewRatePerSecond.Cmp(v.OldRatePerSecond) <= 0 {
		a.flag(AnomalyValueMismatch, "rate_upd from %s to %s is not an increase", v.OldRatePerSecond, v.NewRatePerSecond)
	}
	a.checkpoint(v.EffectiveTime)
	a.s.RatePerSecond = v.NewRatePerSecond
}

func (a *applier) rateDecreased(v *StreamRateDecreased) {
	a.requireStatus(v.Type(), StatusActive, StatusPaused)
	a.expectAmount("old rate", v.OldRatePerSecond, a.s.RatePerSecond)
	a.expectAmount("checkpointed amount", v.CheckpointedAmount, a.s.Accrued(v.EffectiveTime))
	remaining := uint64(0)
	if a.s.EndTime > v.EffectiveTime {
		remaining = a.s.EndTime - v.EffectiveTime
	}
	rest, ok := secondsAmount(remaining).Mul(v.NewRatePerSecond)
	if !ok {
		a.flag(AnomalyArithmeticOverflow, "new rate %s over %d s overflows i128", v.NewRatePerSecond, remaining)
	}
	newDeposit := a.add(v.CheckpointedAmount, rest)
	a.expectAmount("refund", v.RefundAmount, a.sub(a.s.DepositAmount, newDeposit))
	a.s.CheckpointedAmount, a.s.CheckpointedAt = v.CheckpointedAmount, v.EffectiveTime
	a.s.RatePerSecond = v.NewRatePerSecond
	a.s.DepositAmount = newDeposit
}

func (a *applier) endShortened(v *StreamEndShortened) {
	a.requireStatus(v.Type(), StatusActive, StatusPaused)
	a.expectUint("old end time", v.OldEndTime, a.s.EndTime)
	if a.s.Known && v.NewEndTime > a.s.StartTime {
		streamable, ok := secondsAmount(v.NewEndTime - a.s.StartTime).Mul(a.s.RatePerSecond)
		if ok {
			want := domain.MaxAmountOf(streamable, a.s.Accrued(a.now))
			a.expectAmount("refund", v.RefundAmount, a.sub(a.s.DepositAmount, want))
		}
	}
	a.s.DepositAmount = a.sub(a.s.DepositAmount, v.RefundAmount)
	a.s.EndTime = v.NewEndTime
}

func (a *applier) toppedUp(v *StreamToppedUp) {
	a.requireStatus(v.Type(), StatusActive, StatusPaused)
	if v.TopUpAmount.Sign() <= 0 {
		a.flag(AnomalyNonPositiveAmount, "top-up of %s", v.TopUpAmount)
	}
	a.expectAmount("new deposit", v.NewDepositAmount, a.add(a.s.DepositAmount, v.TopUpAmount))
	a.s.DepositAmount = v.NewDepositAmount
	a.s.EndTime = v.NewEndTime
}

func (a *applier) clonedFrom(v *StreamCloned) {
	if a.s.Known && (a.s.Sender != v.Sender || a.s.Recipient != v.Recipient || a.s.DepositAmount != v.DepositAmount ||
		a.s.RatePerSecond != v.RatePerSecond || a.s.StartTime != v.StartTime || a.s.CliffTime != v.CliffTime ||
		a.s.EndTime != v.EndTime) {
		a.flag(AnomalyValueMismatch, "clone parameters differ from the stream's creation")
	}
	src := v.SourceStreamID
	a.s.ClonedFrom = &src
}

func (a *applier) keeperCancelled(v *StreamKeeperCancelled) {
	a.requireStatus(v.Type(), StatusActive, StatusPaused)
	if a.s.Known {
		accrued := a.s.Accrued(a.now)
		a.expectAmount("recipient amount", v.RecipientAmount, domain.MaxAmountOf(a.sub(accrued, a.s.WithdrawnAmount), domain.Amount{}))
		a.expectAmount("keeper fee + sender refund", a.add(v.KeeperFee, v.SenderRefund),
			domain.MaxAmountOf(a.sub(a.s.DepositAmount, accrued), domain.Amount{}))
	}
	// The keeper pays the recipient what had accrued; counting it as withdrawn keeps withdrawn == paid out.
	a.s.WithdrawnAmount = a.add(a.s.WithdrawnAmount, v.RecipientAmount)
	a.s.Status, a.s.CancelledAt, a.s.PauseReason = StatusCancelled, a.now, ""
}

// Replay folds a stream's events in order, leaving out every event that its compensations leave reverted (and the
// compensations themselves). It is how projections rebuild a stream after a reorg.
func Replay(entries []domain.Entry) Stream {
	return ReplayUntil(entries, ^uint32(0))
}

// ReplayUntil is Replay restricted to events at or below ledger: the state as of that ledger.
func ReplayUntil(entries []domain.Entry, ledger uint32) Stream {
	s, _ := ReplayWith(entries, ledger, nil)
	return s
}

// Origin gives the state a child stream starts from: its parent's as of the delegation, split (DelegatedChild).
type Origin func(*StreamDelegatedFrom) (Stream, error)

// ReplayWith is ReplayUntil for a stream that may be a delegation's child: origin, when not nil, gives the state
// its StreamDelegatedFrom starts from (it reads the parent's events, which are not in entries).
func ReplayWith(entries []domain.Entry, ledger uint32, origin Origin) (Stream, error) {
	reverted := domain.Standing(entries)
	var s Stream
	for _, en := range entries {
		if domain.IsCompensation(en.Event) || reverted[en.ID] {
			continue
		}
		if ce, ok := en.Event.(domain.ChainEvent); ok && ce.ChainMetadata().Ledger > ledger {
			continue
		}
		if from, ok := en.Event.(*StreamDelegatedFrom); ok && !s.Known && origin != nil {
			var err error
			if s, err = origin(from); err != nil {
				return Stream{}, err
			}
		}
		s = Apply(s, en.ID, en.Event)
	}
	return s, nil
}
