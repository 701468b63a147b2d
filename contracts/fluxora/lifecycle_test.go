package fluxora_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// lifecycle plays the contract's rules forward from random choices, producing the events a real contract would
// emit for one stream. It is a test oracle: every sequence it produces is valid, so folding it must raise no
// anomaly and keep the accounting invariants.
type lifecycle struct {
	r      *rand.Rand
	s      fluxora.Stream // the oracle's own view, kept with the same fold
	now    uint64
	ledger uint32
	out    []domain.Entry
}

func (l *lifecycle) emit(e domain.Event) {
	id := fmt.Sprintf("e%d", len(l.out))
	l.out = append(l.out, domain.Entry{ID: id, Event: e})
	l.s = fluxora.Apply(l.s, id, e)
}

func (l *lifecycle) meta() domain.ChainMeta { return at(l.ledger, l.now) }

func (l *lifecycle) run(steps int) []domain.Entry {
	l.now, l.ledger = t0, 100
	rate := domain.NewAmount(l.r.Int64N(5_000) + 1)
	if l.r.IntN(10) == 0 {
		rate = domain.Amount{}
	}
	duration := uint64(l.r.IntN(100_000) + 10)
	deposit, _ := domain.AmountFromParts(0, duration).Mul(rate)
	if rate.IsZero() {
		deposit = domain.NewAmount(l.r.Int64N(1_000_000) + 1)
	}
	deposit, _ = deposit.Add(domain.NewAmount(l.r.Int64N(1000)))
	cliff := t0 + uint64(l.r.IntN(int(duration)))
	if l.r.IntN(2) == 0 {
		cliff = t0
	}
	l.emit(&fluxora.StreamCreated{ChainMeta: l.meta(), StreamID: 1, Sender: testAccount, Recipient: testAccount2,
		DepositAmount: deposit, RatePerSecond: rate, StartTime: t0, CliffTime: cliff, EndTime: t0 + duration,
		WithdrawDustThreshold: domain.NewAmount(0)})
	for i := 0; i < steps && l.s.Status != fluxora.StatusClosed; i++ {
		l.now += uint64(l.r.IntN(int(duration)/8 + 2))
		l.ledger++
		l.step()
	}
	return l.out
}

