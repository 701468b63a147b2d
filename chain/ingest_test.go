package chain_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/eventstore/storetest"
	"github.com/streamledger/streamledger/internal/simtest"
)

const passphrase = network.TestNetworkPassphrase

func simChain(t testing.TB, cfg sim.Config) *sim.Chain {
	t.Helper()
	cfg.NetworkPassphrase = passphrase
	if cfg.Streams == 0 {
		cfg.Streams = 15
	}
	if cfg.TxPerLedger == 0 {
		cfg.TxPerLedger = 3
	}
	c, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type harness struct {
	chain  *sim.Chain
	store  chain.Store
	margin uint32
	open   func() (ledgerbackend.LedgerBackend, error)
}

func (h harness) ingester(t testing.TB) *chain.Ingester {
	t.Helper()
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(t, h.chain.ContractID())})
	if err != nil {
		t.Fatal(err)
	}
	open := h.open
	if open == nil {
		open = func() (ledgerbackend.LedgerBackend, error) { return h.chain.Backend(), nil }
	}
	in, err := chain.NewIngester(chain.Config{Store: h.store, Decoder: d, Open: open, StartLedger: h.chain.StartLedger(),
		SafetyMargin: h.margin, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// ingestUntil runs an ingester until its tip reaches last (or it stops), and returns what Run returned.
func ingestUntil(t testing.TB, in *chain.Ingester, last uint32) error {
	t.Helper()
	return ingestPaced(t, in, last, nil)
}

// ingestPaced is ingestUntil that calls poll, if not nil, each time it looks at the ingester's status.
func ingestPaced(t testing.TB, in *chain.Ingester, last uint32, poll func(chain.Status)) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(time.Millisecond):
		}
		st := in.Status()
		if st.Tip >= last {
			cancel()
			return <-done
		}
		if poll != nil {
			poll(st)
		}
		if ctx.Err() != nil {
			t.Fatalf("ingestion did not reach ledger %d: %+v", last, in.Status())
		}
	}
}

func readAll(t testing.TB, s chain.Store) []eventstore.Recorded { return storetest.All(t, s) }

// outcome is what a store says happened: the chain events that stand (not reverted), in order, and each
// stream's fold of them.
type outcome struct {
	standing []string
	streams  map[string]string
	reorgs   int
	reverted int
	restored int
}

