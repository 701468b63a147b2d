package domain

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// lifecycle plays the contract's rules forward from random choices, producing the events a real contract would
// emit for one stream. It is a test oracle: every sequence it produces is valid, so folding it must raise no
// anomaly and keep the accounting invariants.
type lifecycle struct {
	r      *rand.Rand
	s      Stream // the oracle's own view, kept with the same fold
	now    uint64
	ledger uint32
	out    []Entry
}

func (l *lifecycle) emit(e Event) {
	id := fmt.Sprintf("e%d", len(l.out))
	l.out = append(l.out, Entry{ID: id, Event: e})
	l.s = Apply(l.s, id, e)
}

func (l *lifecycle) meta() ChainMeta { return at(l.ledger, l.now) }

func (l *lifecycle) run(steps int) []Entry {
	l.now, l.ledger = t0, 100
	rate := NewAmount(l.r.Int64N(5_000) + 1)
	if l.r.IntN(10) == 0 {
		rate = Amount{}
	}
	duration := uint64(l.r.IntN(100_000) + 10)
	deposit, _ := secondsAmount(duration).Mul(rate)
	if rate.IsZero() {
		deposit = NewAmount(l.r.Int64N(1_000_000) + 1)
	}
	deposit, _ = deposit.Add(NewAmount(l.r.Int64N(1000)))
	cliff := t0 + uint64(l.r.IntN(int(duration)))
	if l.r.IntN(2) == 0 {
		cliff = t0
	}
	l.emit(&StreamCreated{ChainMeta: l.meta(), StreamID: 1, Sender: testAccount, Recipient: testAccount2,
		DepositAmount: deposit, RatePerSecond: rate, StartTime: t0, CliffTime: cliff, EndTime: t0 + duration,
		WithdrawDustThreshold: NewAmount(0)})
	for i := 0; i < steps && l.s.Status != StatusClosed; i++ {
		l.now += uint64(l.r.IntN(int(duration)/8 + 2))
		l.ledger++
		l.step()
	}
	return l.out
}

func (l *lifecycle) step() {
	s := &l.s
	live := s.Status == StatusActive || s.Status == StatusPaused
	linear := s.Kind == KindLinear
	switch l.r.IntN(11) {
	case 0, 1, 2:
		if s.Status == StatusCompleted || (s.Status == StatusPaused && l.now < s.EndTime) {
			return
		}
		w := s.Withdrawable(l.now)
		if w.Sign() <= 0 {
			return
		}
		l.emit(&StreamWithdrawn{ChainMeta: l.meta(), StreamID: 1, Recipient: s.Recipient, Amount: w})
		if live && s.WithdrawnAmount == s.DepositAmount {
			l.emit(&StreamCompleted{ChainMeta: l.meta(), StreamID: 1})
		}
	case 3:
		if s.Status == StatusActive {
			l.emit(&StreamPaused{ChainMeta: l.meta(), StreamID: 1, Reason: PauseOperational})
		} else if s.Status == StatusPaused {
			l.emit(&StreamResumed{ChainMeta: l.meta(), StreamID: 1})
		}
	case 4:
		if live && linear && l.now < s.EndTime {
			amount := NewAmount(l.r.Int64N(100_000) + 1)
			total, _ := s.DepositAmount.Add(amount)
			l.emit(&StreamToppedUp{ChainMeta: l.meta(), StreamID: 1, TopUpAmount: amount, NewDepositAmount: total, NewEndTime: s.EndTime})
		}
	case 5:
		if live && linear && l.now < s.EndTime {
			newRate, _ := s.RatePerSecond.Add(NewAmount(l.r.Int64N(100) + 1))
			l.emit(&StreamRateUpdated{ChainMeta: l.meta(), StreamID: 1, OldRatePerSecond: s.RatePerSecond, NewRatePerSecond: newRate, EffectiveTime: l.now})
		}
	case 6:
		if live && linear && l.now < s.EndTime && s.RatePerSecond.Cmp(NewAmount(1)) > 0 {
			newRate := NewAmount(l.r.Int64N(int64(s.RatePerSecond.lo)-1) + 1)
			cp := s.Accrued(l.now)
			rest, _ := secondsAmount(s.EndTime - l.now).Mul(newRate)
			newDeposit, _ := cp.Add(rest)
			refund, _ := s.DepositAmount.Sub(newDeposit)
			if refund.Sign() < 0 {
				return
			}
			l.emit(&StreamRateDecreased{ChainMeta: l.meta(), StreamID: 1, OldRatePerSecond: s.RatePerSecond,
				NewRatePerSecond: newRate, EffectiveTime: l.now, CheckpointedAmount: cp, RefundAmount: refund})
		}
	case 7:
		if live && linear && l.now < s.EndTime {
			floor := max(l.now, s.StartTime, s.CliffTime) + 1
			if floor >= s.EndTime {
				return
			}
			newEnd := floor + uint64(l.r.IntN(int(s.EndTime-floor)))
			streamable, _ := secondsAmount(newEnd - s.StartTime).Mul(s.RatePerSecond)
			newDeposit := MaxAmountOf(streamable, s.Accrued(l.now))
			refund, _ := s.DepositAmount.Sub(newDeposit)
			if refund.Sign() < 0 {
				return
			}
			l.emit(&StreamEndShortened{ChainMeta: l.meta(), StreamID: 1, OldEndTime: s.EndTime, NewEndTime: newEnd, RefundAmount: refund})
		}
	case 8:
		if live && linear && l.now <= s.EndTime {
			newEnd := s.EndTime + uint64(l.r.IntN(1000)+1)
			need, _ := secondsAmount(newEnd - s.StartTime).Mul(s.RatePerSecond)
			if need.Cmp(s.DepositAmount) <= 0 {
				l.emit(&StreamEndExtended{ChainMeta: l.meta(), StreamID: 1, OldEndTime: s.EndTime, NewEndTime: newEnd})
			}
		}
	case 9:
		if live && l.r.IntN(3) == 0 {
			l.emit(&StreamCancelled{ChainMeta: l.meta(), StreamID: 1, CancelledAt: l.now})
		}
	case 10:
		claimable := s.Status == StatusCancelled && s.Withdrawable(s.CancelledAt).Sign() > 0
		if s.Status == StatusCompleted || (s.Status == StatusCancelled && !claimable) {
			l.emit(&StreamClosed{ChainMeta: l.meta(), StreamID: 1})
		}
	}
}

func TestFoldProperties(t *testing.T) {
	for seed := uint64(0); seed < 3000; seed++ {
		l := &lifecycle{r: newRand(seed)}
		entries := l.run(40)

		var s Stream
		for i, en := range entries {
			s = Apply(s, en.ID, en.Event)
			for _, probe := range []uint64{l.now, l.now + 1, s.EndTime, s.EndTime + 1_000_000} {
				if ce, ok := en.Event.(ChainEvent); ok && probe < ce.ChainMetadata().CloseTime() {
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
		if again := Replay(entries); !reflect.DeepEqual(again, s) {
			t.Fatalf("seed %d: the fold is not deterministic", seed)
		}
		decoded := make([]Entry, len(entries))
		for i, en := range entries {
			b, err := Marshal(en.Event)
			if err != nil {
				t.Fatal(err)
			}
			e, err := testEvents.Unmarshal(b)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			decoded[i] = Entry{ID: en.ID, Event: e}
		}
		a, _ := json.Marshal(Replay(decoded))
		b, _ := json.Marshal(s)
		if string(a) != string(b) {
			t.Fatalf("seed %d: fold after a JSON round trip differs:\n%s\n%s", seed, a, b)
		}
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }
