package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections/ledgers"
	"github.com/streamledger/streamledger/projections/outbox"
	"github.com/streamledger/streamledger/projections/streams"
	"github.com/streamledger/streamledger/webhooks/signature"
)

const testMargin = 2

// inbox is a consumer: it verifies every delivery with signature.Verify and keeps what it got, per endpoint path.
type inbox struct {
	mu      sync.Mutex
	secrets map[string][]string // path → secrets
	got     map[string][]Payload
	seen    *signature.Seen
	t       *testing.T
}

func newInbox(t *testing.T) (*inbox, *httptest.Server) {
	in := &inbox{secrets: map[string][]string{}, got: map[string][]Payload{}, seen: signature.NewSeen(), t: t}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		secrets := in.secrets[r.URL.Path]
		in.mu.Unlock()
		d, err := signature.Verify(r, signature.VerifyConfig{Secrets: secrets, Seen: in.seen})
		if err != nil {
			t.Errorf("consumer %s: %v", r.URL.Path, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if d.Duplicate {
			t.Errorf("consumer %s: delivery %s arrived twice", r.URL.Path, d.ID)
		}
		var p Payload
		if err := json.Unmarshal(d.Body, &p); err != nil {
			t.Errorf("consumer %s: %v", r.URL.Path, err)
		}
		in.mu.Lock()
		in.got[r.URL.Path] = append(in.got[r.URL.Path], p)
		in.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return in, srv
}

func (in *inbox) events(path string) []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []string
	for _, p := range in.got[path] {
		out = append(out, p.Data.EventID)
	}
	slices.Sort(out)
	return out
}

// fixture is a webhooks service over a memory log, with the memory outbox and a worker delivering to an inbox.
type fixture struct {
	t      *testing.T
	log    *memory.Store
	outbox *outbox.Memory
	store  *MemoryStore
	svc    *Service
	worker *Worker
	inbox  *inbox
	url    string
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, log: memory.New(), outbox: outbox.NewMemory(testMargin), store: NewMemoryStore()}
	var err error
	f.svc, err = NewService(ServiceConfig{Codec: fluxora.NewCodec(), Subjects: []Subjects{streams.Subjects{Log: f.log}}, Store: f.store, Log: f.log, Outbox: f.outbox, Margin: testMargin, EventTypes: fluxora.StreamWebhookTypes()})
	if err != nil {
		t.Fatal(err)
	}
	f.worker, err = NewWorker(WorkerConfig{Queue: f.store, Endpoints: f.store, Client: NewClient(true)})
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	f.inbox, srv = newInbox(t)
	f.url = srv.URL
	return f
}

func (f *fixture) register(path string, types ...string) Endpoint {
	f.t.Helper()
	e, err := f.svc.Register(context.Background(), NewEndpoint{URL: f.url + path, EventTypes: types, Enabled: true})
	if err != nil {
		f.t.Fatal(err)
	}
	f.inbox.mu.Lock()
	f.inbox.secrets[path] = []string{e.Secret}
	f.inbox.mu.Unlock()
	return e
}

