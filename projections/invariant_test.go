package projections_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/network"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/eventstore/postgres"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/outbox"
	"github.com/streamledger/streamledger/projections/streams"
)

// eventStore is what these tests need from an event store.
type eventStore interface {
	chain.Store
	projections.Reader
	streams.StreamReader
}

// scenario is one simulated chain: its seed, length and reorgs.
type scenario struct {
	cfg    sim.Config
	margin uint32
	last   uint32
}

// randomScenario draws a chain with reorgs within the safety margin.
func randomScenario(seed uint64) scenario {
	r := rand.New(rand.NewPCG(seed, 1))
	margin := uint32(1 + r.IntN(3))
	ledgers := uint32(40 + r.IntN(60))
	cfg := sim.Config{Seed: seed, StartLedger: 2, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 3 + r.IntN(10),
		TxPerLedger: 1 + r.IntN(4), Ledgers: ledgers, Reorgs: true, ReorgEvery: margin + 2 + uint32(r.IntN(8)),
		ReorgDepth: margin}
	return scenario{cfg: cfg, margin: margin, last: cfg.StartLedger + ledgers - 1}
}

// ingest runs an ingester over the scenario's network into store, with the given projection runners following
// live, until the tip reaches the last ledger and every runner has applied everything.
func ingest(t testing.TB, sc scenario, reorgs bool, store eventStore, runners ...*projections.Runner) chain.Status {
	t.Helper()
	cfg := sc.cfg
	cfg.Reorgs = reorgs
	if !reorgs {
		cfg.LedgerInterval = 0 // the same chain, at once
	}
	// A flipping source is paced by the ingester, not the wall clock: the network's clock moves one ledger only
	// once the ingester has stored its tip, so that the ingester sees every change of mind however loaded the
	// machine is (paced by the wall clock, a slow ingester skips flips).
	var lockstep *simtest.Lockstep
	if cfg.Flips && cfg.LedgerInterval > 0 {
		lockstep = simtest.NewLockstep(&cfg)
	}
	network, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: cfg.NetworkPassphrase, Contracts: simtest.Fluxora(t, network.ContractID())})
	if err != nil {
		t.Fatal(err)
	}
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: network.StartLedger(),
		SafetyMargin: sc.margin, Open: func() (ledgerbackend.LedgerBackend, error) { return network.Backend(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan struct{}, len(runners)+1)
	for _, r := range runners {
		go func() { r.Run(ctx); done <- struct{}{} }()
	}
	go func() {
		if err := in.Run(ctx); err != nil {
			t.Errorf("ingest: %v", err)
		}
		done <- struct{}{}
	}()
	for in.Status().Tip < sc.last && ctx.Err() == nil {
		if lockstep != nil {
			lockstep.Step(network, in.Status().Tip)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	for range len(runners) + 1 {
		<-done
	}
	if st := in.Status(); st.Tip != sc.last {
		t.Fatalf("ingestion stopped at %d: %+v", st.Tip, st)
	}
	for _, r := range runners {
		if err := r.CatchUp(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return in.Status()
}

func runner(t testing.TB, store projections.Reader, p projections.Projection, batch int) *projections.Runner {
	t.Helper()
	return sharedRunner(t, store, p, batch, nil)
}

// sharedRunner is a runner whose decoded events are shared through cache with the process's other runners.
func sharedRunner(t testing.TB, store projections.Reader, p projections.Projection, batch int, cache *projections.DecodeCache) *projections.Runner {
	t.Helper()
	r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: p, BatchSize: batch, Decoded: cache,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// projected is what the projections hold after an ingest, in comparable form.
type projected struct {
	streams  string
	count    int
	standing string // the audit log's applied and observed events minus the reverted ones
	outbox   string // the outbox's (endpoint, event) pairs
	messages int
	reorgs   int
	restored int
	children int // streams a delegation created
	// delegations reverted by a reorg (the reorged run only): with children, what shows delegation was exercised
	revertedDelegations int
}

// delegationCounts are the children in the streams and the reverted delegations in the audit log.
func delegationCounts(all []fluxora.Stream, entries []audit.Entry) (children, reverted int) {
	for _, s := range all {
		if s.ParentStreamID != nil {
			children++
		}
	}
	for _, e := range entries {
		if e.Action == audit.ActionReverted && strings.Contains(e.Summary, string(fluxora.TypeStreamShareDelegated)) {
			reverted++
		}
	}
	return children, reverted
}

// registerEndpoints appends two webhook endpoints before anything is ingested: one for every event type, one
// for withdrawals only.
func registerEndpoints(t testing.TB, store eventStore) {
	t.Helper()
	var evs []eventstore.NewEvent
	for _, e := range []*domain.WebhookEndpointAdded{{EndpointID: "all", URL: "https://example.com/all"},
		{EndpointID: "withdrawals", URL: "https://example.com/w", EventTypes: []string{fluxora.WebhookStreamWithdrawn}}} {
		data, err := domain.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, eventstore.NewEvent{ID: domain.DerivedEventUUID("endpoint", e.EndpointID), Type: string(e.Type()), Data: data})
	}
	if _, err := store.AppendMany(context.Background(), []eventstore.StreamAppend{{Stream: domain.WebhookEndpointsStream,
		Expected: eventstore.NoStream, Events: evs}}); err != nil {
		t.Fatal(err)
	}
}

// standing digests the audit log: the events applied or observed and not reverted (by their last compensation).
func standing(entries []audit.Entry) string {
	reverted := map[string]bool{}
	for _, e := range entries {
		switch e.Action {
		case audit.ActionReverted:
			reverted[e.Reverts] = true
		case audit.ActionRestored:
			delete(reverted, e.Reverts)
		}
	}
	var ids []string
	for _, e := range entries {
		if (e.Action == audit.ActionApplied || e.Action == audit.ActionObserved) && !reverted[e.EventID] {
			ids = append(ids, e.EventID)
		}
	}
	return digest(ids)
}

func digest(items []string) string {
	sort.Strings(items)
	sum := sha256.Sum256([]byte(strings.Join(items, "\n")))
	return fmt.Sprintf("%d:%x", len(items), sum[:8])
}

func outboxDigest(msgs []outbox.Message) string {
	keys := make([]string, len(msgs))
	for i, m := range msgs {
		keys[i] = m.Key() + "/" + m.Type
	}
	return digest(keys)
}

func projectMemory(t testing.TB, sc scenario, reorgs bool, batch int) projected {
	t.Helper()
	store := memory.New()
	registerEndpoints(t, store)
	s := streams.NewMemory(store)
	a := audit.NewMemory(streams.NewAnomalies(store))
	o := outbox.NewMemory(sc.margin)
	cache := projections.NewDecodeCache(64)
	st := ingest(t, sc, reorgs, store, sharedRunner(t, store, s, batch, cache), sharedRunner(t, store, a, batch+2, cache),
		sharedRunner(t, store, o, batch+5, cache))
	hash, err := s.StateHash()
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := o.MessagesAfter(context.Background(), outbox.Cursor{}, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := a.Entries(0, a.Size())
	if err != nil {
		t.Fatal(err)
	}
	children, reverted := delegationCounts(s.All(), entries)
	return projected{streams: hash, count: len(s.All()), standing: standing(entries),
		outbox: outboxDigest(msgs), messages: len(msgs), reorgs: st.Reorgs, restored: restorations(entries),
		children: children, revertedDelegations: reverted}
}

// TestReorgInvariantMemory is DESIGN §4's invariant as a property: whatever reorgs the chain went through (within
// the safety margin), the projections equal those of a clean ingest of the final canonical chain.
func TestReorgInvariantMemory(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 20
	}
	reorgs, children, revertedDelegations := 0, 0, 0
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		sc := randomScenario(seed)
		batch := 1 + int(seed%13) // small batches put reorgs across batch boundaries
		want := projectMemory(t, sc, false, 500)
		got := projectMemory(t, sc, true, batch)
		reorgs += got.reorgs
		children, revertedDelegations = children+want.children, revertedDelegations+got.revertedDelegations
		got.reorgs, got.restored, got.revertedDelegations = 0, 0, 0
		if got != want {
			t.Fatalf("seed %d (%+v, margin %d, batch %d): reorged %+v, clean %+v", seed, sc.cfg, sc.margin, batch, got, want)
		}
		if want.count == 0 || want.messages == 0 {
			t.Fatalf("seed %d: %d streams, %d messages", seed, want.count, want.messages)
		}
	}
	if reorgs < seeds*3 {
		t.Fatalf("only %d reorgs in %d seeds: the property was not exercised", reorgs, seeds)
	}
	if children == 0 || revertedDelegations == 0 {
		t.Fatalf("%d delegated children, %d delegations reverted in %d seeds: delegation was not exercised", children,
			revertedDelegations, seeds)
	}
	t.Logf("%d seeds, %d reorgs, %d delegated children, %d delegations reverted", seeds, reorgs, children, revertedDelegations)
}

// flipScenario draws a chain whose source flips (A → B → A, A → B → A → B) within the safety margin, paced by
// the ingester (see ingest) so that it sees each flip (one ledger of the source's tip long).
func flipScenario(seed uint64) scenario {
	r := rand.New(rand.NewPCG(seed, 2))
	margin := uint32(2 + r.IntN(3))
	ledgers := uint32(40 + r.IntN(30))
	cfg := sim.Config{Seed: seed, StartLedger: 2, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 3 + r.IntN(8),
		TxPerLedger: 2 + r.IntN(3), Ledgers: ledgers, Reorgs: true, ReorgEvery: margin + 3 + uint32(r.IntN(4)),
		ReorgDepth: margin, Flips: true, LedgerInterval: 5 * time.Millisecond}
	return scenario{cfg: cfg, margin: margin, last: cfg.StartLedger + ledgers - 1}
}

// restorations counts the audit log's restorations.
func restorations(entries []audit.Entry) int {
	n := 0
	for _, e := range entries {
		if e.Action == audit.ActionRestored {
			n++
		}
	}
	return n
}

// TestFlipInvariantMemory: the invariant holds when the source returns to branches it had left (DESIGN §14): the
// restorations make the projections equal those of a clean ingest, and ingestion never halts.
func TestFlipInvariantMemory(t *testing.T) {
	restored := 0
	for seed := uint64(500); seed < 510; seed++ {
		sc := flipScenario(seed)
		batch := 1 + int(seed%11)
		want := projectMemory(t, sc, false, 500)
		got := projectMemory(t, sc, true, batch)
		restored += got.restored
		got.reorgs, got.restored, got.revertedDelegations = 0, 0, 0
		if got != want {
			t.Fatalf("seed %d (margin %d, batch %d): flipped %+v, clean %+v", seed, sc.margin, batch, got, want)
		}
	}
	if restored == 0 {
		t.Fatal("no restoration: the flips were not exercised")
	}
	t.Logf("%d restorations", restored)
}

// TestFlipInvariantPostgres is TestFlipInvariantMemory with the store and the projections in PostgreSQL.
func TestFlipInvariantPostgres(t *testing.T) {
	pgtest.URL(t)
	reorgs, restored := againstPostgres(t, 2001, 6, 13, flipScenario)
	if restored == 0 {
		t.Fatal("no restoration: the flips were not exercised")
	}
	t.Logf("%d reorgs, %d restorations", reorgs, restored)
}

// againstPostgres projects the scenarios of seeds first..first+n-1 with the store and the projections in
// PostgreSQL, appending in batches of 1..batches ledgers, and checks each equals the clean ingest in memory (the
// projections' state hashes do not depend on the backend). It returns the reorgs and restorations seen in all.
func againstPostgres(t *testing.T, first uint64, n, batches int, scenarioOf func(seed uint64) scenario) (reorgs, restored int64) {
	t.Helper()
	var reorged, restorations atomic.Int64
	t.Run("seeds", func(t *testing.T) {
		for seed := first; seed < first+uint64(n); seed++ {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				sc := scenarioOf(seed)
				batch := 1 + int(seed%uint64(batches))
				want := projectMemory(t, sc, false, 500)
				got := projectPostgres(t, sc, batch)
				reorged.Add(int64(got.reorgs))
				restorations.Add(int64(got.restored))
				got.reorgs, got.restored, want.revertedDelegations = 0, 0, 0
				if got != want {
					t.Fatalf("seed %d (margin %d, batch %d): on PostgreSQL %+v, clean %+v", seed, sc.margin, batch, got, want)
				}
			})
		}
	})
	return reorged.Load(), restorations.Load()
}

func projectPostgres(t testing.TB, sc scenario, batch int) projected {
	t.Helper()
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx := context.Background()
	store, err := postgres.Open(ctx, url, postgres.Config{Schema: schema, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	registerEndpoints(t, store)
	s, err := streams.OpenPostgres(ctx, store.Pool(), schema, 1, store)
	if err != nil {
		t.Fatal(err)
	}
	a, err := audit.OpenPostgres(ctx, store.Pool(), schema, 1, streams.AuditFoldsOn(store))
	if err != nil {
		t.Fatal(err)
	}
	o, err := outbox.OpenPostgres(ctx, store.Pool(), schema, 1, sc.margin)
	if err != nil {
		t.Fatal(err)
	}
	st := ingest(t, sc, true, store, runner(t, store, s, batch), runner(t, store, a, batch+2), runner(t, store, o, batch+5))
	hash, err := s.StateHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := a.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := a.Entries(ctx, 0, head.Size)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := o.MessagesAfter(ctx, outbox.Cursor{}, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var n, children int
	if err := store.Pool().QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE state->>'parentStreamId' IS NOT NULL) FROM "+
		pgx.Identifier{schema, "streams_g1"}.Sanitize()).Scan(&n, &children); err != nil {
		t.Fatal(err)
	}
	return projected{streams: hash, count: n, standing: standing(entries), outbox: outboxDigest(msgs), messages: len(msgs),
		reorgs: st.Reorgs, restored: restorations(entries), children: children}
}

// TestReorgInvariantPostgres is the same property with the event store and the projections in PostgreSQL; the
// reference is the clean ingest in memory (the projections' state hashes do not depend on the backend).
func TestReorgInvariantPostgres(t *testing.T) {
	pgtest.URL(t)
	seeds := 200
	if testing.Short() {
		seeds = 10
	}
	reorgs, _ := againstPostgres(t, 1001, seeds, 17, randomScenario)
	if reorgs < int64(seeds)*3 {
		t.Fatalf("only %d reorgs in %d seeds", reorgs, seeds)
	}
	t.Logf("%d seeds, %d reorgs", seeds, reorgs)
}
