package fluxora_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/contracts/fluxora/fluxoratest"
	"github.com/streamledger/streamledger/domain"
)

const (
	t0      = fluxoratest.T0
	oneDay  = uint64(86_400)
	xlmUnit = int64(10_000_000)
)

func amt(s string) domain.Amount {
	a, err := domain.ParseDecimal(s, domain.DefaultDecimals)
	if err != nil {
		panic(err)
	}
	return a
}

func raw(v int64) domain.Amount { return domain.NewAmount(v) }

// at places an event on chain at ledger l, closing at unix time ts.
func at(l uint32, ts uint64) domain.ChainMeta { return fluxoratest.At(l, ts) }

// The worked example of the issue: 1000 tokens at 0.0000116/s (116 base units/s), one-day cliff.
func workedCreate() *fluxora.StreamCreated {
	return &fluxora.StreamCreated{
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

func fold(events ...domain.Event) fluxora.Stream {
	var s fluxora.Stream
	for i, e := range events {
		s = fluxora.Apply(s, "ev"+string(rune('a'+i)), e)
	}
	return s
}

func codes(s fluxora.Stream) []string {
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
		&fluxora.StreamWithdrawn{ChainMeta: at(20, t0+oneDay), StreamID: 42, Recipient: testAccount2, Amount: amt("1.0022400")},
		&fluxora.StreamCancelled{ChainMeta: at(30, half), StreamID: 42, CancelledAt: half},
	)
	if s.Status != fluxora.StatusCancelled || s.CancelledAt != half {
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
	withdraw := func(l uint32, ts uint64, a domain.Amount) *fluxora.StreamWithdrawn {
		return &fluxora.StreamWithdrawn{ChainMeta: at(l, ts), StreamID: 42, Recipient: testAccount2, Amount: a}
	}
	accruedAt := func(ts uint64) domain.Amount { s := fold(c); return s.Accrued(ts) }
	tests := []struct {
		name      string
		events    []domain.Event
		check     func(t *testing.T, s fluxora.Stream)
		anomalies []string
	}{
		{
			name:   "created",
			events: []domain.Event{c},
			check: func(t *testing.T, s fluxora.Stream) {
				if !s.Known || s.Status != fluxora.StatusActive || s.Kind != fluxora.KindLinear || s.CheckpointedAt != t0 ||
					!s.CheckpointedAmount.IsZero() || s.CreatedLedger != 10 || s.Version != 1 || s.LastEventID != "eva" {
					t.Fatalf("state %+v", s)
				}
			},
		},
		{
			name:   "withdraw up to withdrawable",
			events: []domain.Event{c, withdraw(11, mid, accruedAt(mid))},
			check: func(t *testing.T, s fluxora.Stream) {
				if s.WithdrawnAmount != accruedAt(mid) || !s.Withdrawable(mid).IsZero() {
					t.Fatalf("withdrawn %s, withdrawable %s", s.WithdrawnAmount, s.Withdrawable(mid))
				}
			},
		},
		{
			name:      "withdraw above withdrawable is applied and flagged",
			events:    []domain.Event{c, withdraw(11, mid, amt("500"))},
			check:     func(t *testing.T, s fluxora.Stream) { expectAmount(t, "withdrawn", s.WithdrawnAmount, amt("500")) },
			anomalies: []string{fluxora.AnomalyExceedsWithdrawable},
		},
		{
			name:      "withdraw to someone else's name",
			events:    []domain.Event{c, &fluxora.StreamWithdrawn{ChainMeta: at(11, mid), StreamID: 42, Recipient: testAccount, Amount: raw(1)}},
			anomalies: []string{fluxora.AnomalyRecipientMismatch},
		},
		{
			name:      "withdraw of nothing",
			events:    []domain.Event{c, withdraw(11, mid, domain.Amount{})},
			anomalies: []string{fluxora.AnomalyNonPositiveAmount},
		},
		{
			name:      "withdraw on an unknown stream",
			events:    []domain.Event{withdraw(11, mid, raw(5))},
			check:     func(t *testing.T, s fluxora.Stream) { expectAmount(t, "withdrawn", s.WithdrawnAmount, raw(5)) },
			anomalies: []string{fluxora.AnomalyUnknownStream},
		},
		{
			name: "withdraw-to keeps the destination out of the recipient check",
			events: []domain.Event{c, &fluxora.StreamWithdrawn{ChainMeta: at(11, mid), StreamID: 42, Recipient: testAccount2,
				Destination: testAccount, Amount: raw(100)}},
		},
		{
			name:   "pause does not stop accrual",
			events: []domain.Event{c, &fluxora.StreamPaused{ChainMeta: at(11, mid), StreamID: 42, Reason: fluxora.PauseCompliance}},
			check: func(t *testing.T, s fluxora.Stream) {
				if s.Status != fluxora.StatusPaused || s.PauseReason != fluxora.PauseCompliance {
					t.Fatalf("status %s reason %q", s.Status, s.PauseReason)
				}
				expectAmount(t, "accrued while paused", s.Accrued(mid+oneDay), accruedAt(mid+oneDay))
			},
		},
		{
			name: "withdraw while paused before end",
			events: []domain.Event{c, &fluxora.StreamPaused{ChainMeta: at(11, mid), StreamID: 42, Reason: fluxora.PauseOperational},
				withdraw(12, mid+1, raw(1))},
			anomalies: []string{fluxora.AnomalyInvalidTransition},
		},
		{
			name: "withdraw while paused after end is allowed",
			events: []domain.Event{c, &fluxora.StreamPaused{ChainMeta: at(11, mid), StreamID: 42, Reason: fluxora.PauseOperational},
				withdraw(12, c.EndTime+1, raw(1))},
		},
		{
			name: "resume",
			events: []domain.Event{c, &fluxora.StreamPaused{ChainMeta: at(11, mid), StreamID: 42, Reason: fluxora.PauseEmergency},
				&fluxora.StreamResumed{ChainMeta: at(12, mid+5), StreamID: 42}},
			check: func(t *testing.T, s fluxora.Stream) {
				if s.Status != fluxora.StatusActive || s.PauseReason != "" {
					t.Fatalf("status %s reason %q", s.Status, s.PauseReason)
				}
			},
		},
		{
			name:      "resume an active stream",
			events:    []domain.Event{c, &fluxora.StreamResumed{ChainMeta: at(12, mid), StreamID: 42}},
			anomalies: []string{fluxora.AnomalyInvalidTransition},
		},
		{
			name:      "pause twice",
			events:    []domain.Event{c, &fluxora.StreamPaused{ChainMeta: at(11, mid), StreamID: 42}, &fluxora.StreamPaused{ChainMeta: at(12, mid), StreamID: 42}},
			anomalies: []string{fluxora.AnomalyInvalidTransition},
		},
		{
			name:      "top-up of nothing",
			events:    []domain.Event{c, &fluxora.StreamToppedUp{ChainMeta: at(11, mid), StreamID: 42, TopUpAmount: raw(0), NewDepositAmount: c.DepositAmount, NewEndTime: c.EndTime}},
			anomalies: []string{fluxora.AnomalyNonPositiveAmount},
		},
		{
			name: "top-up raises the deposit",
			events: []domain.Event{c, &fluxora.StreamToppedUp{ChainMeta: at(11, mid), StreamID: 42, TopUpAmount: amt("10"),
				NewDepositAmount: amt("1010"), NewEndTime: c.EndTime}},
			check: func(t *testing.T, s fluxora.Stream) { expectAmount(t, "deposit", s.DepositAmount, amt("1010")) },
		},
		{
			name: "top-up whose new deposit does not add up",
			events: []domain.Event{c, &fluxora.StreamToppedUp{ChainMeta: at(11, mid), StreamID: 42, TopUpAmount: amt("10"),
				NewDepositAmount: amt("1011"), NewEndTime: c.EndTime}},
			check: func(t *testing.T, s fluxora.Stream) {
				expectAmount(t, "deposit (chain wins)", s.DepositAmount, amt("1011"))
			},
			anomalies: []string{fluxora.AnomalyValueMismatch},
		},
		{
			name: "rate increase checkpoints what accrued so far",
			events: []domain.Event{c, &fluxora.StreamRateUpdated{ChainMeta: at(11, mid), StreamID: 42, OldRatePerSecond: raw(116),
				NewRatePerSecond: raw(200), EffectiveTime: mid}},
			check: func(t *testing.T, s fluxora.Stream) {
				expectAmount(t, "checkpoint", s.CheckpointedAmount, raw(116*int64(10*oneDay)))
				if s.CheckpointedAt != mid {
					t.Fatalf("checkpointed at %d", s.CheckpointedAt)
				}
				expectAmount(t, "accrued 100 s later", s.Accrued(mid+100), raw(116*int64(10*oneDay)+200*100))
			},
		},
		{
			name: "rate update that is not an increase, from a stale rate",
			events: []domain.Event{c, &fluxora.StreamRateUpdated{ChainMeta: at(11, mid), StreamID: 42, OldRatePerSecond: raw(100),
				NewRatePerSecond: raw(50), EffectiveTime: mid}},
			anomalies: []string{fluxora.AnomalyValueMismatch, fluxora.AnomalyValueMismatch},
		},
		{
			name: "rate decrease re-prices the remaining deposit",
			events: []domain.Event{c, &fluxora.StreamRateDecreased{ChainMeta: at(11, mid), StreamID: 42, OldRatePerSecond: raw(116),
				NewRatePerSecond: raw(100), EffectiveTime: mid, CheckpointedAmount: raw(116 * int64(10*oneDay)),
				RefundAmount: raw(10_000_000_000 - 116*int64(10*oneDay) - 100*int64(86_206_896-10*oneDay))}},
			check: func(t *testing.T, s fluxora.Stream) {
				want := raw(116*int64(10*oneDay) + 100*int64(86_206_896-10*oneDay))
				expectAmount(t, "deposit", s.DepositAmount, want)
				expectAmount(t, "accrued at end", s.Accrued(c.EndTime), want)
				expectAmount(t, "rate", s.RatePerSecond, raw(100))
			},
		},
		{
			name: "rate decrease with a wrong checkpoint and refund",
			events: []domain.Event{c, &fluxora.StreamRateDecreased{ChainMeta: at(11, mid), StreamID: 42, OldRatePerSecond: raw(116),
				NewRatePerSecond: raw(100), EffectiveTime: mid, CheckpointedAmount: raw(1), RefundAmount: raw(1)}},
			anomalies: []string{fluxora.AnomalyValueMismatch, fluxora.AnomalyValueMismatch},
		},
		{
			name: "end shortened refunds the unstreamed part",
			events: []domain.Event{c, &fluxora.StreamEndShortened{ChainMeta: at(11, mid), StreamID: 42, OldEndTime: c.EndTime,
				NewEndTime: t0 + 20*oneDay, RefundAmount: raw(10_000_000_000 - 116*int64(20*oneDay))}},
			check: func(t *testing.T, s fluxora.Stream) {
				expectAmount(t, "deposit", s.DepositAmount, raw(116*int64(20*oneDay)))
				if s.EndTime != t0+20*oneDay {
					t.Fatalf("end %d", s.EndTime)
				}
			},
		},
		{
			name: "end shortened from a stale end",
			events: []domain.Event{c, &fluxora.StreamEndShortened{ChainMeta: at(11, mid), StreamID: 42, OldEndTime: 1,
				NewEndTime: t0 + 20*oneDay, RefundAmount: raw(10_000_000_000 - 116*int64(20*oneDay))}},
			anomalies: []string{fluxora.AnomalyValueMismatch},
		},
		{
			name: "end extended",
			events: []domain.Event{c, &fluxora.StreamEndExtended{ChainMeta: at(11, mid), StreamID: 42, OldEndTime: c.EndTime,
				NewEndTime: c.EndTime + 100}},
			check: func(t *testing.T, s fluxora.Stream) {
				if s.EndTime != c.EndTime+100 {
					t.Fatalf("end %d", s.EndTime)
				}
			},
		},
		{
			name: "recipient changed",
			events: []domain.Event{c, &fluxora.StreamRecipientUpdated{ChainMeta: at(11, mid), StreamID: 42, OldRecipient: testAccount2,
				NewRecipient: testAccount}},
			check: func(t *testing.T, s fluxora.Stream) {
				if s.Recipient != testAccount {
					t.Fatalf("recipient %s", s.Recipient)
				}
			},
		},
		{
			name: "recipient changed from someone else",
			events: []domain.Event{c, &fluxora.StreamRecipientUpdated{ChainMeta: at(11, mid), StreamID: 42, OldRecipient: testAccount,
				NewRecipient: testAccount}},
			anomalies: []string{fluxora.AnomalyRecipientMismatch},
		},
		{
			name:   "cancel freezes accrual",
			events: []domain.Event{c, &fluxora.StreamCancelled{ChainMeta: at(11, mid), StreamID: 42, CancelledAt: mid}},
			check: func(t *testing.T, s fluxora.Stream) {
				expectAmount(t, "accrued later", s.Accrued(mid+oneDay), accruedAt(mid))
				expectAmount(t, "refund", s.Refund(), raw(10_000_000_000-116*int64(10*oneDay)))
			},
		},
		{
			name:      "cancel twice",
			events:    []domain.Event{c, &fluxora.StreamCancelled{ChainMeta: at(11, mid), StreamID: 42}, &fluxora.StreamCancelled{ChainMeta: at(12, mid), StreamID: 42}},
			anomalies: []string{fluxora.AnomalyInvalidTransition},
		},
		{
			name: "withdraw everything then completed then closed",
			events: []domain.Event{c, withdraw(11, c.EndTime, amt("999.9999936")),
				&fluxora.StreamCompleted{ChainMeta: at(11, c.EndTime), StreamID: 42}},
			anomalies: []string{fluxora.AnomalyIncompleteCompletion}, // 0.0000064 of the deposit can never stream
		},
		{
			name: "completed after exact full withdrawal, then closed",
			events: []domain.Event{exactCreate(), withdraw(11, t0+1000, raw(1000)),
				&fluxora.StreamCompleted{ChainMeta: at(11, t0+1000), StreamID: 42},
				&fluxora.StreamClosed{ChainMeta: at(12, t0+1001), StreamID: 42}},
			check: func(t *testing.T, s fluxora.Stream) {
				if s.Status != fluxora.StatusClosed {
					t.Fatalf("status %s", s.Status)
				}
			},
		},
		{
			name: "a cancelled stream never completes",
			events: []domain.Event{c, &fluxora.StreamCancelled{ChainMeta: at(11, mid), StreamID: 42},
				&fluxora.StreamCompleted{ChainMeta: at(12, mid), StreamID: 42}},
			anomalies: []string{fluxora.AnomalyInvalidTransition, fluxora.AnomalyIncompleteCompletion},
		},
		{
			name: "close a cancelled stream with nothing left to claim",
			events: []domain.Event{exactCreate(), withdraw(11, t0+400, raw(400)),
				&fluxora.StreamCancelled{ChainMeta: at(12, t0+400), StreamID: 42},
				&fluxora.StreamClosed{ChainMeta: at(13, t0+500), StreamID: 42}},
			check: func(t *testing.T, s fluxora.Stream) {
				if s.Status != fluxora.StatusClosed || s.CancelledAt != t0+400 {
					t.Fatalf("status %s cancelled %d", s.Status, s.CancelledAt)
				}
				expectAmount(t, "refund survives close", s.Refund(), raw(600))
			},
		},
		{
			name: "close a cancelled stream that still owes the recipient",
			events: []domain.Event{exactCreate(), &fluxora.StreamCancelled{ChainMeta: at(12, t0+400), StreamID: 42},
				&fluxora.StreamClosed{ChainMeta: at(13, t0+500), StreamID: 42}},
			anomalies: []string{fluxora.AnomalyInvalidTransition},
		},
		{
			name:      "close an active stream",
			events:    []domain.Event{c, &fluxora.StreamClosed{ChainMeta: at(12, mid), StreamID: 42}},
			anomalies: []string{fluxora.AnomalyInvalidTransition},
		},
		{
			name: "event after close",
			events: []domain.Event{exactCreate(), withdraw(11, t0+1000, raw(1000)),
				&fluxora.StreamCompleted{ChainMeta: at(11, t0+1000), StreamID: 42},
				&fluxora.StreamClosed{ChainMeta: at(12, t0+1001), StreamID: 42}, withdraw(13, t0+1002, raw(1))},
			anomalies: []string{fluxora.AnomalyEventAfterClose, fluxora.AnomalyExceedsWithdrawable},
		},
		{
			name: "keeper cancel pays the recipient and splits the refund",
			events: []domain.Event{exactCreate(), &fluxora.StreamKeeperCancelled{ChainMeta: at(12, t0+400), StreamID: 42,
				Keeper: testAccount, KeeperFee: raw(3), RecipientAmount: raw(400), SenderRefund: raw(597)}},
			check: func(t *testing.T, s fluxora.Stream) {
				if s.Status != fluxora.StatusCancelled || s.CancelledAt != t0+400 {
					t.Fatalf("status %s", s.Status)
				}
				expectAmount(t, "withdrawn", s.WithdrawnAmount, raw(400))
				expectAmount(t, "refund", s.Refund(), raw(600))
			},
		},
		{
			name: "keeper cancel with amounts that do not add up",
			events: []domain.Event{exactCreate(), &fluxora.StreamKeeperCancelled{ChainMeta: at(12, t0+400), StreamID: 42,
				Keeper: testAccount, KeeperFee: raw(3), RecipientAmount: raw(1), SenderRefund: raw(1)}},
			anomalies: []string{fluxora.AnomalyValueMismatch, fluxora.AnomalyValueMismatch},
		},
		{
			name: "cloned marks its source",
			events: []domain.Event{c, &fluxora.StreamCloned{ChainMeta: at(10, t0), NewStreamID: 42, SourceStreamID: 7, Sender: c.Sender,
				Recipient: c.Recipient, DepositAmount: c.DepositAmount, RatePerSecond: c.RatePerSecond,
				StartTime: c.StartTime, CliffTime: c.CliffTime, EndTime: c.EndTime}},
			check: func(t *testing.T, s fluxora.Stream) {
				if s.ClonedFrom == nil || *s.ClonedFrom != 7 {
					t.Fatalf("cloned from %v", s.ClonedFrom)
				}
			},
		},
		{
			name:      "cloned with other parameters",
			events:    []domain.Event{c, &fluxora.StreamCloned{ChainMeta: at(10, t0), NewStreamID: 42, SourceStreamID: 7}},
			anomalies: []string{fluxora.AnomalyValueMismatch},
		},
		{
			name:      "created twice",
			events:    []domain.Event{c, c},
			anomalies: []string{fluxora.AnomalyDuplicateCreate},
		},
		{
			name: "observed event with a decode error",
			events: []domain.Event{c, &domain.ContractEventObserved{ChainMeta: at(11, mid), Topic: "withdrew", StreamID: ptr(uint64(42)),
				DecodeError: "amount is not an i128"}},
			anomalies: []string{fluxora.AnomalyDecodeError},
		},
		{
			name:   "observed event without error changes nothing but the version",
			events: []domain.Event{c, &domain.ContractEventObserved{ChainMeta: at(11, mid), Topic: "health", StreamID: ptr(uint64(42))}},
			check: func(t *testing.T, s fluxora.Stream) {
				if s.Version != 2 || s.UpdatedLedger != 11 {
					t.Fatalf("version %d updated %d", s.Version, s.UpdatedLedger)
				}
			},
		},
		{
			name:      "a ledger marker is not a stream event",
			events:    []domain.Event{c, &domain.LedgerClosed{Ledger: 11}},
			anomalies: []string{fluxora.AnomalyNotAStreamEvent},
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
func exactCreate() *fluxora.StreamCreated {
	return &fluxora.StreamCreated{ChainMeta: at(10, t0), StreamID: 42, Sender: testAccount, Recipient: testAccount2,
		DepositAmount: raw(1000), RatePerSecond: raw(1), StartTime: t0, CliffTime: t0, EndTime: t0 + 1000}
}

func ptr[T any](v T) *T { return &v }

func expectAmount(t *testing.T, what string, got, want domain.Amount) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}

func TestInvalidCreates(t *testing.T) {
	base := func(edit func(c *fluxora.StreamCreated)) *fluxora.StreamCreated {
		c := exactCreate()
		edit(c)
		return c
	}
	for name, c := range map[string]*fluxora.StreamCreated{
		"zero deposit":          base(func(c *fluxora.StreamCreated) { c.DepositAmount = domain.Amount{} }),
		"sender is recipient":   base(func(c *fluxora.StreamCreated) { c.Recipient = c.Sender }),
		"start after end":       base(func(c *fluxora.StreamCreated) { c.StartTime = c.EndTime }),
		"cliff after end":       base(func(c *fluxora.StreamCreated) { c.CliffTime = c.EndTime + 1 }),
		"deposit below streams": base(func(c *fluxora.StreamCreated) { c.RatePerSecond = raw(2) }),
		"rate overflows":        base(func(c *fluxora.StreamCreated) { c.RatePerSecond = domain.MaxAmount }),
	} {
		if got := codes(fold(c)); !slices.Equal(got, []string{fluxora.AnomalyInvalidCreate}) {
			t.Errorf("%s: anomalies %v", name, got)
		}
	}
}

func TestAccrualEdges(t *testing.T) {
	cliffOnly := exactCreate()
	cliffOnly.RatePerSecond, cliffOnly.CliffTime = domain.Amount{}, t0+500
	s := fold(cliffOnly)
	if s.Kind != fluxora.KindCliffOnly {
		t.Fatalf("kind %s", s.Kind)
	}
	expectAmount(t, "cliff-only before cliff", s.Accrued(t0+499), domain.Amount{})
	expectAmount(t, "cliff-only at cliff", s.Accrued(t0+500), raw(1000))

	huge := exactCreate()
	huge.RatePerSecond, huge.DepositAmount = domain.MaxAmount, domain.MaxAmount
	s = fold(huge)
	expectAmount(t, "overflowing product accrues the deposit", s.Accrued(t0+10), domain.MaxAmount)

	s = fold(exactCreate())
	s.CheckpointedAt, s.CheckpointedAmount = s.EndTime, raw(700)
	expectAmount(t, "checkpoint at end", s.Accrued(t0+2000), raw(700))
	s.RatePerSecond = raw(-1)
	expectAmount(t, "negative rate", s.Accrued(t0+10), domain.Amount{})

	var unknown fluxora.Stream
	expectAmount(t, "unknown stream", unknown.Accrued(t0), domain.Amount{})
	expectAmount(t, "no refund without cancel", unknown.Refund(), domain.Amount{})
	if unknown.Ref().String() != ":0" {
		t.Fatalf("ref %s", unknown.Ref())
	}
}

func TestApplyDoesNotMutateItsInput(t *testing.T) {
	s := fold(exactCreate(), &fluxora.StreamResumed{ChainMeta: at(11, t0), StreamID: 42})
	before := slices.Clone(s.Anomalies)
	_ = fluxora.Apply(s, "x", &fluxora.StreamResumed{ChainMeta: at(12, t0), StreamID: 42})
	_ = fluxora.Apply(s, "y", &fluxora.StreamPaused{ChainMeta: at(12, t0), StreamID: 42})
	if !slices.Equal(s.Anomalies, before) || s.Version != 2 {
		t.Fatalf("input changed: %+v", s)
	}
}

func TestReplaySkipsRevertedEvents(t *testing.T) {
	entries := []domain.Entry{
		{ID: "c", Event: exactCreate()},
		{ID: "w1", Event: &fluxora.StreamWithdrawn{ChainMeta: at(11, t0+100), StreamID: 42, Recipient: testAccount2, Amount: raw(100)}},
		{ID: "w2", Event: &fluxora.StreamWithdrawn{ChainMeta: at(12, t0+200), StreamID: 42, Recipient: testAccount2, Amount: raw(50)}},
		{ID: "r", Event: &domain.EventReverted{RevertedEventID: "w2", RevertedType: fluxora.TypeStreamWithdrawn, RevertedLedger: 12, Reason: domain.RevertReasonReorg, Fork: 11}},
		{ID: "w3", Event: &fluxora.StreamWithdrawn{ChainMeta: at(12, t0+210), StreamID: 42, Recipient: testAccount2, Amount: raw(70)}},
	}
	s := fluxora.Replay(entries)
	expectAmount(t, "withdrawn", s.WithdrawnAmount, raw(170))
	if s.LastEventID != "w3" || s.Version != 3 {
		t.Fatalf("last %s version %d", s.LastEventID, s.Version)
	}
	asOf11 := fluxora.ReplayUntil(entries, 11)
	expectAmount(t, "withdrawn as of 11", asOf11.WithdrawnAmount, raw(100))
}

func TestStreamNamesAndIDs(t *testing.T) {
	r := fluxora.StreamRef{ContractID: testContract, StreamID: 42}
	if r.String() != testContract+":42" || r.StoreStream() != "fluxora-"+testContract+"-42" {
		t.Fatalf("names %s %s", r, r.StoreStream())
	}
	if _, err := fluxora.ParseStreamStatus("active"); err != nil {
		t.Fatal(err)
	}
	if _, err := fluxora.ParseStreamStatus("ACTIVE"); err == nil {
		t.Fatal("statuses are case-sensitive API enums")
	}
}

// TestReplayFollowsTheLastCompensation: an event stands again once restored, and goes again when reverted again
// (A → B → A → B); the replay equals the fold of the standing events.
func TestReplayFollowsTheLastCompensation(t *testing.T) {
	c := workedCreate()
	w := &fluxora.StreamWithdrawn{ChainMeta: at(12, t0+2*oneDay), StreamID: 42, Recipient: c.Recipient, Amount: domain.NewAmount(10)}
	id := uint64(42)
	rev := &domain.EventReverted{RevertedEventID: "w", RevertedType: w.Type(), ContractID: c.ContractID, StreamID: &id}
	res := &domain.EventRestored{RestoredEventID: "w", RestoredType: w.Type(), ContractID: c.ContractID, StreamID: &id}
	withdrawn := func(entries ...domain.Entry) string {
		return fluxora.ReplayUntil(entries, ^uint32(0)).WithdrawnAmount.String()
	}
	base := []domain.Entry{{ID: "c", Event: c}, {ID: "w", Event: w}}
	if got := withdrawn(base...); got != "10" {
		t.Fatalf("standing: %s", got)
	}
	steps := []struct {
		entry domain.Entry
		want  string
	}{{domain.Entry{ID: "r1", Event: rev}, "0"}, {domain.Entry{ID: "s1", Event: res}, "10"}, {domain.Entry{ID: "r2", Event: rev}, "0"}, {domain.Entry{ID: "s2", Event: res}, "10"}}
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
	s.Anomalies = []domain.Anomaly{{Code: fluxora.AnomalyValueMismatch, EventID: "e", Detail: "d"}}
	d := s.Detached()
	if !reflect.DeepEqual(d, s) {
		t.Fatalf("detached %+v\nwant %+v", d, s)
	}
	d.Memo[0] = 'M'
	d.Anomalies[0].Code = "X"
	if s.Memo[0] != 'm' || s.Anomalies[0].Code != fluxora.AnomalyValueMismatch {
		t.Fatal("the detached state shares bytes with the original")
	}
}