// deliver brings the outbox up to the log, dispatches it and runs the worker until nothing is due.
func (f *fixture) deliver() {
	f.t.Helper()
	simtest.CatchUp(f.t, f.log, f.outbox, 97)
	ctx := context.Background()
	if _, err := f.svc.Dispatch(ctx); err != nil {
		f.t.Fatal(err)
	}
	for {
		n, err := f.worker.RunOnce(ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// simulate ingests a simulated network (with reorgs when asked) into the fixture's log.
func (f *fixture) simulate(reorgs bool) {
	f.t.Helper()
	st := simtest.Ingest(f.t, sim.Config{Seed: 7, Streams: 6, TxPerLedger: 3, Ledgers: 120, Reorgs: reorgs, ReorgEvery: 9,
		ReorgDepth: testMargin}, testMargin, f.log)
	if reorgs && st.Reorgs < 5 {
		f.t.Fatalf("the scenario has only %d reorgs", st.Reorgs)
	}
}

// canonical is what an endpoint with these types must receive: the final events of a clean ingest of the final
// canonical chain of the same network.
func canonical(t *testing.T, types ...string) []string {
	clean := memory.New()
	simtest.Ingest(t, sim.Config{Seed: 7, Streams: 6, TxPerLedger: 3, Ledgers: 120, ReorgEvery: 9, ReorgDepth: testMargin},
		testMargin, clean)
	var out []string
	err := outbox.Matching(context.Background(), clean, fluxora.NewCodec(), testMargin, outbox.Endpoint{ID: "x", EventTypes: types}, 0,
		func(m outbox.Message) error {
			out = append(out, m.EventID)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// Through a network with reorgs, each endpoint receives exactly the final canonical events its filter matches,
// each once, signed so that signature.Verify accepts them; reverted and not-yet-final events never arrive.
func TestDeliversExactlyTheFinalCanonicalEventsOnce(t *testing.T) {
	f := newFixture(t)
	f.register("/all")
	f.register("/withdrawals", fluxora.WebhookStreamWithdrawn)
	f.simulate(true)
	f.deliver()
	f.deliver() // a second pass finds nothing new to send

	all := canonical(t)
	if len(all) < 50 {
		t.Fatalf("the scenario has only %d final events", len(all))
	}
	if got := f.inbox.events("/all"); fmt.Sprint(got) != fmt.Sprint(all) {
		t.Fatalf("/all received %d events, want the %d final canonical ones", len(got), len(all))
	}
	withdrawals := canonical(t, fluxora.WebhookStreamWithdrawn)
	if got := f.inbox.events("/withdrawals"); len(withdrawals) == 0 || fmt.Sprint(got) != fmt.Sprint(withdrawals) {
		t.Fatalf("/withdrawals received %d events, want %d", len(got), len(withdrawals))
	}
	for _, p := range f.inbox.got["/withdrawals"] {
		if p.Type != fluxora.WebhookStreamWithdrawn || p.Data.Subject.Kind != "stream" || p.Data.Subject.ID == "" || p.Data.TxHash == "" || p.Timestamp.IsZero() {
			t.Fatalf("payload: %+v", p)
		}
	}
}

func TestRegistrationIsValidatedAndRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	bad := []struct {
		req   NewEndpoint
		field string
	}{
		{NewEndpoint{URL: "ftp://example.com/x"}, "url"},
		{NewEndpoint{URL: "/relative"}, "url"},
		{NewEndpoint{URL: "https://user:pw@example.com/"}, "url"},
		{NewEndpoint{URL: "https://example.com/", EventTypes: []string{"stream.created", "stream.exploded"}}, "eventTypes[1]"},
		{NewEndpoint{URL: "https://example.com/", Description: string(make([]byte, 501))}, "description"},
	}
	for _, c := range bad {
		var ie *InvalidError
		if _, err := f.svc.Register(ctx, c.req); !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("%+v: %v, want an invalid %s", c.req, err, c.field)
		}
	}
	e := f.register("/a", fluxora.WebhookStreamCreated, fluxora.WebhookStreamCreated)
	if len(e.Secret) < len(signature.SecretPrefix)+32 || fmt.Sprint(e.EventTypes) != "[stream.created]" {
		t.Fatalf("registered: %+v", e)
	}
	recs, err := f.log.ReadStream(ctx, "webhook-endpoints", 0, 10)
	if err != nil || len(recs) != 1 || recs[0].Type != "WebhookEndpointAdded" {
		t.Fatalf("the registration is not an event: %v %v", recs, err)
	}
	if strings.Contains(string(recs[0].Data), e.Secret) {
		t.Fatal("the secret is in the event log")
	}
	rotated, err := f.svc.Rotate(ctx, e.ID, time.Hour)
	if err != nil || rotated.Secret == e.Secret || rotated.PreviousSecret != e.Secret {
		t.Fatalf("rotate: %+v %v", rotated, err)
	}
	if _, err := f.svc.Rotate(ctx, e.ID, 31*24*time.Hour); err == nil {
		t.Fatal("a 31-day grace window was accepted")
	}
	if err := f.svc.Remove(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Remove(ctx, e.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
	if recs, _ := f.log.ReadStream(ctx, "webhook-endpoints", 0, 10); len(recs) != 2 || recs[1].Type != "WebhookEndpointRemoved" {
		t.Fatalf("the removal is not an event: %v", recs)
	}
}

// An endpoint registered after the events became final gets none of them until it asks to recover a range;
// recovering queues each missed event once, leaves delivered and pending ones alone, and re-queues failed ones.
func TestRecoverSinceUntil(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.simulate(true)
	e := f.register("/late", fluxora.WebhookStreamWithdrawn)
	f.deliver()
	if got := f.inbox.events("/late"); len(got) != 0 {
		t.Fatalf("an endpoint registered later received %d earlier events", len(got))
	}

	var want []string
	var at []time.Time
	err := outbox.Matching(ctx, f.log, fluxora.NewCodec(), testMargin, e.Routing(), 0, func(m outbox.Message) error {
		if m.Ledger >= 40 && m.Ledger <= 80 {
			want = append(want, m.EventID)
			j, _, err := f.svc.job(ctx, m)
			at = append(at, j.eventTime())
			return err
		}
		return nil
	})
	if err != nil || len(want) < 3 {
		t.Fatalf("the range holds %d withdrawals: %v", len(want), err)
	}
	slices.Sort(want)
	n, err := f.svc.Recover(ctx, e.ID, Range{SinceLedger: 40, UntilLedger: 80})
	if err != nil || n != len(want) {
		t.Fatalf("recover: %d queued, %v; want %d", n, err, len(want))
	}
	if n, _ := f.svc.Recover(ctx, e.ID, Range{SinceLedger: 40, UntilLedger: 80}); n != 0 {
		t.Fatalf("recovering again before delivery queued %d more", n)
	}
	f.deliver()
	if got := f.inbox.events("/late"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("recovered %v, want %v", got, want)
	}
	if n, _ := f.svc.Recover(ctx, e.ID, Range{SinceLedger: 40, UntilLedger: 80}); n != 0 {
		t.Fatalf("recovering delivered events queued %d", n)
	}

	// A delivery that ran out of attempts is queued again, under its delivery id.
	list, _ := f.svc.Deliveries(ctx, DeliveryFilter{EndpointID: e.ID}, 1)
	if err := f.store.Finish(ctx, list[0].ID, Attempt{}, Dead, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.svc.Recover(ctx, e.ID, Range{SinceLedger: 40, UntilLedger: 80}); n != 1 {
		t.Fatalf("recovering a dead delivery queued %d", n)
	}
	if j, _ := f.svc.Delivery(ctx, list[0].ID); j.State != Pending {
		t.Fatalf("the dead delivery is %s after recovery", j.State)
	}

	// By close time: the first two events of the range.
	other := f.register("/by-time", fluxora.WebhookStreamWithdrawn)
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	if n, err := f.svc.Recover(ctx, other.ID, Range{Since: at[0], Until: at[1]}); err != nil || n < 2 {
		t.Fatalf("recover by time: %d, %v", n, err)
	}
	if _, err := f.svc.Recover(ctx, "no-such-endpoint", Range{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("recover for an unknown endpoint: %v", err)
	}
	off := false
	if _, err := f.svc.Change(ctx, other.ID, EndpointChange{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Recover(ctx, other.ID, Range{}); !errors.Is(err, ErrDisabled) {
		t.Fatalf("recover for a disabled endpoint: %v", err)
	}
}

// countingLog counts the records a reader of the log is given.
type countingLog struct {
	Log
	read int
}

func (c *countingLog) ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error) {
	recs, err := c.Log.ReadAll(ctx, after, max)
	c.read += len(recs)
	return recs, err
}

// With the ledger index, a recovery reads the log from where its range begins, and queues exactly what a recovery
// that reads the whole log queues (through reorgs; by ledger and by close time).
func TestRecoverReadsFromWhereItsRangeBegins(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.simulate(true)
	index := ledgers.NewMemory()
	simtest.CatchUp(t, f.log, index, 50)
	e := f.register("/late")
	l100, _, ok, _ := index.Get(ctx, 100)
	l110, _, ok110, _ := index.Get(ctx, 110)
	if !ok || !ok110 {
		t.Fatal("ledgers 100 and 110 are not indexed")
	}
	total := len(readAll(t, f.log))
	for _, r := range []Range{{SinceLedger: 1}, {SinceLedger: 40, UntilLedger: 80}, {SinceLedger: 100}, {SinceLedger: 118},
		{SinceLedger: 500}, {Since: l100.ClosedAt}, {Since: l100.ClosedAt.Add(-time.Second), Until: l110.ClosedAt}} {
		queued := map[bool][]string{}
		read := map[bool]int{}
		for _, indexed := range []bool{false, true} {
			store := NewMemoryStore()
			if err := store.AddEndpoint(ctx, e); err != nil {
				t.Fatal(err)
			}
			log := &countingLog{Log: f.log}
			cfg := ServiceConfig{Codec: fluxora.NewCodec(), Subjects: []Subjects{streams.Subjects{Log: log}}, Store: store, Log: log, Outbox: f.outbox, Margin: testMargin, EventTypes: fluxora.StreamWebhookTypes()}
			if indexed {
				cfg.Ledgers = index
			}
			svc, err := NewService(cfg)
			if err != nil {
				t.Fatal(err)
			}
			n, err := svc.Recover(ctx, e.ID, r)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 && r.SinceLedger < 500 {
				t.Fatalf("%+v: nothing to recover", r)
			}
			jobs, err := store.List(ctx, DeliveryFilter{}, 10_000)
			if err != nil || len(jobs) != n {
				t.Fatalf("%+v: %d queued, %d listed (%v)", r, n, len(jobs), err)
			}
			for _, j := range jobs {
				queued[indexed] = append(queued[indexed], j.ID)
			}
			slices.Sort(queued[indexed])
			read[indexed] = log.read
		}
		if fmt.Sprint(queued[true]) != fmt.Sprint(queued[false]) {
			t.Fatalf("%+v: from the index's start %d queued, from the log's start %d", r, len(queued[true]), len(queued[false]))
		}
		if read[false] < total {
			t.Fatalf("%+v: without the index read %d of the log's %d records", r, read[false], total)
		}
		if (r.SinceLedger >= 100 || !r.Since.IsZero()) && 2*read[true] > read[false] {
			t.Fatalf("%+v: read %d records from the index's start, %d from the log's", r, read[true], read[false])
		}
	}
}

func readAll(t *testing.T, log Log) []eventstore.Recorded {
	t.Helper()
	recs, err := log.ReadAll(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// Removing an endpoint stops its deliveries: what becomes final afterwards is not sent to it.
func TestRemovedEndpointsGetNothingMore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	e := f.register("/gone")
	if err := f.svc.Remove(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	f.simulate(false)
	f.deliver()
	if got := f.inbox.events("/gone"); len(got) != 0 {
		t.Fatalf("a removed endpoint received %d events", len(got))
	}
	if c, _ := f.store.DispatchCursor(ctx); c != (outbox.Cursor{}) {
		t.Fatalf("the outbox had messages for a removed endpoint: cursor %+v", c)
	}
}
