package domain

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

const (
	t0      = uint64(1_700_000_000)
	oneDay  = uint64(86_400)
	xlmUnit = int64(10_000_000)
)

func amt(s string) Amount {
	a, err := ParseDecimal(s, DefaultDecimals)
	if err != nil {
		panic(err)
	}
	return a
}

func raw(v int64) Amount { return NewAmount(v) }

// at places an event on chain at ledger l, closing at unix time ts.
func at(l uint32, ts uint64) ChainMeta {
	return ChainMeta{
		NetworkID:      NetworkID("Test SDF Network ; September 2015"),
		ContractID:     testContract,
		Ledger:         l,
		LedgerHash:     "hash",
		LedgerClosedAt: time.Unix(int64(ts), 0).UTC(),
	}
}

// The worked example of the issue: 1000 tokens at 0.0000116/s (116 base units/s), one-day cliff.
func workedCreate() *StreamCreated {
	return &StreamCreated{
		ChainMeta:     at(10, t0),
		StreamID:      42,
		Sender:        testAccount,
		Recipient:     testAccount2,
		DepositAmount: amt("1000.0000000"),
		RatePerSecond: amt("0.0000116"),
		StartTime:     t0,
		CliffTime:     t0 + oneDay,
		EndTime:       t0 + 86_206_896, // rate × duration = 999.9999936 ≤ deposit
	}
}

func fold(events ...Event) Stream {
	var s Stream
	for i, e := range events {
		s = Apply(s, "ev"+string(rune('a'+i)), e)
	}
	return s
}

func codes(s Stream) []string {
	var out []string
	for _, a := range s.Anomalies {
		out = append(out, a.Code)
	}
	return out
}