func (l *lifecycle) step() {
	s := &l.s
	live := s.Status == fluxora.StatusActive || s.Status == fluxora.StatusPaused
	linear := s.Kind == fluxora.KindLinear
	switch l.r.IntN(11) {
	case 0, 1, 2:
		if s.Status == fluxora.StatusCompleted || (s.Status == fluxora.StatusPaused && l.now < s.EndTime) {
			return
		}
		w := s.Withdrawable(l.now)
		if w.Sign() <= 0 {
			return
		}
		l.emit(&fluxora.StreamWithdrawn{ChainMeta: l.meta(), StreamID: 1, Recipient: s.Recipient, Amount: w})
		if live && s.WithdrawnAmount == s.DepositAmount {
			l.emit(&fluxora.StreamCompleted{ChainMeta: l.meta(), StreamID: 1})
		}
	case 3:
		if s.Status == fluxora.StatusActive {
			l.emit(&fluxora.StreamPaused{ChainMeta: l.meta(), StreamID: 1, Reason: fluxora.PauseOperational})
		} else if s.Status == fluxora.StatusPaused {
			l.emit(&fluxora.StreamResumed{ChainMeta: l.meta(), StreamID: 1})
		}
	case 4:
		if live && linear && l.now < s.EndTime {
			amount := domain.NewAmount(l.r.Int64N(100_000) + 1)
			total, _ := s.DepositAmount.Add(amount)
			l.emit(&fluxora.StreamToppedUp{ChainMeta: l.meta(), StreamID: 1, TopUpAmount: amount, NewDepositAmount: total, NewEndTime: s.EndTime})
		}
	case 5:
		if live && linear && l.now < s.EndTime {
			newRate, _ := s.RatePerSecond.Add(domain.NewAmount(l.r.Int64N(100) + 1))
			l.emit(&fluxora.StreamRateUpdated{ChainMeta: l.meta(), StreamID: 1, OldRatePerSecond: s.RatePerSecond, NewRatePerSecond: newRate, EffectiveTime: l.now})
		}
	case 6:
		if live && linear && l.now < s.EndTime && s.RatePerSecond.Cmp(domain.NewAmount(1)) > 0 {
			_, lo := s.RatePerSecond.Parts()
			newRate := domain.NewAmount(l.r.Int64N(int64(lo)-1) + 1)
			cp := s.Accrued(l.now)
			rest, _ := domain.AmountFromParts(0, s.EndTime-l.now).Mul(newRate)
			newDeposit, _ := cp.Add(rest)
			refund, _ := s.DepositAmount.Sub(newDeposit)
			if refund.Sign() < 0 {
				return
			}
			l.emit(&fluxora.StreamRateDecreased{ChainMeta: l.meta(), StreamID: 1, OldRatePerSecond: s.RatePerSecond,
				NewRatePerSecond: newRate, EffectiveTime: l.now, CheckpointedAmount: cp, RefundAmount: refund})
		}
	case 7:
		if live && linear && l.now < s.EndTime {
			floor := max(l.now, s.StartTime, s.CliffTime) + 1
			if floor >= s.EndTime {
				return
			}
			newEnd := floor + uint64(l.r.IntN(int(s.EndTime-floor)))
			streamable, _ := domain.AmountFromParts(0, newEnd-s.StartTime).Mul(s.RatePerSecond)
			newDeposit := domain.MaxAmountOf(streamable, s.Accrued(l.now))
			refund, _ := s.DepositAmount.Sub(newDeposit)
			if refund.Sign() < 0 {
				return
			}
			l.emit(&fluxora.StreamEndShortened{ChainMeta: l.meta(), StreamID: 1, OldEndTime: s.EndTime, NewEndTime: newEnd, RefundAmount: refund})
		}
	case 8:
		if live && linear && l.now <= s.EndTime {
			newEnd := s.EndTime + uint64(l.r.IntN(1000)+1)
			need, _ := domain.AmountFromParts(0, newEnd-s.StartTime).Mul(s.RatePerSecond)
			if need.Cmp(s.DepositAmount) <= 0 {
				l.emit(&fluxora.StreamEndExtended{ChainMeta: l.meta(), StreamID: 1, OldEndTime: s.EndTime, NewEndTime: newEnd})
			}
		}
	case 9:
		if live && l.r.IntN(3) == 0 {
			l.emit(&fluxora.StreamCancelled{ChainMeta: l.meta(), StreamID: 1, CancelledAt: l.now})
		}
	case 10:
		claimable := s.Status == fluxora.StatusCancelled && s.Withdrawable(s.CancelledAt).Sign() > 0
		if s.Status == fluxora.StatusCompleted || (s.Status == fluxora.StatusCancelled && !claimable) {
			l.emit(&fluxora.StreamClosed{ChainMeta: l.meta(), StreamID: 1})
		}
	}
}

func TestFoldProperties(t *testing.T) {
	for seed := uint64(0); seed < 3000; seed++ {
		l := &lifecycle{r: newRand(seed)}
		entries := l.run(40)

		var s fluxora.Stream
		for i, en := range entries {
			s = fluxora.Apply(s, en.ID, en.Event)
			for _, probe := range []uint64{l.now, l.now + 1, s.EndTime, s.EndTime + 1_000_000} {
				if ce, ok := en.Event.(domain.ChainEvent); ok && probe < ce.ChainMetadata().CloseTime() {
					continue
				}
				accrued := s.Accrued(probe)
				if s.WithdrawnAmount.Sign() < 0 || s.WithdrawnAmount.Cmp(accrued) > 0 || accrued.Cmp(s.DepositAmount) > 0 {
					t.Fatalf("seed %d after event %d (%s): withdrawn %s accrued(%d) %s deposit %s", seed, i,
						en.Event.Type(), s.WithdrawnAmount, probe, accrued, s.DepositAmount)
				}
			}
		}
		if len(s.Anomalies) != 0 {
			t.Fatalf("seed %d: a valid lifecycle raised anomalies %+v", seed, s.Anomalies)
		}
		if again := fluxora.Replay(entries); !reflect.DeepEqual(again, s) {
			t.Fatalf("seed %d: the fold is not deterministic", seed)
		}
		decoded := make([]domain.Entry, len(entries))
		for i, en := range entries {
			b, err := domain.Marshal(en.Event)
			if err != nil {
				t.Fatal(err)
			}
			e, err := testEvents.Unmarshal(b)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			decoded[i] = domain.Entry{ID: en.ID, Event: e}
		}
		a, _ := json.Marshal(fluxora.Replay(decoded))
		b, _ := json.Marshal(s)
		if string(a) != string(b) {
			t.Fatalf("seed %d: fold after a JSON round trip differs:\n%s\n%s", seed, a, b)
		}
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }
