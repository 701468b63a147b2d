package projections_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/projections"
)

// recording keeps every event it is given.
type recording struct {
	projections.MemoryCheckpoint
	seen []projections.Event
}

func (p *recording) Name() string { return "recording" }

func (p *recording) Apply(_ context.Context, batch []projections.Event) error {
	p.seen = append(p.seen, batch...)
	p.Advance(batch)
	return nil
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
		r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Projection: selectiveRecording{p}, BatchSize: batch,
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
	r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Projection: &recording{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(ctx); err == nil || !strings.Contains(err.Error(), "FromANewerWriter") {
		t.Fatalf("got %v, want the undecodable event's error", err)
	}
}