func outcomeOf(t testing.TB, recs []eventstore.Recorded) outcome {
	t.Helper()
	reverted := map[string]bool{}
	seen := map[string]bool{}
	o := outcome{streams: map[string]string{}}
	for _, r := range recs {
		if seen[r.ID] {
			t.Fatalf("event %s stored twice", r.ID)
		}
		seen[r.ID] = true
		switch domain.EventType(r.Type) {
		case domain.TypeEventReverted:
			e, _ := fluxoraEvents.Unmarshal(r.Data)
			rev := e.(*domain.EventReverted)
			if reverted[rev.RevertedEventID] {
				t.Fatalf("event %s reverted twice without a restoration between", rev.RevertedEventID)
			}
			reverted[rev.RevertedEventID] = true
			o.reverted++
		case domain.TypeEventRestored:
			e, _ := fluxoraEvents.Unmarshal(r.Data)
			res := e.(*domain.EventRestored)
			if !reverted[res.RestoredEventID] {
				t.Fatalf("event %s restored while standing", res.RestoredEventID)
			}
			delete(reverted, res.RestoredEventID)
			o.restored++
		case domain.TypeChainReorganized:
			o.reorgs++
		}
	}
	folds := map[fluxora.StreamRef]fluxora.Stream{}
	for _, r := range recs {
		e, err := fluxoraEvents.Unmarshal(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := e.(domain.ChainEvent); !ok || reverted[r.ID] {
			continue
		}
		o.standing = append(o.standing, r.ID)
		fluxora.ApplyInOrder(folds, r.ID, e)
	}
	for ref, s := range folds {
		b, _ := json.Marshal(s)
		o.streams[ref.String()] = string(b)
	}
	return o
}

// clean ingests the canonical chain of the same seed without reorgs: the reference every reorged ingest must equal.
func clean(t testing.TB, cfg sim.Config, last uint32) outcome {
	t.Helper()
	cfg.Reorgs, cfg.Script, cfg.LedgerInterval = false, nil, 0 // the same chain, at once
	start := cfg.StartLedger
	if start == 0 {
		start = 2
	}
	cfg.Ledgers = last - start + 1 // a network that holds its whole chain is read ahead: it must end at last
	h := harness{chain: simChain(t, cfg), store: memory.New(), margin: 1}
	if err := ingestUntil(t, h.ingester(t), last); err != nil {
		t.Fatal(err)
	}
	o := outcomeOf(t, readAll(t, h.store))
	if o.reorgs != 0 || o.reverted != 0 || o.restored != 0 {
		t.Fatalf("a clean ingest reorganised: %+v", o)
	}
	return o
}

func sameOutcome(t testing.TB, got, want outcome) {
	t.Helper()
	if !reflect.DeepEqual(got.standing, want.standing) {
		t.Fatalf("standing events differ: %d vs %d in the clean ingest", len(got.standing), len(want.standing))
	}
	if !reflect.DeepEqual(got.streams, want.streams) {
		for id, s := range want.streams {
			if got.streams[id] != s {
				t.Fatalf("stream %s:\n got %s\nwant %s", id, got.streams[id], s)
			}
		}
		t.Fatalf("streams differ: %d vs %d", len(got.streams), len(want.streams))
	}
}

func TestCleanIngest(t *testing.T) {
	cfg := sim.Config{Seed: 11, Ledgers: 300}
	h := harness{chain: simChain(t, cfg), store: memory.New(), margin: 2}
	in := h.ingester(t)
	if in.Status().Health != chain.HealthStarting {
		t.Fatalf("health %s before the first ledger", in.Status().Health)
	}
	if err := ingestUntil(t, in, 301); err != nil {
		t.Fatal(err)
	}
	st := in.Status()
	if st.Health != chain.HealthHealthy || st.Tip != 301 || st.LastSafeLedger != 299 {
		t.Fatalf("status %+v", st)
	}
	recs := readAll(t, h.store)
	// The markers cover ledgers 2..301 once each, in one hash chain: a LedgerClosed for every ledger with events
	// and for the last margin ledgers, verified ranges of two or more final ledgers without events otherwise.
	withEvents := map[uint32]bool{}
	for _, r := range recs {
		e, _ := fluxoraEvents.Unmarshal(r.Data)
		if ce, ok := e.(domain.ChainEvent); ok {
			withEvents[ce.ChainMetadata().Ledger] = true
		}
	}
	next, prev, ranges := uint32(2), "", 0
	for _, r := range recs {
		e, _ := fluxoraEvents.Unmarshal(r.Data)
		switch m := e.(type) {
		case *domain.LedgerClosed:
			if m.Ledger != next || (prev != "" && m.PreviousHash != prev) {
				t.Fatalf("ledger %d does not follow ledger %d", m.Ledger, next-1)
			}
			prev, next = m.Hash, m.Ledger+1
		case *domain.LedgersVerified:
			if m.First != next || m.PreviousHash != prev || m.Last <= m.First {
				t.Fatalf("verified range %d..%d does not follow ledger %d", m.First, m.Last, next-1)
			}
			for l := m.First; l <= m.Last; l++ {
				if withEvents[l] {
					t.Fatalf("verified range %d..%d holds ledger %d, which has events", m.First, m.Last, l)
				}
			}
			if m.Last > 301-2 {
				t.Fatalf("verified range %d..%d reaches into the margin of the tip 301", m.First, m.Last)
			}
			prev, next = m.Hash, m.Last+1
			ranges++
		}
	}
	if next != 302 {
		t.Fatalf("the markers end at ledger %d", next-1)
	}
	if ranges == 0 {
		t.Fatal("no verified range: the fixture needs ledgers without events")
	}
	// Every ledger's events come before its marker, and ledgers are in order.
	last := uint32(0)
	for _, r := range recs {
		e, _ := fluxoraEvents.Unmarshal(r.Data)
		if ce, ok := e.(domain.ChainEvent); ok {
			if ce.ChainMetadata().Ledger <= last {
				t.Fatalf("an event of ledger %d after the marker of %d", ce.ChainMetadata().Ledger, last)
			}
		} else if lc, ok := e.(*domain.LedgerClosed); ok {
			last = lc.Ledger
		}
	}
	o := outcomeOf(t, recs)
	if len(o.standing) < 300 {
		t.Fatalf("only %d events in 300 ledgers", len(o.standing))
	}
	for id, s := range o.streams {
		var st fluxora.Stream
		json.Unmarshal([]byte(s), &st)
		if len(st.Anomalies) > 0 {
			t.Fatalf("stream %s: %+v", id, st.Anomalies)
		}
	}
}

func TestReorgAtTheTip(t *testing.T) {
	for depth := uint32(1); depth <= 4; depth++ {
		t.Run(fmt.Sprintf("depth %d", depth), func(t *testing.T) {
			cfg := sim.Config{Seed: uint64(20 + depth), Ledgers: 60, Reorgs: true, Script: []sim.Reorg{{At: 40, Depth: depth}}}
			want := clean(t, cfg, 61)
			h := harness{chain: simChain(t, cfg), store: memory.New(), margin: 4}
			in := h.ingester(t)
			if err := ingestUntil(t, in, 61); err != nil {
				t.Fatal(err)
			}
			recs := readAll(t, h.store)
			got := outcomeOf(t, recs)
			sameOutcome(t, got, want)
			st := in.Status()
			if got.reorgs != 1 || st.Reorgs != 1 || st.LastReorg.Fork != 40-depth || st.LastReorg.OldTip != 40 || st.LastReorg.Depth != depth {
				t.Fatalf("reorgs %d, status %+v %+v", got.reorgs, st, st.LastReorg)
			}
			checkReorgLayout(t, recs)
		})
	}
}

// checkReorgLayout checks the protocol of DESIGN §4 in the log: the ChainReorganized marker, then one reversal
// per abandoned event, newest first, then the new branch.
func checkReorgLayout(t *testing.T, recs []eventstore.Recorded) {
	t.Helper()
	pos := map[string]int{}
	for i, r := range recs {
		pos[r.ID] = i
	}
	for i, r := range recs {
		if r.Type != string(domain.TypeChainReorganized) {
			continue
		}
		e, _ := fluxoraEvents.Unmarshal(r.Data)
		marker := e.(*domain.ChainReorganized)
		if len(marker.Replaced) != int(marker.OldTip-marker.Fork) {
			t.Fatalf("marker replaces %d ledgers for a depth of %d", len(marker.Replaced), marker.OldTip-marker.Fork)
		}
		prevReverted := len(recs)
		j := i + 1
		for ; j < len(recs) && recs[j].Type == string(domain.TypeEventReverted); j++ {
			e, _ := fluxoraEvents.Unmarshal(recs[j].Data)
			rev := e.(*domain.EventReverted)
			at := pos[rev.RevertedEventID]
			if at >= prevReverted || rev.Fork != marker.Fork || rev.Reason != "reorg" || rev.RevertedLedger <= marker.Fork {
				t.Fatalf("reversal %d out of order or wrong: %+v", j, rev)
			}
			if recs[j].Stream != recs[at].Stream {
				t.Fatalf("reversal in %s, event in %s", recs[j].Stream, recs[at].Stream)
			}
			prevReverted = at
		}
		if j < len(recs) {
			e, _ := fluxoraEvents.Unmarshal(recs[j].Data)
			if ce, ok := e.(domain.ChainEvent); ok && ce.ChainMetadata().Ledger != marker.Fork+1 {
				t.Fatalf("the new branch starts at ledger %d, not %d", ce.ChainMetadata().Ledger, marker.Fork+1)
			}
		}
	}
}

func TestRepeatedReorgs(t *testing.T) {
	cfg := sim.Config{Seed: 31, Ledgers: 200, Reorgs: true, ReorgEvery: 7, ReorgDepth: 3}
	want := clean(t, cfg, 201)
	h := harness{chain: simChain(t, cfg), store: memory.New(), margin: 3}
	in := h.ingester(t)
	if err := ingestUntil(t, in, 201); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, h.store)
	got := outcomeOf(t, recs)
	sameOutcome(t, got, want)
	if got.reorgs < 20 || got.reverted == 0 {
		t.Fatalf("%d reorgs, %d reversals", got.reorgs, got.reverted)
	}
	checkReorgLayout(t, recs)
}

