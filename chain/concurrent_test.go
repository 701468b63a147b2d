package chain_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/eventstore/postgres"
	"github.com/streamledger/streamledger/internal/pgtest"
)

// TestTwoIngestersOnOneStore: two processes ingesting the same network into one store at once (a rolling deploy
// overlaps the old serve and the new one) keep one consistent chain, equal to a single clean ingest, and neither
// halts: a ledger marker the other wrote first is not an abandoned ledger coming back.
func TestTwoIngestersOnOneStore(t *testing.T) {
	stores := map[string]func(t *testing.T) chain.Store{
		"memory": func(*testing.T) chain.Store { return memory.New() },
		"postgres": func(t *testing.T) chain.Store {
			url := pgtest.URL(t)
			s, err := postgres.Open(context.Background(), url, postgres.Config{Schema: pgtest.Schema(t, url)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, open := range stores {
		for _, reorgs := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reorgs=%v", name, reorgs), func(t *testing.T) {
				cfg := sim.Config{Seed: 23, Ledgers: 150, Reorgs: reorgs, ReorgEvery: 7, ReorgDepth: 2}
				h := harness{chain: simChain(t, cfg), store: open(t), margin: 2}
				last := h.chain.LastLedger()
				ingesters := []*chain.Ingester{h.ingester(t), h.ingester(t)}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				var wg sync.WaitGroup
				errs := make([]error, len(ingesters))
				for i, in := range ingesters {
					wg.Go(func() { errs[i] = in.Run(ctx) })
				}
				for ctx.Err() == nil && (ingesters[0].Status().Tip < last || ingesters[1].Status().Tip < last) {
					if ingesters[0].Status().Health == chain.HealthHalted || ingesters[1].Status().Health == chain.HealthHalted {
						break
					}
					time.Sleep(time.Millisecond)
				}
				cancel()
				wg.Wait()
				for i, in := range ingesters {
					if st := in.Status(); errs[i] != nil || st.Tip != last || st.Health == chain.HealthHalted {
						t.Fatalf("ingester %d: %v, %+v", i, errs[i], st)
					}
				}
				recs := readAll(t, h.store)
				oneChain(t, recs)
				sameOutcome(t, outcomeOf(t, recs), clean(t, cfg, last))
				if err := ingestUntil(t, h.ingester(t), last); err != nil {
					t.Fatalf("a third ingester on the store: %v", err)
				}
			})
		}
	}
}

// oneChain checks that the ledger markers describe one chain: each ledger (or verified range of them) follows the
// tip of the branch they had reached, a reorg marker cutting that branch back to its fork first.
func oneChain(t *testing.T, recs []eventstore.Recorded) {
	t.Helper()
	type link struct {
		first, last uint32
		hash        string
	}
	var branch []link
	follow := func(first, last uint32, prev, hash string, pos eventstore.Position) {
		if n := len(branch); n > 0 && (first != branch[n-1].last+1 || prev != branch[n-1].hash) {
			t.Fatalf("ledgers %d..%d (position %d) do not follow ledger %d", first, last, pos, branch[n-1].last)
		}
		if first > last {
			t.Fatalf("ledgers %d..%d (position %d): an empty range", first, last, pos)
		}
		branch = append(branch, link{first, last, hash})
	}
	for _, r := range recs {
		e, err := fluxoraEvents.Unmarshal(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		switch m := e.(type) {
		case *domain.ChainReorganized:
			for len(branch) > 0 && branch[len(branch)-1].last > m.Fork {
				if branch[len(branch)-1].first <= m.Fork {
					t.Fatalf("reorg at position %d forks inside the verified range %d..%d", r.Position, branch[len(branch)-1].first, branch[len(branch)-1].last)
				}
				branch = branch[:len(branch)-1]
			}
		case *domain.LedgerClosed:
			follow(m.Ledger, m.Ledger, m.PreviousHash, m.Hash, r.Position)
		case *domain.LedgersVerified:
			follow(m.First, m.Last, m.PreviousHash, m.Hash, r.Position)
		}
	}
}

// TestPushToTwoReplicas: an indexer pushes every batch to two serves sharing the store at once (or retries through
// a load balancer that picks the other one). Neither halts, a push that lost the race succeeds when sent again,
// and the store holds the clean chain once.
func TestPushToTwoReplicas(t *testing.T) {
	cfg := sim.Config{Seed: 91, Ledgers: 60}
	want := clean(t, cfg, 61)
	c := simChain(t, cfg)
	all := pushed(t, ledgersAsSeen(t, c, 2, 61))
	store := memory.New()
	replicas := []*chain.Ingester{pushIngester(t, c, store, 1), pushIngester(t, c, store, 1)}
	for i := 0; i < len(all); i += 5 {
		batch := all[i:min(i+5, len(all))]
		var wg sync.WaitGroup
		for _, in := range replicas {
			wg.Go(func() {
				for attempt := 0; ; attempt++ {
					_, err := in.Push(context.Background(), batch)
					if err == nil {
						return
					}
					if errors.Is(err, chain.ErrHalted) || attempt == 3 {
						t.Errorf("push of ledgers %d..: %v", batch[0].Sequence, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	for i, in := range replicas {
		if st := in.Status(); st.Health == chain.HealthHalted || st.Tip != 61 {
			t.Fatalf("replica %d: %+v", i, st)
		}
	}
	recs := readAll(t, store)
	oneChain(t, recs)
	sameOutcome(t, outcomeOf(t, recs), want)
}
