package ledgers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
)

// reference is the index as a map and its sorted keys: the oracle the scratch-file index is compared with.
type reference struct {
	ledgers map[uint32]Ledger
	tip     uint32
	last    eventstore.Position
}

func (r *reference) apply(batch []projections.Event) {
	cs, last := changes(batch, r.last)
	for _, c := range cs {
		if c.drop != nil {
			for seq := range r.ledgers {
				if seq > *c.drop {
					delete(r.ledgers, seq)
				}
			}
			r.tip = min(r.tip, *c.drop)
		}
		for _, l := range c.set {
			r.ledgers[l.Sequence] = l
			r.tip = max(r.tip, l.Sequence)
		}
	}
	r.last = last
}

func (r *reference) get(seq uint32) (Ledger, bool) {
	keys := slices.Sorted(func(yield func(uint32) bool) {
		for k := range r.ledgers {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		if k >= seq {
			l := r.ledgers[k]
			return l, l.First <= seq
		}
	}
	return Ledger{}, false
}

func (r *reference) start(seq uint32, since time.Time) eventstore.Position {
	first, found := Ledger{}, false
	for _, l := range r.ledgers {
		if l.Sequence >= seq && !l.ClosedAt.Before(since) && (!found || l.Sequence < first.Sequence) {
			first, found = l, true
		}
	}
	if found {
		return first.From
	}
	return r.last
}

// Random markers (ledgers, verified ranges, reorganisations, ledgers indexed again, out of order) leave the index in
// its scratch file answering Get and Start as the reference does.
func TestScratchIndexMatchesAReference(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			idx, err := NewScratch(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer idx.Close()
			ref := &reference{ledgers: map[uint32]Ledger{}}
			genesis := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			closed := func(seq uint32) time.Time { return genesis.Add(time.Duration(seq) * 5 * time.Second) }
			var pos eventstore.Position
			next := uint32(2)
			for range 60 {
				var batch []projections.Event
				for range 1 + rng.IntN(6) {
					pos++
					var e domain.Event
					switch op := rng.IntN(10); {
					case op < 5:
						e = &domain.LedgerClosed{Ledger: next, Hash: fmt.Sprintf("%064x", rng.Uint64()), PreviousHash: fmt.Sprintf("%x", rng.Uint32()),
							ClosedAt: closed(next), EventCount: rng.IntN(9)}
						next++
					case op < 7:
						n := 1 + uint32(rng.IntN(20))
						e = &domain.LedgersVerified{First: next, Last: next + n - 1, Hash: fmt.Sprintf("%064x", rng.Uint64()),
							FirstClosedAt: closed(next), ClosedAt: closed(next + n - 1)}
						next += n
					case op < 8 && next > 3: // a ledger indexed again, anywhere below the tip
						seq := 2 + uint32(rng.IntN(int(next-2)))
						e = &domain.LedgerClosed{Ledger: seq, Hash: fmt.Sprintf("%064x", rng.Uint64()), ClosedAt: closed(seq)}
					default:
						fork := max(2, int(next)-rng.IntN(10))
						e = &domain.ChainReorganized{Fork: uint32(fork)}
						next = uint32(fork) + 1
					}
					batch = append(batch, projections.Event{Recorded: eventstore.Recorded{Position: pos}, Domain: e})
				}
				ref.apply(batch)
				if err := idx.Apply(ctx, batch); err != nil {
					t.Fatal(err)
				}
				for seq := uint32(1); seq <= next+2; seq++ {
					want, wantOK := ref.get(seq)
					got, tip, ok, err := idx.Get(ctx, seq)
					if err != nil || ok != wantOK || tip != ref.tip || (ok && got != want) {
						t.Fatalf("Get(%d) = %+v %v tip %d (%v), want %+v %v tip %d", seq, got, ok, tip, err, want, wantOK, ref.tip)
					}
					since := closed(seq + uint32(rng.IntN(5)))
					if rng.IntN(3) == 0 {
						since = time.Time{}
					}
					if got, err := idx.Start(ctx, seq, since); err != nil || got != ref.start(seq, since) {
						t.Fatalf("Start(%d, %s) = %d (%v), want %d", seq, since, got, err, ref.start(seq, since))
					}
				}
			}
		})
	}
}