// TestFlips: a source that returns to branches it had left (A → B → A and A → B → A → B, within the margin) is
// followed like any reorg: the store ends as a clean ingest of the canonical chain, restorations and all, and
// ingestion never halts.
func TestFlips(t *testing.T) {
	for _, depth := range []uint32{2, 3, 4} {
		t.Run(fmt.Sprintf("margin=%d", depth), func(t *testing.T) {
			// Paced by a clock, and that clock by the ingester: a flip lasts a ledger of the source's tip, which an
			// ingester reading ahead of its appends would read past (it would then never see the flip, rightly, but
			// the test would test nothing); a wall clock would let a slow ingester miss flips too.
			cfg := sim.Config{Seed: 33 + uint64(depth), Ledgers: 100, TxPerLedger: 4, Reorgs: true, ReorgEvery: 7, ReorgDepth: depth,
				Flips: true, LedgerInterval: 10 * time.Millisecond}
			want := clean(t, cfg, 101)
			lockstep := simtest.NewLockstep(&cfg)
			h := harness{chain: simChain(t, cfg), store: memory.New(), margin: depth}
			in := h.ingester(t)
			if err := ingestPaced(t, in, 101, func(st chain.Status) { lockstep.Step(h.chain, st.Tip) }); err != nil {
				t.Fatal(err)
			}
			if st := in.Status(); st.Health != chain.HealthHealthy {
				t.Fatalf("status %+v", st)
			}
			recs := readAll(t, h.store)
			oneChain(t, recs)
			got := outcomeOf(t, recs)
			sameOutcome(t, got, want)
			if got.restored == 0 || got.reorgs < 10 {
				t.Fatalf("%d reorgs, %d restorations: the flips were not exercised", got.reorgs, got.restored)
			}
			t.Logf("%d reorgs, %d reversals, %d restorations", got.reorgs, got.reverted, got.restored)
		})
	}
}