func TestAccrualWorkedExample(t *testing.T) {
	s := fold(workedCreate())
	tests := []struct {
		name string
		at   uint64
		want string
	}{
		{"before start", t0 - 1, "0.0000000"},
		{"at start, before cliff", t0, "0.0000000"},
		{"one second before the cliff", t0 + oneDay - 1, "0.0000000"},
		{"at the cliff the first day is released", t0 + oneDay, "1.0022400"}, // 86400 × 116
		{"halfway", t0 + 43_103_448, "499.9999968"},
		{"at end", t0 + 86_206_896, "999.9999936"},
		{"long after end: capped by rate × duration", t0 + 10*86_206_896, "999.9999936"},
	}
	for _, tt := range tests {
		if got := s.Accrued(tt.at).Decimal(7); got != tt.want {
			t.Errorf("%s: Accrued = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestCancelHalfwayRefund(t *testing.T) {
	half := t0 + 43_103_448
	s := fold(workedCreate(),
		&StreamWithdrawn{ChainMeta: at(20, t0+oneDay), StreamID: 42, Recipient: testAccount2, Amount: amt("1.0022400")},
		&StreamCancelled{ChainMeta: at(30, half), StreamID: 42, CancelledAt: half},
	)
	if s.Status != StatusCancelled || s.CancelledAt != half {
		t.Fatalf("status %s at %d", s.Status, s.CancelledAt)
	}
	if got := s.Refund().Decimal(7); got != "500.0000032" {
		t.Errorf("refund = %s, want 500.0000032", got)
	}
	// Accrual is frozen at the cancellation, however late we look.
	if got := s.Accrued(half + 1_000_000).Decimal(7); got != "499.9999968" {
		t.Errorf("accrued after cancel = %s", got)
	}
	if got := s.Withdrawable(half + 1_000_000).Decimal(7); got != "498.9977568" {
		t.Errorf("withdrawable after cancel = %s", got)
	}
	// Before the cancellation the point-in-time view is unchanged.
	if got := s.Accrued(t0 + oneDay).Decimal(7); got != "1.0022400" {
		t.Errorf("accrued at cliff = %s", got)
	}
	if len(s.Anomalies) != 0 {
		t.Errorf("anomalies %v", s.Anomalies)
	}
}

func TestTransitions(t *testing.T) {
	c := workedCreate()
	mid := t0 + 10*oneDay
	withdraw := func(l uint32, ts uint64, a Amount) *StreamWithdrawn {
		return &StreamWithdrawn{ChainMeta: at(l, ts), StreamID: 42, Recipient: testAccount2, Amount: a}
	}
	accruedAt := func(ts uint64) Amount { s := fold(c); return s.Accrued(ts) }
	tests := []struct {
		name      string
		events    []Event
		check     func(t *testing.T, s Stream)
		anomalies []string
	}{
		{
			name:   "created",
			events: []Event{c},
			check: func(t *testing.T, s Stream) {
				if !s.Known || s.Status != StatusActive || s.Kind != KindLinear || s.CheckpointedAt != t0 ||
					!s.CheckpointedAmount.IsZero() || s.CreatedLedger != 10 || s.Version != 1 || s.LastEventID != "eva" {
					t.Fatalf("state %+v", s)
				}
			},
		},
		{
			name:   "withdraw up to withdrawable",
			events: []Event{c, withdraw(11, mid, accruedAt(mid))},
			check: func(t *testing.T, s Stream) {
				if s.WithdrawnAmount != accruedAt(mid) || !s.Withdrawable(mid).IsZero() {
					t.Fatalf("withdrawn %s, withdrawable %s", s.WithdrawnAmount, s.Withdrawable(mid))
				}
			},
		},
		{
			name:      "withdraw above withdrawable is applied and flagged",
			events:    []Event{c, withdraw(11, mid, amt("500"))},
			check:     func(t *testing.T, s Stream) { expectAmount(t, "withdrawn", s.WithdrawnAmount, amt("500")) },
			anomalies: []string{AnomalyExceedsWithdrawable},
		},
		{
			name:      "withdraw to someone else's name",
			events:    []Event{c, &StreamWithdrawn{ChainMeta: at(11, mid), StreamID: 42, Recipient: testAccount, Amount: raw(1)}},
			anomalies: []string{AnomalyRecipientMismatch},
		},
		{
			name:      "withdraw of nothing",
			events:    []Event{c, withdraw(11, mid, Amount{})},
			anomalies: []string{AnomalyNonPositiveAmount},
		},
		{
			name:      "withdraw on an unknown stream",
			events:    []Event{withdraw(11, mid, raw(5))},
			check:     func(t *testing.T, s Stream) { expectAmount(t, "withdrawn", s.WithdrawnAmount, raw(5)) },
			anomalies: []string{AnomalyUnknownStream},
		},
		{
			name: "withdraw-to keeps the destination out of the recipient check",
			events: []Event{c, &StreamWithdrawn{ChainMeta: at(11, mid), StreamID: 42, Recipient: testAccount2,
				Destination: testAccount, Amount: raw(100)}},
		},
		{
			name:   "pause does not stop accrual",
			events: []Event{c, &StreamPaused{ChainMeta: at(11, mid), StreamID: 42, Reason: PauseCompliance}},
			check: func(t *testing.T, s Stream) {
				if s.Status != StatusPaused || s.PauseReason != PauseCompliance {
					t.Fatalf("status %s reason %q", s.Status, s.PauseReason)
				}
				expectAmount(t, "accrued while paused", s.Accrued(mid+oneDay), accruedAt(mid+oneDay))
			},
		},
		{
			name: "withdraw while paused before end",
			events: []Event{c, &StreamPaused{ChainMeta: at(11, mid), StreamID: 42, Reason: PauseOperational},
				withdraw(12, mid+1, raw(1))},
			anomalies: []string{AnomalyInvalidTransition},
		},
		{
			name: "withdraw while paused after end is allowed",
			events: []Event{c, &StreamPaused{ChainMeta: at(11, mid), StreamID: 42, Reason: PauseOperational},
				withdraw(12, c.EndTime+1, raw(1))},
		},
		{
			name: "resume",
			events: []Event{c, &StreamPaused{ChainMeta: at(11, mid), StreamID: 42, Reason: PauseEmergency},
				&StreamResumed{ChainMeta: at(12, mid+5), StreamID: 42}},
			check: func(t *testing.T, s Stream) {
				if s.Status != StatusActive || s.PauseReason != "" {
					t.Fatalf("status %s reason %q", s.Status, s.PauseReason)
				}
			},
		},
		{
			name:      "resume an active stream",
			events:    []Event{c, &StreamResumed{ChainMeta: at(12, mid), StreamID: 42}},
			anomalies: []string{AnomalyInvalidTransition},
		},
		{
			name:      "pause twice",
			events:    []Event{c, &StreamPaused{ChainMeta: at(11, mid), StreamID: 42}, &StreamPaused{ChainMeta: at(12, mid), StreamID: 42}},
			anomalies: []string{AnomalyInvalidTransition},
		},
		{
			name:      "top-up of nothing",
			events:    []Event{c, &StreamToppedUp{ChainMeta: at(11, mid), StreamID: 42, TopUpAmount: raw(0), NewDepositAmount: c.DepositAmount, NewEndTime: c.EndTime}},
			anomalies: []string{AnomalyNonPositiveAmount},
		},
		{
			name: "top-up raises the deposit",
			events: []Event{c, &StreamToppedUp{ChainMeta: at(11, mid), StreamID: 42, TopUpAmount: amt("10"),
				NewDepositAmount: amt("1010"), NewEndTime: c.EndTime}},
			check: func(t *testing.T, s Stream) { expectAmount(t, "deposit", s.DepositAmount, amt("1010")) },
		},
		{
			name: "top-up whose new deposit does not add up",
			events: []Event{c, &StreamToppedUp{ChainMeta: at(11, mid), StreamID: 42, TopUpAmount: amt("10"),
				NewDepositAmount: amt("1011"), NewEndTime: c.EndTime}},
			check:     func(t *testing.T, s Stream) { expectAmount(t, "deposit (chain wins)", s.DepositAmount, amt("1011")) },
			anomalies: []string{AnomalyValueMismatch},
		},
		{
			name: "rate increase checkpoints what accrued so far",
			events: []Event{c, &StreamRateUpdated{ChainMeta: at(11, mid), StreamID: 42, OldRatePerSecond: raw(116),
				NewRatePerSecond: raw(200), EffectiveTime: mid}},
			check: func(t *testing.T, s Stream) {
				expectAmount(t, "checkpoint", s.CheckpointedAmount, raw(116*int64(10*oneDay)))
				if s.CheckpointedAt != mid {
					t.Fatalf("checkpointed at %d", s.CheckpointedAt)
				}
				expectAmount(t, "accrued 100 s later", s.Accrued(mid+100), raw(116*int64(10*oneDay)+200*100))
			},
		},
		{
			name: "rate update that is not an increase, from a stale rate",
			events: []Event{c, &StreamRateUpdated{ChainMeta: at(11, mid), StreamID: 42, OldRatePerSecond: raw(100),
				NewRatePerSecond: raw(50), EffectiveTime: mid}},
			anomalies: []string{AnomalyValueMismatch, AnomalyValueMismatch},
		},
		{
			name: "rate decrease re-prices the remaining deposit",
			events: []Event{c, &StreamRateDecreased{ChainMeta: at(11, mid), StreamID: 42, OldRatePerSecond: raw(116),
				NewRatePerSecond: raw(100), EffectiveTime: mid, CheckpointedAmount: raw(116 * int64(10*oneDay)),
				RefundAmount: raw(10_000_000_000 - 116*int64(10*oneDay) - 100*int64(86_206_896-10*oneDay))}},
			check: func(t *testing.T, s Stream) {
				want := raw(116*int64(10*oneDay) + 100*int64(86_206_896-10*oneDay))
				expectAmount(t, "deposit", s.DepositAmount, want)
				expectAmount(t, "accrued at end", s.Accrued(c.EndTime), want)
				expectAmount(t, "rate", s.RatePerSecond, raw(100))
			},
		},
		{
			name: "rate decrease with a wrong checkpoint and refund",
			events: []Event{c, &StreamRateDecreased{ChainMeta: at(11, mid), StreamID: 42, OldRatePerSecond: raw(116),
				NewRatePerSecond: raw(100), EffectiveTime: mid, CheckpointedAmount: raw(1), RefundAmount: raw(1)}},
			anomalies: []string{AnomalyValueMismatch, AnomalyValueMismatch},
		},
		{
			name: "end shortened refunds the unstreamed part",
			events: []Event{c, &StreamEndShortened{ChainMeta: at(11, mid), StreamID: 42, OldEndTime: c.EndTime,
				NewEndTime: t0 + 20*oneDay, RefundAmount: raw(10_000_000_000 - 116*int64(20*oneDay))}},
			check: func(t *testing.T, s Stream) {
				expectAmount(t, "deposit", s.DepositAmount, raw(116*int64(20*oneDay)))
				if s.EndTime != t0+20*oneDay {
					t.Fatalf("end %d", s.EndTime)
				}
			},
		},
		{
			name: "end shortened from a stale end",
			events: []Event{c, &StreamEndShortened{ChainMeta: at(11, mid), StreamID: 42, OldEndTime: 1,
				NewEndTime: t0 + 20*oneDay, RefundAmount: raw(10_000_000_000 - 116*int64(20*oneDay))}},
			anomalies: []string{AnomalyValueMismatch},
		},
		{
			name: "end extended",
			events: []Event{c, &StreamEndExtended{ChainMeta: at(11, mid), StreamID: 42, OldEndTime: c.EndTime,
				NewEndTime: c.EndTime + 100}},
			check: func(t *testing.T, s Stream) {
				if s.EndTime != c.EndTime+100 {
					t.Fatalf("end %d", s.EndTime)
				}
			},
		},
		{
			name: "recipient changed",
			events: []Event{c, &StreamRecipientUpdated{ChainMeta: at(11, mid), StreamID: 42, OldRecipient: testAccount2,
				NewRecipient: testAccount}},
			check: func(t *testing.T, s Stream) {
				if s.Recipient != testAccount {
					t.Fatalf("recipient %s", s.Recipient)
				}
			},
		},
		{
			name: "recipient changed from someone else",
			events: []Event{c, &StreamRecipientUpdated{ChainMeta: at(11, mid), StreamID: 42, OldRecipient: testAccount,
				NewRecipient: testAccount}},
			anomalies: []string{AnomalyRecipientMismatch},
		},
		{
			name:   "cancel freezes accrual",
			events: []Event{c, &StreamCancelled{ChainMeta: at(11, mid), StreamID: 42, CancelledAt: mid}},
			check: func(t *testing.T, s Stream) {
				expectAmount(t, "accrued later", s.Accrued(mid+oneDay), accruedAt(mid))
				expectAmount(t, "refund", s.Refund(), raw(10_000_000_000-116*int64(10*oneDay)))
			},
		},
		{
			name:      "cancel twice",
			events:    []Event{c, &StreamCancelled{ChainMeta: at(11, mid), StreamID: 42}, &StreamCancelled{ChainMeta: at(12, mid), StreamID: 42}},
			anomalies: []string{AnomalyInvalidTransition},
		},
		{
			name: "withdraw everything then completed then closed",
			events: []Event{c, withdraw(11, c.EndTime, amt("999.9999936")),
				&StreamCompleted{ChainMeta: at(11, c.EndTime), StreamID: 42}},
			anomalies: []string{AnomalyIncompleteCompletion}, // 0.0000064 of the deposit can never stream
		},
		{
			name: "completed after exact full withdrawal, then closed",
			events: []Event{exactCreate(), withdraw(11, t0+1000, raw(1000)),
				&StreamCompleted{ChainMeta: at(11, t0+1000), StreamID: 42},
				&StreamClosed{ChainMeta: at(12, t0+1001), StreamID: 42}},
			check: func(t *testing.T, s Stream) {
				if s.Status != StatusClosed {
					t.Fatalf("status %s", s.Status)
				}
			},
		},
		{
			name: "a cancelled stream never completes",
			events: []Event{c, &StreamCancelled{ChainMeta: at(11, mid), StreamID: 42},
				&StreamCompleted{ChainMeta: at(12, mid), StreamID: 42}},
			anomalies: []string{AnomalyInvalidTransition, AnomalyIncompleteCompletion},
		},
		{
			name: "close a cancelled stream with nothing left to claim",
			events: []Event{exactCreate(), withdraw(11, t0+400, raw(400)),
				&StreamCancelled{ChainMeta: at(12, t0+400), StreamID: 42},
				&StreamClosed{ChainMeta: at(13, t0+500), StreamID: 42}},
			check: func(t *testing.T, s Stream) {
				if s.Status != StatusClosed || s.CancelledAt != t0+400 {
					t.Fatalf("status %s cancelled %d", s.Status, s.CancelledAt)
				}
				expectAmount(t, "refund survives close", s.Refund(), raw(600))
			},
		},
		{
			name: "close a cancelled stream that still owes the recipient",
			events: []Event{exactCreate(), &StreamCancelled{ChainMeta: at(12, t0+400), StreamID: 42},
				&StreamClosed{ChainMeta: at(13, t0+500), StreamID: 42}},
			anomalies: []string{AnomalyInvalidTransition},
		},
		{
			name:      "close an active stream",
			events:    []Event{c, &StreamClosed{ChainMeta: at(12, mid), StreamID: 42}},
			anomalies: []string{AnomalyInvalidTransition},
		},
		{
			name: "event after close",
			events: []Event{exactCreate(), withdraw(11, t0+1000, raw(1000)),
				&StreamCompleted{ChainMeta: at(11, t0+1000), StreamID: 42},
				&StreamClosed{ChainMeta: at(12, t0+1001), StreamID: 42}, withdraw(13, t0+1002, raw(1))},
			anomalies: []string{AnomalyEventAfterClose, AnomalyExceedsWithdrawable},
		},
		{
			name: "keeper cancel pays the recipient and splits the refund",
			events: []Event{exactCreate(), &StreamKeeperCancelled{ChainMeta: at(12, t0+400), StreamID: 42,
				Keeper: testAccount, KeeperFee: raw(3), RecipientAmount: raw(400), SenderRefund: raw(597)}},
			check: func(t *testing.T, s Stream) {
				if s.Status != StatusCancelled || s.CancelledAt != t0+400 {
					t.Fatalf("status %s", s.Status)
				}
				expectAmount(t, "withdrawn", s.WithdrawnAmount, raw(400))
				expectAmount(t, "refund", s.Refund(), raw(600))
			},
		},
		{
			name: "keeper cancel with amounts that do not add up",
			events: []Event{exactCreate(), &StreamKeeperCancelled{ChainMeta: at(12, t0+400), StreamID: 42,
				Keeper: testAccount, KeeperFee: raw(3), RecipientAmount: raw(1), SenderRefund: raw(1)}},
			anomalies: []string{AnomalyValueMismatch, AnomalyValueMismatch},
		},
		{
			name: "cloned marks its source",
			events: []Event{c, &StreamCloned{ChainMeta: at(10, t0), NewStreamID: 42, SourceStreamID: 7, Sender: c.Sender,
				Recipient: c.Recipient, DepositAmount: c.DepositAmount, RatePerSecond: c.RatePerSecond,
				StartTime: c.StartTime, CliffTime: c.CliffTime, EndTime: c.EndTime}},
			check: func(t *testing.T, s Stream) {
				if s.ClonedFrom == nil || *s.ClonedFrom != 7 {
					t.Fatalf("cloned from %v", s.ClonedFrom)
				}
			},
		},
		{
			name:      "cloned with other parameters",
			events:    []Event{c, &StreamCloned{ChainMeta: at(10, t0), NewStreamID: 42, SourceStreamID: 7}},
			anomalies: []string{AnomalyValueMismatch},
		},
		{
			name:      "created twice",
			events:    []Event{c, c},
			anomalies: []string{AnomalyDuplicateCreate},
		},
		{
			name: "observed event with a decode error",
			events: []Event{c, &ContractEventObserved{ChainMeta: at(11, mid), Topic: "withdrew", StreamID: ptr(uint64(42)),
				DecodeError: "amount is not an i128"}},
			anomalies: []string{AnomalyDecodeError},
		},
		{
			name:   "observed event without error changes nothing but the version",
			events: []Event{c, &ContractEventObserved{ChainMeta: at(11, mid), Topic: "health", StreamID: ptr(uint64(42))}},
			check: func(t *testing.T, s Stream) {
				if s.Version != 2 || s.UpdatedLedger != 11 {
					t.Fatalf("version %d updated %d", s.Version, s.UpdatedLedger)
				}
			},
		},
		{
			name:      "a ledger marker is not a stream event",
			events:    []Event{c, &LedgerClosed{Ledger: 11}},
			anomalies: []string{AnomalyNotAStreamEvent},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fold(tt.events...)
			if got := codes(s); !slices.Equal(got, tt.anomalies) {
				t.Fatalf("anomalies %v, want %v (%+v)", got, tt.anomalies, s.Anomalies)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
			if s.Version != uint64(len(tt.events)) {
				t.Fatalf("version %d after %d events", s.Version, len(tt.events))
			}
		})
	}
}

// exactCreate is a stream whose deposit streams exactly: 1000 base units at 1/s, no cliff.
func exactCreate() *StreamCreated {
	return &StreamCreated{ChainMeta: at(10, t0), StreamID: 42, Sender: testAccount, Recipient: testAccount2,
		DepositAmount: raw(1000), RatePerSecond: raw(1), StartTime: t0, CliffTime: t0, EndTime: t0 + 1000}
}

func ptr[T any](v T) *T { return &v }

func expectAmount(t *testing.T, what string, got, want Amount) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}

func TestInvalidCreates(t *testing.T) {
	base := func(edit func(c *StreamCreated)) *StreamCreated { c := exactCreate(); edit(c); return c }
	for name, c := range map[string]*StreamCreated{
		"zero deposit":          base(func(c *StreamCreated) { c.DepositAmount = Amount{} }),
		"sender is recipient":   base(func(c *StreamCreated) { c.Recipient = c.Sender }),
		"start after end":       base(func(c *StreamCreated) { c.StartTime = c.EndTime }),
		"cliff after end":       base(func(c *StreamCreated) { c.CliffTime = c.EndTime + 1 }),
		"deposit below streams": base(func(c *StreamCreated) { c.RatePerSecond = raw(2) }),
		"rate overflows":        base(func(c *StreamCreated) { c.RatePerSecond = MaxAmount }),
	} {
		if got := codes(fold(c)); !slices.Equal(got, []string{AnomalyInvalidCreate}) {
			t.Errorf("%s: anomalies %v", name, got)
		}
	}
}

func TestAccrualEdges(t *testing.T) {
	cliffOnly := exactCreate()
	cliffOnly.RatePerSecond, cliffOnly.CliffTime = Amount{}, t0+500
	s := fold(cliffOnly)
	if s.Kind != KindCliffOnly {
		t.Fatalf("kind %s", s.Kind)
	}
	expectAmount(t, "cliff-only before cliff", s.Accrued(t0+499), Amount{})
	expectAmount(t, "cliff-only at cliff", s.Accrued(t0+500), raw(1000))

	huge := exactCreate()
	huge.RatePerSecond, huge.DepositAmount = MaxAmount, MaxAmount
	s = fold(huge)
	expectAmount(t, "overflowing product accrues the deposit", s.Accrued(t0+10), MaxAmount)

	s = fold(exactCreate())
	s.CheckpointedAt, s.CheckpointedAmount = s.EndTime, raw(700)
	expectAmount(t, "checkpoint at end", s.Accrued(t0+2000), raw(700))
	s.RatePerSecond = raw(-1)
	expectAmount(t, "negative rate", s.Accrued(t0+10), Amount{})

	var unknown Stream
	expectAmount(t, "unknown stream", unknown.Accrued(t0), Amount{})
	expectAmount(t, "no refund without cancel", unknown.Refund(), Amount{})
	if unknown.Ref().String() != ":0" {
		t.Fatalf("ref %s", unknown.Ref())
	}
}

func TestApplyDoesNotMutateItsInput(t *testing.T) {
	s := fold(exactCreate(), &StreamResumed{ChainMeta: at(11, t0), StreamID: 42})
	before := slices.Clone(s.Anomalies)
	_ = Apply(s, "x", &StreamResumed{ChainMeta: at(12, t0), StreamID: 42})
	_ = Apply(s, "y", &StreamPaused{ChainMeta: at(12, t0), StreamID: 42})
	if !slices.Equal(s.Anomalies, before) || s.Version != 2 {
		t.Fatalf("input changed: %+v", s)
	}
}

func TestReplaySkipsRevertedEvents(t *testing.T) {
	entries := []Entry{
		{ID: "c", Event: exactCreate()},
		{ID: "w1", Event: &StreamWithdrawn{ChainMeta: at(11, t0+100), StreamID: 42, Recipient: testAccount2, Amount: raw(100)}},
		{ID: "w2", Event: &StreamWithdrawn{ChainMeta: at(12, t0+200), StreamID: 42, Recipient: testAccount2, Amount: raw(50)}},
		{ID: "r", Event: &EventReverted{RevertedEventID: "w2", RevertedType: TypeStreamWithdrawn, RevertedLedger: 12, Reason: RevertReasonReorg, Fork: 11}},
		{ID: "w3", Event: &StreamWithdrawn{ChainMeta: at(12, t0+210), StreamID: 42, Recipient: testAccount2, Amount: raw(70)}},
	}
	s := Replay(entries)
	expectAmount(t, "withdrawn", s.WithdrawnAmount, raw(170))
	if s.LastEventID != "w3" || s.Version != 3 {
		t.Fatalf("last %s version %d", s.LastEventID, s.Version)
	}
	asOf11 := ReplayUntil(entries, 11)
	expectAmount(t, "withdrawn as of 11", asOf11.WithdrawnAmount, raw(100))
}

func TestStreamNamesAndIDs(t *testing.T) {
	r := StreamRef{ContractID: testContract, StreamID: 42}
	if r.String() != testContract+":42" || r.StoreStream() != "fluxora-"+testContract+"-42" {
		t.Fatalf("names %s %s", r, r.StoreStream())
	}
	if ContractStoreStream(testContract) != "contract-"+testContract || LedgerStoreStream("ab") != "ledgers-ab" {
		t.Fatal("store stream names")
	}
	// TOID of ledger 1, tx 1, op 0 is 1<<32 | 1<<12.
	if got := ChainEventID(1, 1, 0, 7); got != "0000000004294971392-0000000007" {
		t.Fatalf("chain event id %s", got)
	}
	a := ChainEventUUID("net", "lh", "tx", 0, 1)
	if a != ChainEventUUID("net", "lh", "tx", 0, 1) || a == ChainEventUUID("net", "lh2", "tx", 0, 1) || a == ChainEventUUID("net", "lh", "tx", 0, 2) {
		t.Fatal("chain event ids must be stable per position and differ per branch")
	}
	if DerivedEventUUID("ledger", "1") == DerivedEventUUID("ledger", "2") {
		t.Fatal("derived ids must differ")
	}
	if NetworkID("Public Global Stellar Network ; September 2015") != "7ac33997544e3175d266bd022439b22cdb16508c01163f26e5cb2a3e1045a979" {
		t.Fatal("network id")
	}
	if _, err := ParseStreamStatus("active"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseStreamStatus("ACTIVE"); err == nil {
		t.Fatal("statuses are case-sensitive API enums")
	}
}

// TestChainEventUUIDIsUUIDv5: chain and derived ids are exactly uuid.NewSHA1's over the name, as they always were (stored
// events are found again by them), also for names longer than the stack buffer.
func TestChainEventUUIDIsUUIDv5(t *testing.T) {
	long := strings.Repeat("f", 300)
	for _, c := range []struct {
		network, ledger, tx string
		op, event           uint32
	}{
		{"cee0302d59844d32bdca915c8203dd44b33fbb7edc19051ea37abedf28ecd472", "963f3cb6", "6f8f0676", 0, 1},
		{"", "", "", 0, 0},
		{long, long, long, 1<<32 - 1, 7},
	} {
		name := fmt.Sprintf("%s|%s|%s|%d|%d", c.network, c.ledger, c.tx, c.op, c.event)
		want := uuid.NewSHA1(eventNamespace, []byte(name)).String()
		if got := ChainEventUUID(c.network, c.ledger, c.tx, c.op, c.event); got != want {
			t.Fatalf("%q: %s, want %s", name, got, want)
		}
	}
	for _, parts := range [][]string{nil, {"1"}, {"a", "", long}} {
		name := strings.Join(append([]string{"ledger"}, parts...), "|")
		if got, want := DerivedEventUUID("ledger", parts...), uuid.NewSHA1(eventNamespace, []byte(name)).String(); got != want {
			t.Fatalf("derived %q: %s, want %s", name, got, want)
		}
	}
}

// TestReplayFollowsTheLastCompensation: an event stands again once restored, and goes again when reverted again
// (A → B → A → B); the replay equals the fold of the standing events.
func TestReplayFollowsTheLastCompensation(t *testing.T) {
	c := workedCreate()
	w := &StreamWithdrawn{ChainMeta: at(12, t0+2*oneDay), StreamID: 42, Recipient: c.Recipient, Amount: NewAmount(10)}
	id := uint64(42)
	rev := &EventReverted{RevertedEventID: "w", RevertedType: w.Type(), ContractID: c.ContractID, StreamID: &id}
	res := &EventRestored{RestoredEventID: "w", RestoredType: w.Type(), ContractID: c.ContractID, StreamID: &id}
	withdrawn := func(entries ...Entry) string { return ReplayUntil(entries, ^uint32(0)).WithdrawnAmount.String() }
	base := []Entry{{ID: "c", Event: c}, {ID: "w", Event: w}}
	if got := withdrawn(base...); got != "10" {
		t.Fatalf("standing: %s", got)
	}
	steps := []struct {
		entry Entry
		want  string
	}{{Entry{ID: "r1", Event: rev}, "0"}, {Entry{ID: "s1", Event: res}, "10"}, {Entry{ID: "r2", Event: rev}, "0"}, {Entry{ID: "s2", Event: res}, "10"}}
	entries := base
	for i, st := range steps {
		entries = append(entries, st.entry)
		if got := withdrawn(entries...); got != st.want {
			t.Fatalf("after step %d (%s): withdrawn %s, want %s", i, st.entry.Event.Type(), got, st.want)
		}
	}
}

// TestDetachedIsEqualAndOwnsItsMemory: a detached state equals the original and shares none of its bytes.
func TestDetachedIsEqualAndOwnsItsMemory(t *testing.T) {
	c := workedCreate()
	c.Memo = []byte("memo")
	s := fold(c)
	s.Anomalies = []Anomaly{{Code: AnomalyValueMismatch, EventID: "e", Detail: "d"}}
	d := s.Detached()
	if !reflect.DeepEqual(d, s) {
		t.Fatalf("detached %+v\nwant %+v", d, s)
	}
	d.Memo[0] = 'M'
	d.Anomalies[0].Code = "X"
	if s.Memo[0] != 'm' || s.Anomalies[0].Code != AnomalyValueMismatch {
		t.Fatal("the detached state shares bytes with the original")
	}
}
