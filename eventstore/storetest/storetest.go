// Package storetest is the conformance suite of eventstore.Store: every backend runs it, so every backend behaves
// the same (DESIGN §3).
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/streamledger/streamledger/eventstore"
)

// Harness opens stores of one backend.
type Harness struct {
	// Open returns a new, empty store; the harness closes and removes it when the test ends.
	Open func(t *testing.T) eventstore.Store
	// Reopen closes s and opens the same storage again, as a restart (embedded) or reconnect (server) would.
	Reopen func(t *testing.T, s eventstore.Store) eventstore.Store
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"ExpectedVersion", testExpectedVersion},
		{"AtomicMultiStreamBatch", testAtomicBatch},
		{"Idempotency", testIdempotency},
		{"OrderAndVersions", testOrderAndVersions},
		{"DataRoundTrip", testDataRoundTrip},
		{"BadInput", testBadInput},
		{"Subscribe", testSubscribe},
		{"SubscribeCancel", testSubscribeCancel},
		{"ConcurrentAppendersNoSkips", testConcurrentNoSkips},
		{"Reopen", testReopen},
		{"LongStreamPaged", testLongStream},
		{"ReadStreamBackward", testReadBackward},
		{"StreamTwiceInOneBatch", testStreamTwiceInBatch},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

// Event makes a valid event with a fresh id and a small JSON body.
func Event(typ string, n int) eventstore.NewEvent {
	return eventstore.NewEvent{ID: uuid.NewString(), Type: typ, Data: fmt.Appendf(nil, `{"n":%d}`, n)}
}