func TestReorgDuringCatchUp(t *testing.T) {
	cfg := sim.Config{Seed: 41, Ledgers: 80, Reorgs: true, Script: []sim.Reorg{{At: 50, Depth: 2}}}
	want := clean(t, cfg, 81)
	c := simChain(t, cfg)
	// The network is at ledger 50, on the abandoned branch, before the ingester starts from ledger 2.
	if _, err := c.Ledger(context.Background(), 50); err != nil {
		t.Fatal(err)
	}
	h := harness{chain: c, store: memory.New(), margin: 2}
	if err := ingestUntil(t, h.ingester(t), 81); err != nil {
		t.Fatal(err)
	}
	got := outcomeOf(t, readAll(t, h.store))
	sameOutcome(t, got, want)
	if got.reorgs != 1 {
		t.Fatalf("%d reorgs", got.reorgs)
	}
}

func TestReorgDeeperThanTheMarginHalts(t *testing.T) {
	cfg := sim.Config{Seed: 51, Ledgers: 80, Reorgs: true, Script: []sim.Reorg{{At: 30, Depth: 3}}}
	h := harness{chain: simChain(t, cfg), store: memory.New(), margin: 1}
	in := h.ingester(t)
	err := ingestUntil(t, in, 81)
	if !errors.Is(err, chain.ErrHalted) || !errors.Is(err, chain.ErrReorgBelowSafeLedger) {
		t.Fatalf("run: %v", err)
	}
	st := in.Status()
	if st.Health != chain.HealthHalted || st.HaltReason != chain.HaltReorgBelowSafeLedger || st.Tip != 30 {
		t.Fatalf("status %+v", st)
	}
	recs := readAll(t, h.store)
	for _, r := range recs {
		if r.Type == string(domain.TypeChainReorganized) || r.Type == string(domain.TypeEventReverted) {
			t.Fatalf("a halted reorg wrote %s", r.Type)
		}
	}
	// Nothing of the new branch either: the store ends with the abandoned ledger 30.
	e, _ := fluxoraEvents.Unmarshal(recs[len(recs)-1].Data)
	if lc, ok := e.(*domain.LedgerClosed); !ok || lc.Ledger != 30 {
		t.Fatalf("the store ends with %T %+v", e, e)
	}
	// A restart finds the same contradiction and halts again, writing nothing.
	again := h.ingester(t)
	if err := ingestUntil(t, again, 81); !errors.Is(err, chain.ErrHalted) {
		t.Fatalf("restart: %v", err)
	}
	if n := len(readAll(t, h.store)); n != len(recs) {
		t.Fatalf("the restart wrote %d events", n-len(recs))
	}
}

