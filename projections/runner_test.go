package projections_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/projections"
)

// recording keeps every event it is given.
type recording struct {
	projections.MemoryCheckpoint
	mu    sync.Mutex
	seen  []projections.Event
	calls int
}

func (p *recording) Name() string { return "recording" }

func (p *recording) Apply(_ context.Context, batch []projections.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, batch...)
	p.calls++
	p.Advance(batch)
	return nil
}

func (p *recording) batches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// selectiveRecording wants only the events of the streams whose name starts "keep".
type selectiveRecording struct{ *recording }

func (p selectiveRecording) Wants(rec *eventstore.Recorded) bool {
	return strings.HasPrefix(rec.Stream, "keep")
}

func TestSelectiveProjectionGetsEveryEventButDecodesOnlyWanted(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	ledger := func(n uint32) eventstore.NewEvent {
		data, err := domain.Marshal(&domain.LedgerClosed{NetworkID: "n", Ledger: n, Hash: "h", PreviousHash: "p", EventCount: 0})
		if err != nil {
			t.Fatal(err)
		}
		return eventstore.NewEvent{ID: uuid.NewString(), Type: string(domain.TypeLedgerClosed), Data: data}
	}
	// An event no domain type decodes, in a stream the selective projection does not want.
	garbage := eventstore.NewEvent{ID: uuid.NewString(), Type: "FromANewerWriter", Data: []byte(`{"type":"FromANewerWriter"}`)}
	for _, a := range []eventstore.StreamAppend{
		{Stream: "keep-1", Expected: eventstore.Any, Events: []eventstore.NewEvent{ledger(1)}},
		{Stream: "other", Expected: eventstore.Any, Events: []eventstore.NewEvent{ledger(2), garbage}},
		{Stream: "keep-2", Expected: eventstore.Any, Events: []eventstore.NewEvent{ledger(3)}},
		{Stream: "other", Expected: eventstore.Any, Events: []eventstore.NewEvent{ledger(4)}},
	} {
		if _, err := store.AppendMany(ctx, []eventstore.StreamAppend{a}); err != nil {
			t.Fatal(err)
		}
	}
	head, _ := store.Head(ctx)
	for _, batch := range []int{1, 2, 100} {
		p := &recording{}
		r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: selectiveRecording{p}, BatchSize: batch,
			Decoded: projections.NewDecodeCache(10)})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.CatchUp(ctx); err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		if pos, _ := p.Checkpoint(ctx); pos != head || len(p.seen) != int(head) {
			t.Fatalf("batch %d: checkpoint %d, %d events; want %d", batch, pos, len(p.seen), head)
		}
		for i, ev := range p.seen {
			if ev.Position != eventstore.Position(i+1) {
				t.Fatalf("batch %d: event %d at position %d", batch, i, ev.Position)
			}
			wanted := strings.HasPrefix(ev.Stream, "keep")
			if wanted != (ev.Domain != nil) {
				t.Fatalf("batch %d: event in %s decoded: %v", batch, ev.Stream, ev.Domain != nil)
			}
		}
	}
	// A projection that reads everything still fails on the event it cannot decode.
	r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: &recording{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(ctx); err == nil || !strings.Contains(err.Error(), "FromANewerWriter") {
		t.Fatalf("got %v, want the undecodable event's error", err)
	}
}

// trickle delivers its store's subscription one event at a time, as a subscription that cannot keep up would.
type trickle struct{ *memory.Store }

func (t trickle) SubscribeAll(ctx context.Context, from eventstore.Position) (<-chan eventstore.Recorded, <-chan error) {
	in, errs := t.Store.SubscribeAll(ctx, from)
	out := make(chan eventstore.Recorded)
	go func() {
		defer close(out)
		for rec := range in {
			select {
			case out <- rec:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errs
}

func TestLiveRunnerThatFallsBehindCatchesUpInWholeBatches(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	store := memory.New()
	appendLedgers := func(from, n int) {
		var batch []eventstore.StreamAppend
		for i := range n {
			data, err := domain.Marshal(&domain.LedgerClosed{NetworkID: "n", Ledger: uint32(from + i), Hash: "h", PreviousHash: "p"})
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, eventstore.StreamAppend{Stream: "ledgers", Expected: eventstore.Any,
				Events: []eventstore.NewEvent{{ID: uuid.NewString(), Type: string(domain.TypeLedgerClosed), Data: data}}})
		}
		if _, err := store.AppendMany(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	appendLedgers(1, 10)
	p := &recording{}
	r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: trickle{store}, Projection: p, BatchSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitFor := func(pos eventstore.Position) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); r.Status().Position < pos; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("stuck at %+v", r.Status())
			}
		}
	}
	waitFor(10)
	before := p.batches()
	appendLedgers(11, 3000)
	waitFor(3010)
	if live := p.batches() - before; live > 30 {
		t.Fatalf("3000 events behind took %d batches of at most 500; want whole pages", live)
	}
}

// largeEvents records every event and the size of every batch, without having any decoded: its events need not
// be domain events.
type largeEvents struct {
	recording
	sizes []int
}

func (*largeEvents) Wants(*eventstore.Recorded) bool { return false }

func (p *largeEvents) Apply(ctx context.Context, batch []projections.Event) error {
	p.sizes = append(p.sizes, len(batch))
	return p.recording.Apply(ctx, batch)
}

func TestCatchUpPagesOfLargeEventsHoldFewerOfThem(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	const events, size = 300, 10_000
	body := []byte(`"` + strings.Repeat("x", size-2) + `"`)
	for range events / 50 {
		batch := make([]eventstore.NewEvent, 50)
		for i := range batch {
			batch[i] = eventstore.NewEvent{ID: uuid.NewString(), Type: "Large", Data: body}
		}
		if _, err := store.Append(ctx, "large", eventstore.Any, batch...); err != nil {
			t.Fatal(err)
		}
	}
	p := &largeEvents{}
	r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: p, BatchSize: 100, PageBytes: 5 * size})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if len(p.seen) != events {
		t.Fatalf("%d events applied, want %d", len(p.seen), events)
	}
	for i, ev := range p.seen {
		if ev.Position != eventstore.Position(i+1) {
			t.Fatalf("event %d at position %d: skipped or repeated", i, ev.Position)
		}
	}
	// The first page is a whole batch (nothing has been measured yet); after it, five 10 kB events fill a page.
	if p.sizes[0] != 100 {
		t.Fatalf("first page of %d events, want 100", p.sizes[0])
	}
	for i, n := range p.sizes[1:] {
		if n > 5 {
			t.Fatalf("page %d holds %d events of %d bytes, over the %d-byte bound", i+1, n, size, 5*size)
		}
	}
}

// A runner that has not read the store's head says so: its lag of zero is not known yet, and a health check that
// waits for zero lag must not take it for caught up.
func TestStatusSaysWhenTheLagIsNotKnownYet(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	for seq := range uint32(3) {
		data, err := domain.Marshal(&domain.LedgerClosed{Ledger: seq + 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, "ledgers", eventstore.Any, eventstore.NewEvent{ID: uuid.NewString(),
			Type: string(domain.TypeLedgerClosed), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: &recording{}})
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); !st.Starting || st.LagEvents != 0 {
		t.Fatalf("before it ran: %+v", st)
	}
	if err := r.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); st.Starting || st.Position != 3 || st.LagEvents != 0 {
		t.Fatalf("after a catch-up: %+v", st)
	}
}