func events(n int) []eventstore.NewEvent {
	out := make([]eventstore.NewEvent, n)
	for i := range out {
		out[i] = Event("Test", i)
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, exp eventstore.ExpectedVersion, evs ...eventstore.NewEvent) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(ctxT(t), stream, exp, evs...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

func readAll(t *testing.T, s eventstore.Store) []eventstore.Recorded { return All(t, s) }

// AllReader reads the log in global order.
type AllReader interface {
	ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error)
}

// All reads every event of a store's log, in order, failing the test on an error.
func All(tb testing.TB, s AllReader) []eventstore.Recorded {
	tb.Helper()
	var out []eventstore.Recorded
	var after eventstore.Position
	for {
		page, err := s.ReadAll(context.Background(), after, 500)
		if err != nil {
			tb.Fatalf("read all: %v", err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Position
	}
}

func readStream(t *testing.T, s eventstore.Store, stream string) []eventstore.Recorded {
	t.Helper()
	recs, err := s.ReadStream(ctxT(t), stream, 0, 1_000_000)
	if err != nil {
		t.Fatalf("read %s: %v", stream, err)
	}
	return recs
}

func head(t *testing.T, s eventstore.Store) eventstore.Position {
	t.Helper()
	h, err := s.Head(ctxT(t))
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

func testExpectedVersion(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := ctxT(t)
	res := mustAppend(t, s, "a", eventstore.NoStream, events(2)...)
	if res.LastVersion != 1 || res.Events[0].Version != 0 || res.Events[1].Version != 1 {
		t.Fatalf("first append: %+v", res)
	}
	wrong := []struct {
		stream string
		exp    eventstore.ExpectedVersion
	}{
		{"a", eventstore.NoStream},
		{"a", eventstore.Exact(0)},
		{"a", eventstore.Exact(2)},
		{"b", eventstore.Exact(0)},
	}
	for _, w := range wrong {
		before := head(t, s)
		_, err := s.Append(ctx, w.stream, w.exp, Event("Test", 9))
		if !errors.Is(err, eventstore.ErrWrongVersion) {
			t.Fatalf("append to %s expecting %s: error %v, want ErrWrongVersion", w.stream, w.exp, err)
		}
		if head(t, s) != before {
			t.Fatalf("a refused append wrote something")
		}
	}
	mustAppend(t, s, "a", eventstore.Exact(1), Event("Test", 2))
	res = mustAppend(t, s, "a", eventstore.Any, Event("Test", 3))
	if res.LastVersion != 3 {
		t.Fatalf("append with Any: %+v", res)
	}
	mustAppend(t, s, "b", eventstore.Any, Event("Test", 0))
	if got := len(readStream(t, s, "a")); got != 4 {
		t.Fatalf("stream a has %d events", got)
	}
}

func testAtomicBatch(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := ctxT(t)
	mustAppend(t, s, "x", eventstore.NoStream, Event("Test", 0))
	_, err := s.AppendMany(ctx, []eventstore.StreamAppend{
		{Stream: "y", Expected: eventstore.NoStream, Events: events(3)},
		{Stream: "x", Expected: eventstore.NoStream, Events: events(1)}, // wrong
	})
	if !errors.Is(err, eventstore.ErrWrongVersion) {
		t.Fatalf("error %v, want ErrWrongVersion", err)
	}
	if len(readStream(t, s, "y")) != 0 || head(t, s) != 1 {
		t.Fatal("a refused batch was partly written")
	}
	res, err := s.AppendMany(ctx, []eventstore.StreamAppend{
		{Stream: "y", Expected: eventstore.NoStream, Events: events(3)},
		{Stream: "x", Expected: eventstore.Exact(0), Events: events(2)},
		{Stream: "y", Expected: eventstore.Exact(2), Events: events(1)}, // sees the batch's own earlier part
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].LastVersion != 2 || res[1].LastVersion != 2 || res[2].LastVersion != 3 {
		t.Fatalf("results %+v", res)
	}
	all := readAll(t, s)
	if len(all) != 7 {
		t.Fatalf("%d events", len(all))
	}
	// Global order follows the batch order.
	want := []string{"x", "y", "y", "y", "x", "x", "y"}
	for i, r := range all {
		if r.Stream != want[i] {
			t.Fatalf("event %d is in %s, want %s", i, r.Stream, want[i])
		}
	}
}

func testIdempotency(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := ctxT(t)
	evs := events(3)
	first := mustAppend(t, s, "s", eventstore.NoStream, evs...)
	again := mustAppend(t, s, "s", eventstore.NoStream, evs...) // wrong version, but every id is stored: a no-op
	for i := range evs {
		if !again.Events[i].Duplicate || again.Events[i].Position != first.Events[i].Position || again.Events[i].Version != first.Events[i].Version {
			t.Fatalf("re-append reported %+v, first %+v", again.Events[i], first.Events[i])
		}
	}
	if head(t, s) != 3 {
		t.Fatalf("re-append wrote events: head %d", head(t, s))
	}
	upper := evs[0]
	upper.ID = strings.ToUpper(upper.ID)
	if res := mustAppend(t, s, "s", eventstore.Any, upper); !res.Events[0].Duplicate {
		t.Fatal("an upper-case id is the same id")
	}
	fresh := Event("Test", 4)
	mixed := mustAppend(t, s, "s", eventstore.Exact(2), evs[2], fresh)
	if !mixed.Events[0].Duplicate || mixed.Events[0].Position != first.Events[2].Position ||
		mixed.Events[1].Duplicate || mixed.Events[1].Version != 3 || mixed.LastVersion != 3 {
		t.Fatalf("mixed batch %+v", mixed)
	}
	if _, err := s.Append(ctx, "other", eventstore.Any, evs[1]); !errors.Is(err, eventstore.ErrIDConflict) {
		t.Fatalf("id of another stream: %v, want ErrIDConflict", err)
	}
	if got := readAll(t, s); len(got) != 4 {
		t.Fatalf("%d events stored, want 4", len(got))
	}
}

func testOrderAndVersions(t *testing.T, h Harness) {
	s := h.Open(t)
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 60; i++ {
		stream := fmt.Sprintf("stream-%d", r.IntN(7))
		mustAppend(t, s, stream, eventstore.Any, events(1+r.IntN(5))...)
	}
	all := readAll(t, s)
	versions := map[string]eventstore.Version{}
	for i, rec := range all {
		if rec.Position != eventstore.Position(i+1) {
			t.Fatalf("event %d at position %d: positions are 1, 2, 3, … without gaps", i, rec.Position)
		}
		want, ok := versions[rec.Stream]
		if !ok {
			want = 0
		}
		if rec.Version != want {
			t.Fatalf("%s: version %d, want %d", rec.Stream, rec.Version, want)
		}
		versions[rec.Stream] = want + 1
	}
	if head(t, s) != all[len(all)-1].Position {
		t.Fatalf("head %d, last %d", head(t, s), all[len(all)-1].Position)
	}
	for stream, n := range versions {
		recs := readStream(t, s, stream)
		if eventstore.Version(len(recs)) != n {
			t.Fatalf("%s: %d events, want %d", stream, len(recs), n)
		}
		mid, err := s.ReadStream(ctxT(t), stream, 2, 3)
		if err != nil || (n > 2 && (len(mid) == 0 || mid[0].Version != 2 || len(mid) > 3)) {
			t.Fatalf("%s from 2 max 3: %d events, %v", stream, len(mid), err)
		}
	}
	if recs := readStream(t, s, "never-written"); len(recs) != 0 {
		t.Fatalf("unknown stream has %d events", len(recs))
	}
	if page, err := s.ReadAll(ctxT(t), head(t, s), 10); err != nil || len(page) != 0 {
		t.Fatalf("read after head: %d, %v", len(page), err)
	}
}

func testDataRoundTrip(t *testing.T, h Harness) {
	s := h.Open(t)
	data := []byte(`{ "z": 1,  "a": [1.50, "x\u00e9"], "big": 170141183460469231731687303715884105727 }`)
	meta := []byte(`{"causation":"c"}`)
	e1 := eventstore.NewEvent{ID: uuid.NewString(), Type: "T1", Data: data, Metadata: meta}
	e2 := eventstore.NewEvent{ID: uuid.NewString(), Type: "T2", Data: []byte(`{}`)}
	before := time.Now().Add(-time.Second)
	mustAppend(t, s, "rt", eventstore.NoStream, e1, e2)
	recs := readStream(t, s, "rt")
	all := readAll(t, s)
	for _, got := range [][]eventstore.Recorded{recs, all} {
		if !bytes.Equal(got[0].Data, data) || !bytes.Equal(got[0].Metadata, meta) || got[0].Type != "T1" || got[0].ID != e1.ID {
			t.Fatalf("event changed in storage: %+v", got[0])
		}
		if got[1].Metadata != nil || string(got[1].Data) != `{}` {
			t.Fatalf("empty metadata must read back as nil: %+v", got[1])
		}
		if got[0].RecordedAt.Location() != time.UTC || got[0].RecordedAt.Before(before) || got[0].Stream != "rt" {
			t.Fatalf("recordedAt %v", got[0].RecordedAt)
		}
		if !got[0].RecordedAt.Equal(got[1].RecordedAt) && got[1].RecordedAt.Before(got[0].RecordedAt) {
			t.Fatalf("recordedAt goes back in time")
		}
	}
}

func testBadInput(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := ctxT(t)
	big := eventstore.NewEvent{ID: uuid.NewString(), Type: "Big", Data: []byte(`"` + strings.Repeat("x", eventstore.MaxEventSize) + `"`)}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"empty stream name", func() error { _, err := s.Append(ctx, "", eventstore.Any, Event("T", 0)); return err }, eventstore.ErrInvalidStream},
		{"stream name with a space", func() error { _, err := s.Append(ctx, "a b", eventstore.Any, Event("T", 0)); return err }, eventstore.ErrInvalidStream},
		{"oversized stream name", func() error {
			_, err := s.Append(ctx, strings.Repeat("s", 513), eventstore.Any, Event("T", 0))
			return err
		}, eventstore.ErrInvalidStream},
		{"empty batch", func() error { _, err := s.Append(ctx, "s", eventstore.Any); return err }, eventstore.ErrEmptyBatch},
		{"empty multi batch", func() error { _, err := s.AppendMany(ctx, nil); return err }, eventstore.ErrEmptyBatch},
		{"oversized event", func() error { _, err := s.Append(ctx, "s", eventstore.Any, big); return err }, eventstore.ErrEventTooLarge},
		{"id not a uuid", func() error {
			_, err := s.Append(ctx, "s", eventstore.Any, eventstore.NewEvent{ID: "42", Type: "T", Data: []byte(`{}`)})
			return err
		}, eventstore.ErrInvalidEvent},
		{"no type", func() error {
			_, err := s.Append(ctx, "s", eventstore.Any, eventstore.NewEvent{ID: uuid.NewString(), Data: []byte(`{}`)})
			return err
		}, eventstore.ErrInvalidEvent},
		{"data not JSON", func() error {
			_, err := s.Append(ctx, "s", eventstore.Any, eventstore.NewEvent{ID: uuid.NewString(), Type: "T", Data: []byte(`{`)})
			return err
		}, eventstore.ErrInvalidEvent},
		{"metadata not JSON", func() error {
			_, err := s.Append(ctx, "s", eventstore.Any, eventstore.NewEvent{ID: uuid.NewString(), Type: "T", Data: []byte(`1`), Metadata: []byte(`x`)})
			return err
		}, eventstore.ErrInvalidEvent},
		{"same id twice in a batch", func() error {
			e := Event("T", 0)
			_, err := s.Append(ctx, "s", eventstore.Any, e, e)
			return err
		}, eventstore.ErrInvalidEvent},
		{"invalid expected version", func() error { _, err := s.Append(ctx, "s", -3, Event("T", 0)); return err }, eventstore.ErrInvalidArgument},
		{"negative from", func() error { _, err := s.ReadStream(ctx, "s", -1, 10); return err }, eventstore.ErrInvalidArgument},
		{"zero max", func() error { _, err := s.ReadStream(ctx, "s", 0, 0); return err }, eventstore.ErrInvalidArgument},
		{"read with empty stream name", func() error { _, err := s.ReadStream(ctx, "", 0, 10); return err }, eventstore.ErrInvalidStream},
		{"read all with zero max", func() error { _, err := s.ReadAll(ctx, 0, 0); return err }, eventstore.ErrInvalidArgument},
	}
	for _, tt := range tests {
		if err := tt.do(); !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
	}
	if head(t, s) != 0 {
		t.Fatal("bad input wrote events")
	}
}