// flakyStore fails appends on demand: before committing, or after (the commit landed, the caller hears an
// error, as when a connection drops during COMMIT).
type flakyStore struct {
	chain.Store
	mu          sync.Mutex
	failBefore  int
	failAfter   int
	appendCalls int
}

func (f *flakyStore) AppendMany(ctx context.Context, batch []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	f.mu.Lock()
	f.appendCalls++
	n := f.appendCalls
	f.mu.Unlock()
	if n%7 == 3 && f.failBefore > 0 {
		f.failBefore--
		return nil, errors.New("injected: connection reset before commit")
	}
	res, err := f.Store.AppendMany(ctx, batch)
	if err == nil && n%5 == 2 && f.failAfter > 0 {
		f.failAfter--
		return nil, errors.New("injected: connection reset after commit")
	}
	return res, err
}

func TestCrashesAndLostAcksLeaveNoDuplicates(t *testing.T) {
	cfg := sim.Config{Seed: 61, Ledgers: 150, Reorgs: true, ReorgEvery: 11, ReorgDepth: 2}
	want := clean(t, cfg, 151)
	c := simChain(t, cfg)
	store := &flakyStore{Store: memory.New(), failBefore: 6, failAfter: 6}
	h := harness{chain: c, store: store, margin: 2}
	// Several ingesters one after the other, each stopped at an arbitrary point, as a process that keeps crashing.
	for _, stop := range []uint32{20, 47, 90, 151} {
		if err := ingestUntil(t, h.ingester(t), stop); err != nil {
			t.Fatal(err)
		}
	}
	if store.failBefore != 0 || store.failAfter != 0 {
		t.Fatalf("not every failure was injected: %d before, %d after", store.failBefore, store.failAfter)
	}
	sameOutcome(t, outcomeOf(t, readAll(t, store)), want)
}

// flakySource fails GetLedger while failing is set.
type flakySource struct {
	ledgerbackend.LedgerBackend
	failing *atomic.Bool
}

func (f flakySource) GetLedger(ctx context.Context, seq uint32) (xdr.LedgerCloseMeta, error) {
	if f.failing.Load() {
		return xdr.LedgerCloseMeta{}, errors.New("injected: source unavailable")
	}
	return f.LedgerBackend.GetLedger(ctx, seq)
}

func TestFailingSourceIsRetriedAndReportedStalled(t *testing.T) {
	c := simChain(t, sim.Config{Seed: 71, Ledgers: 40})
	var failing atomic.Bool
	failing.Store(true)
	var sleeps atomic.Int32
	d, _ := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(t, c.ContractID())})
	in, err := chain.NewIngester(chain.Config{Store: memory.New(), Decoder: d, StartLedger: 2, SafetyMargin: 1,
		Open: func() (ledgerbackend.LedgerBackend, error) { return flakySource{c.Backend(), &failing}, nil },
		Sleep: func(ctx context.Context, d time.Duration) error {
			if sleeps.Add(1) == 5 {
				failing.Store(false)
			}
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	for in.Status().Tip < 41 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if sleeps.Load() < 5 {
		t.Fatalf("%d retries", sleeps.Load())
	}
	if st := in.Status(); st.Health != chain.HealthHealthy || st.ConsecutiveFailures != 0 {
		t.Fatalf("status after recovery %+v", st)
	}
}

func TestStalledWhileFailing(t *testing.T) {
	c := simChain(t, sim.Config{Seed: 72, Ledgers: 10})
	var failing atomic.Bool
	failing.Store(true)
	d, _ := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(t, c.ContractID())})
	block := make(chan struct{})
	in, _ := chain.NewIngester(chain.Config{Store: memory.New(), Decoder: d, StartLedger: 2, SafetyMargin: 1,
		Open: func() (ledgerbackend.LedgerBackend, error) { return flakySource{c.Backend(), &failing}, nil },
		Sleep: func(ctx context.Context, d time.Duration) error {
			<-block
			return ctx.Err()
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	for in.Status().Health != chain.HealthStalled {
		time.Sleep(time.Millisecond)
	}
	st := in.Status()
	if st.ConsecutiveFailures != 1 || st.LastError == "" {
		t.Fatalf("status %+v", st)
	}
	cancel()
	close(block)
	<-done
}

// TestRewindAfterADeepReorg: a reorg deeper than the margin halts ingestion; an operator rewinds to the fork point,
// and ingestion then follows the new chain to the same outcome as a clean ingest, with the rewind on record.
func TestRewindAfterADeepReorg(t *testing.T) {
	cfg := sim.Config{Seed: 52, Ledgers: 80, Reorgs: true, Script: []sim.Reorg{{At: 30, Depth: 3}}}
	want := clean(t, cfg, 81)
	h := harness{chain: simChain(t, cfg), store: memory.New(), margin: 1}
	in := h.ingester(t)
	if err := ingestUntil(t, in, 81); !errors.Is(err, chain.ErrHalted) {
		t.Fatalf("run: %v", err)
	}
	for _, bad := range []uint32{30, 99, 1} {
		if _, err := in.Rewind(context.Background(), bad, "ops", "test"); !errors.Is(err, chain.ErrRewind) {
			t.Fatalf("rewind to %d: %v", bad, err)
		}
	}
	summary, err := in.Rewind(context.Background(), 27, "ops@example.com", "reorg below the safe ledger at 30")
	if err != nil || summary.Fork != 27 || summary.OldTip != 30 || summary.Reverted == 0 {
		t.Fatalf("rewind: %+v %v", summary, err)
	}
	if st := in.Status(); st.Health == chain.HealthHalted || st.Tip != 27 {
		t.Fatalf("status after the rewind: %+v", st)
	}
	if err := ingestUntil(t, in, 81); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, h.store)
	sameOutcome(t, outcomeOf(t, recs), want)
	found := false
	for _, r := range recs {
		if r.Type == string(domain.TypeOperatorRewound) && r.Stream == domain.OperatorStream {
			found = true
		}
	}
	if !found {
		t.Fatal("the rewind is not on record")
	}
}

// limitedStore refuses, as EventStoreDB does past its append size, any batch of more than max events.
type limitedStore struct {
	chain.Store
	max      int
	refused  atomic.Int64
	appended atomic.Int64
}

func (s *limitedStore) AppendMany(ctx context.Context, batch []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	n := 0
	for _, sa := range batch {
		n += len(sa.Events)
	}
	if n > s.max {
		s.refused.Add(1)
		return nil, fmt.Errorf("%w: %d events", eventstore.ErrEventTooLarge, n)
	}
	s.appended.Add(1)
	return s.Store.AppendMany(ctx, batch)
}

// TestBatchTooLargeForTheStore: catching up, a batch the store refuses as too large is appended in smaller
// ones (split between ledgers), and the result is that of a store without the limit.
func TestBatchTooLargeForTheStore(t *testing.T) {
	cfg := sim.Config{Seed: 11, Ledgers: 120}
	const last = 121
	store := &limitedStore{Store: memory.New(), max: 40}
	h := harness{chain: simChain(t, cfg), store: store, margin: 1}
	if _, err := h.chain.Ledger(context.Background(), last); err != nil { // the network is ahead: catch-up batches
		t.Fatal(err)
	}
	if err := ingestUntil(t, h.ingester(t), last); err != nil {
		t.Fatal(err)
	}
	if store.refused.Load() == 0 {
		t.Fatal("no batch was too large: the test does not test anything")
	}
	sameOutcome(t, outcomeOf(t, readAll(t, store)), clean(t, cfg, last))
	t.Logf("%d appends, %d refused", store.appended.Load(), store.refused.Load())
}

// flappingSource serves a chain up to a limit the test raises, showing either the canonical ledgers or, where it
// has them, those of an abandoned branch: a source whose view goes canonical → abandoned → canonical.
type flappingSource struct {
	canonical, abandoned map[uint32]xdr.LedgerCloseMeta
	limit                atomic.Uint32
	showAbandoned        atomic.Bool
}

func (f *flappingSource) GetLatestLedgerSequence(context.Context) (uint32, error) {
	return f.limit.Load(), nil
}
func (f *flappingSource) PrepareRange(context.Context, ledgerbackend.Range) error { return nil }
func (f *flappingSource) IsPrepared(context.Context, ledgerbackend.Range) (bool, error) {
	return true, nil
}
func (f *flappingSource) Close() error { return nil }

func (f *flappingSource) GetLedger(ctx context.Context, seq uint32) (xdr.LedgerCloseMeta, error) {
	for seq > f.limit.Load() {
		select {
		case <-ctx.Done():
			return xdr.LedgerCloseMeta{}, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	if l, ok := f.abandoned[seq]; ok && f.showAbandoned.Load() {
		return l, nil
	}
	return f.canonical[seq], nil
}

// TestAbandonedLedgerComingBack: the stored chain goes canonical (ledger 29) → abandoned branch (29', 30') →
// canonical (29, 30, 31). Ledger 29's events are stored and reverted, and come back with the same ids: they are
// restored (DESIGN §14), and the store ends as a clean ingest of the canonical chain, with or without restarts.
func TestAbandonedLedgerComingBack(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			cfg := sim.Config{Seed: 61, Ledgers: 40, TxPerLedger: 6, Reorgs: true, Script: []sim.Reorg{{At: 30, Depth: 2}}}
			src := &flappingSource{canonical: map[uint32]xdr.LedgerCloseMeta{}, abandoned: map[uint32]xdr.LedgerCloseMeta{}}
			net := simChain(t, cfg)
			for seq := net.StartLedger(); seq <= 31; seq++ {
				l, err := net.Canonical(seq)
				if err != nil {
					t.Fatal(err)
				}
				src.canonical[seq] = l
			}
			early := simChain(t, cfg).Backend() // its tip stays at 30, where the abandoned branch shows
			ctx := context.Background()
			if err := early.PrepareRange(ctx, ledgerbackend.BoundedRange(29, 30)); err != nil {
				t.Fatal(err)
			}
			for _, seq := range []uint32{29, 30} {
				l, err := early.GetLedger(ctx, seq)
				if err != nil {
					t.Fatal(err)
				}
				if l.LedgerHash() == src.canonical[seq].LedgerHash() {
					t.Fatalf("ledger %d is the same on both branches", seq)
				}
				src.abandoned[seq] = l
			}
			h := harness{chain: net, store: memory.New(), margin: 2,
				open: func() (ledgerbackend.LedgerBackend, error) { return src, nil }}

			src.limit.Store(29)
			in := h.ingester(t)
			if err := ingestUntil(t, in, 29); err != nil {
				t.Fatal(err)
			}
			src.showAbandoned.Store(true)
			src.limit.Store(30)
			if restart {
				in = h.ingester(t)
			}
			if err := ingestUntil(t, in, 30); err != nil {
				t.Fatal(err)
			}
			if st := in.Status(); st.Reorgs != 1 || st.TipHash != src.abandoned[30].LedgerHash().HexString() {
				t.Fatalf("after the first reorg: %+v", st)
			}

			src.showAbandoned.Store(false)
			src.limit.Store(31)
			if restart {
				in = h.ingester(t)
			}
			if err := ingestUntil(t, in, 31); err != nil {
				t.Fatal(err)
			}
			if st := in.Status(); st.Health != chain.HealthHealthy || st.Tip != 31 || st.TipHash != src.canonical[31].LedgerHash().HexString() {
				t.Fatalf("status %+v", st)
			}
			recs := readAll(t, h.store)
			oneChain(t, recs)
			o := outcomeOf(t, recs)
			if o.restored == 0 || o.reorgs != 2 {
				t.Fatalf("%d restorations, %d reorgs: the flip was not exercised", o.restored, o.reorgs)
			}
			sameOutcome(t, o, clean(t, cfg, 31))
		})
	}
}

// fluxoraEvents reads what the simulated Fluxora contract's events are stored as.
var fluxoraEvents = domain.MustRegistry(fluxora.Events()...)
